import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIntakeBody } from "../../shared/contracts/intake-message.ts";

/** The producers' page's examples, each turned into the SQS body its tool would deliver, checked by the contract. */
const page = readFileSync(new URL("../../docs/producers.md", import.meta.url), "utf8");
const section = page.slice(page.indexOf("## Producing, by tool"), page.indexOf("## Sending and following messages"));
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, lang, code]) => ({
  lang: lang as string,
  code: code as string,
}));
const block = (lang: string, contains: string) => {
  const found = blocks.find((b) => b.lang === lang && b.code.includes(contains));
  if (!found) throw new Error(`no ${lang} example containing ${contains} in docs/producers.md`);
  return found.code;
};
const singleQuoted = (code: string, flag: string) => {
  const match = new RegExp(`${flag} '([^']*)'`).exec(code);
  if (!match) throw new Error(`no ${flag} '…' in ${code}`);
  return match[1] as string;
};

describe("docs/producers.md examples", () => {
  it("AWS CLI: the message body is a valid intake message", () => {
    const body = singleQuoted(block("sh", "aws sqs send-message"), "--message-body");
    expect(parseIntakeBody(body)).toMatchObject({ ok: true, envelope: "none" });
  });

  it("Node.js Lambda: the message it builds from an event is valid", () => {
    const literal = /const message = (\{[\s\S]*?\n {2}\});/.exec(block("js", "SendMessageCommand"))?.[1];
    expect(literal).toBeDefined();
    const build = new Function("event", `return ${literal};`) as (event: unknown) => unknown;
    const body = JSON.stringify(build({ orderId: 17, email: "ann@example.com", total: 12.5 }));
    expect(parseIntakeBody(body)).toMatchObject({ ok: true, message: { id: "order-17" } });
  });

  it("Step Functions: the MessageBody, with its path resolved on the stated input, is valid", () => {
    const task = JSON.parse(block("json", "sqs:sendMessage")) as {
      Parameters: { MessageBody: Record<string, unknown> };
    };
    const input = JSON.parse(/the state input is `([^`]*)`/.exec(section)?.[1] ?? "") as Record<string, unknown>;
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(task.Parameters.MessageBody)) {
      if (key.endsWith(".$")) body[key.slice(0, -2)] = input[String(value).replace(/^\$\./, "")];
      else body[key] = value;
    }
    expect(parseIntakeBody(JSON.stringify(body))).toMatchObject({ ok: true, message: { objectType: "lists" } });
  });

  it("EventBridge rule: the event as delivered to the queue (detail = the message) is valid", () => {
    const entries = JSON.parse(singleQuoted(block("sh", "put-events"), "--entries")) as Array<Record<string, string>>;
    const entry = entries[0] as Record<string, string>;
    const delivered = {
      version: "0",
      id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
      "detail-type": entry.DetailType,
      source: entry.Source,
      account: "111122223333",
      time: "2026-12-01T00:00:00Z",
      region: "eu-west-1",
      resources: [],
      detail: JSON.parse(entry.Detail as string),
    };
    expect(parseIntakeBody(JSON.stringify(delivered))).toMatchObject({ ok: true, envelope: "eventbridge" });
  });

  it("EventBridge Pipe: the input template filled with a source record is valid", () => {
    const template = /input\s+template `([^`]*)`/.exec(section)?.[1];
    expect(template).toBeDefined();
    const body = (template as string).replace("<$.body>", JSON.stringify({ email: "ann@example.com" }));
    expect(parseIntakeBody(body)).toMatchObject({ ok: true, envelope: "none" });
  });

  it("SNS: the published message is valid raw and inside a notification", () => {
    const message = singleQuoted(block("sh", "aws sns publish"), "--message");
    expect(parseIntakeBody(message)).toMatchObject({ ok: true, envelope: "none" });
    const notification = {
      Type: "Notification",
      MessageId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
      TopicArn: "arn:aws:sns:eu-west-1:111122223333:orders",
      Message: message,
      Timestamp: "2026-12-01T00:00:00.000Z",
      SignatureVersion: "1",
    };
    expect(parseIntakeBody(JSON.stringify(notification))).toMatchObject({ ok: true, envelope: "sns" });
  });
});
