import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { App } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMarketoIngestApp } from "../../infra/create-app.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { objectCreatedEvent } from "../../local/s3-notification.ts";
import { sqsRecordFor } from "../../local/sqs-event-source.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import { fileRefFor } from "../../shared/contracts/s3-event.ts";
import { ISSUE_ROWS_FILE } from "../../shared/report/build-file-report.ts";
import { ROW_DATA_TAGGING } from "../../shared/contracts/report-store.ts";
import type { ReportMessage } from "../../shared/contracts/report-message.ts";
import { SPLIT_CHECKPOINT_FILE } from "../../shared/contracts/split-checkpoint.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { type Harness, startHarness } from "../e2e/harness.ts";
import {
  bundleInputs,
  type Invocation,
  type IsolatedBundle,
  isolate,
  nonBuiltinImports,
  type SynthesizedBundle,
  synthesizedBundles,
} from "./lambda-bundles.ts";
import { requestsNotAllowed, type S3RequestRecorder, startS3RequestRecorder } from "./s3-access-check.ts";

const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};
const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  devDependencies: Record<string, string>;
};
// Dependencies of the CLI and the local runner only (emulator, TypeScript loader): never of a deployed handler.
const LOCAL_ONLY_PACKAGES = ["fauxqs", "tsx"];

const PERSONS_KEY = "persons/bundle-check.csv";
/** The bus the stack creates for window events, as the EventBridge stand-in names it here. */
const WINDOW_BUS = "marketo-ingest-windows";
const WINDOW_BUS_ARN = `arn:aws:events:us-east-1:000000000000:event-bus/${WINDOW_BUS}`;
const PERSONS_CSV = "email,firstName\nada@example.com,Ada\n,Nobody\ngrace@example.com,Grace\n";
const BULK_KEY = "bulk/leads/bundle-check.csv";
const BULK_CSV = "email,firstName\nlinus@example.com,Linus\nmargaret@example.com,Margaret\n";
/** A bucket the stack names for intake S3 pointers (`intakePayloadBucketArns`). */
const PAYLOAD_BUCKET = "bundle-payloads";
const personsCsv = (prefix: string, rows: number) =>
  `email,firstName\n${Array.from({ length: rows }, (_, i) => `${prefix}${i}@example.com,P${i}`).join("\n")}\n`;

/**
 * The five Lambda bundles exactly as `cdk synth` builds them, each copied alone into an empty folder outside the
 * repository and run by plain `node`, carry a file through the pipeline against the S3/SQS emulator and the
 * Marketo simulator. A bundle that relies on packages from node_modules (or from the Lambda runtime) fails here.
 */
describe("Lambda bundles run on their own", () => {
  let outdir: string;
  let bundles: Map<string, SynthesizedBundle>;
  const isolated = new Map<string, IsolatedBundle>();
  let h: Harness;
  let reports: S3ReportStore;
  let app: App;
  let stack: ReturnType<typeof createMarketoIngestApp>;
  // Each bundle reaches S3 through its own recorder: what it asked for is checked against its role at the end.
  const s3Recorders = new Map<string, S3RequestRecorder>();

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), "marketo-ingest-synth-"));
    app = new App({
      outdir,
      context: {
        ...cdkJson.context,
        marketoSecretName: "team/marketo",
        windowEventBus: "create",
        intakePayloadBucketArns: `arn:aws:s3:::${PAYLOAD_BUCKET}`,
      },
    });
    stack = createMarketoIngestApp(app);
    bundles = new Map(synthesizedBundles(app, stack).map((bundle) => [bundle.name, bundle]));
    for (const bundle of bundles.values()) isolated.set(bundle.name, isolate(bundle));
    h = await startHarness();
    for (const name of bundles.keys()) {
      s3Recorders.set(name, await startS3RequestRecorder(h.aws.awsEnv.AWS_ENDPOINT_URL_S3 as string));
    }
    reports = new S3ReportStore(h.aws.s3, h.aws.workBucket);
    await h.aws.s3.send(new CreateBucketCommand({ Bucket: PAYLOAD_BUCKET }));
    h.aws.events.createEventBus(WINDOW_BUS);
    // The simulator's credentials, under the secret name the stack gives the functions that call Marketo.
    for (const name of ["Sender", "BulkImporter"]) {
      const secretId = bundles.get(name)?.environment.MARKETO_SECRET_ID;
      if (typeof secretId !== "string") throw new Error(`${name} has no MARKETO_SECRET_ID`);
      h.aws.secrets.putSecret(secretId, JSON.stringify(h.secret));
    }
  }, 180_000);

  afterAll(async () => {
    for (const bundle of isolated.values()) bundle.remove();
    for (const recorder of s3Recorders.values()) await recorder.close();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
    await h?.close();
  });

  const bundle = (name: string): SynthesizedBundle => {
    const found = bundles.get(name);
    if (!found) throw new Error(`the stack has no pipeline function ${name}`);
    return found;
  };

  /** Runs the named function's isolated bundle on one event, with `env` only (and a clock budget, if given). */
  const invoke = (
    name: string,
    event: unknown,
    env: Record<string, string>,
    options?: { remainingReads?: number },
  ): Promise<Invocation> => {
    const found = isolated.get(name);
    if (!found) throw new Error(`the stack has no pipeline function ${name}`);
    return found.invoke(event, env, options);
  };

  /** The environment Lambda would give the function, its deploy-time references pointed at the emulators. */
  const lambdaEnvironment = (name: string, overrides: Record<string, string> = {}): Record<string, string> => {
    const { aws } = h;
    const local: Record<string, string> = {
      INGESTION_QUEUE_URL: aws.ingestionQueueUrl,
      INGESTION_DLQ_URL: aws.ingestionDlqUrl,
      BULK_QUEUE_URL: aws.bulkQueueUrl,
      BULK_DLQ_URL: aws.bulkDlqUrl,
      REPORT_QUEUE_URL: aws.reportQueueUrl,
      REPORT_DLQ_URL: aws.reportDlqUrl,
      WORK_BUCKET: aws.workBucket,
      INTAKE_QUEUE_URL: aws.intakeQueueUrl,
      INTAKE_DLQ_URL: aws.intakeDlqUrl,
      SPLIT_CONTINUATION_QUEUE_URL: aws.splitContinuationQueueUrl,
      WINDOW_EVENT_BUS: WINDOW_BUS_ARN,
    };
    const { environment, memorySize, runtime } = bundle(name);
    const fromStack = Object.fromEntries(
      Object.entries(environment).map(([variable, value]) => {
        if (typeof value === "string") return [variable, value];
        const localValue = local[variable];
        if (localValue === undefined) throw new Error(`${name}: no local value for the stack's ${variable}`);
        return [variable, localValue];
      }),
    );
    return {
      // Set by Lambda for every function.
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
      AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
      TZ: "UTC",
      // Region, dummy credentials and the emulators' endpoints (AWS_ENDPOINT_URL_*), as the local runner sets them.
      ...aws.awsEnv,
      AWS_ENDPOINT_URL_S3: s3Recorders.get(name)?.url ?? aws.endpoint,
      // The SDK warns on this machine's Node 20; the Lambda runtime is the stack's (Node 24).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...fromStack,
      ...overrides,
    };
  };

  const receiveAll = async (queueUrl: string): Promise<Message[]> =>
    (
      await h.aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
          WaitTimeSeconds: 0,
        }),
      )
    ).Messages ?? [];

  /** The SQS event Lambda's event source would deliver for these messages of `queueUrl`. */
  const sqsEvent = async (queueUrl: string, messages: Message[]) => {
    const { Attributes } = await h.aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    const queueArn = Attributes?.QueueArn as string;
    return { Records: messages.map((message) => sqsRecordFor(message, { queueArn, clock: systemClock })) };
  };

  /** Drops `body` under `key` and has the isolated splitter bundle answer S3's ObjectCreated event for it. */
  const dropAndSplit = async (key: string, body: string): Promise<FileRef> => {
    const put = await h.aws.s3.send(new PutObjectCommand({ Bucket: h.aws.dropBucket, Key: key, Body: body }));
    const dropped = {
      bucket: h.aws.dropBucket,
      key,
      size: Buffer.byteLength(body),
      eTag: (put.ETag ?? "").replace(/"/g, ""),
    };
    const { response, log } = await invoke(
      "Splitter",
      objectCreatedEvent(dropped),
      // The stack's first report check waits 30 s; here the announcement is taken at once.
      lambdaEnvironment("Splitter", { REPORT_FIRST_CHECK_SECONDS: "0" }),
    );
    expect(response, log).toBeNull();
    return fileRefFor(dropped);
  };

  // The tests follow one file through the pipeline, in order: what one bundle leaves, the next one is given.
  let personsFile: FileRef;
  let announcement: Message[];
  let intakeBatches: Message[];

  it("the stack bundles the five handlers for its Node.js runtime", () => {
    expect([...bundles.keys()].sort()).toEqual(["BulkImporter", "Intake", "ReportWriter", "Sender", "Splitter"]);
    for (const { runtime } of bundles.values()) expect(runtime).toBe("nodejs24.x");
  });

  it("each bundle imports nothing at run time but Node's built-in modules (the AWS SDK is inside)", () => {
    for (const candidate of bundles.values()) {
      expect({ bundle: candidate.name, imports: nonBuiltinImports(candidate) }).toEqual({
        bundle: candidate.name,
        imports: [],
      });
      expect(bundleInputs(candidate).packages).toContain("@aws-sdk/client-s3");
    }
  });

  it("no bundle contains a dev dependency, the emulator, the simulator or other local-only code", () => {
    const forbiddenPackages = [...Object.keys(packageJson.devDependencies), ...LOCAL_ONLY_PACKAGES];
    for (const candidate of bundles.values()) {
      const { packages, repoFiles } = bundleInputs(candidate);
      expect({ bundle: candidate.name, leaked: forbiddenPackages.filter((name) => packages.has(name)) }).toEqual({
        bundle: candidate.name,
        leaked: [],
      });
      expect({
        bundle: candidate.name,
        // local/ (runner, emulator glue, simulator), cli/ and test/ never reach a deployed bundle.
        outside: repoFiles.filter((file) => !(file.startsWith("functions/") || file.startsWith("shared/"))),
      }).toEqual({ bundle: candidate.name, outside: [] });
    }
  });

  it("splitter: answers the S3 event of a dropped CSV with a manifest, a batch to send and a report announcement", async () => {
    personsFile = await dropAndSplit(PERSONS_KEY, PERSONS_CSV);

    expect(await reports.getManifest(personsFile)).toMatchObject({
      status: "queued",
      objectType: "persons",
      rowsRead: 3,
      rowsQueued: 2,
      batches: 1,
      rejectedRows: [expect.objectContaining({ row: 2, field: "email" })],
    });
    announcement = await receiveAll(h.aws.reportQueueUrl);
    expect(announcement.map((message) => JSON.parse(message.Body as string) as ReportMessage)).toEqual([
      expect.objectContaining({ kind: "file-report", file: personsFile }),
    ]);
  });

  it("sender: posts the queued batch to Marketo and returns no batchItemFailures", async () => {
    const batch = await receiveAll(h.aws.ingestionQueueUrl);
    expect(batch).toHaveLength(1);

    const { response, log } = await invoke(
      "Sender",
      await sqsEvent(h.aws.ingestionQueueUrl, batch),
      lambdaEnvironment("Sender"),
    );

    expect(response, log).toEqual({ batchItemFailures: [] });
    expect(h.sim.requests.map((request) => request.status)).toEqual([202]);
    expect(
      h.sim
        .persons()
        .map((person) => person.fields.email)
        .sort(),
    ).toEqual(["ada@example.com", "grace@example.com"]);
    expect(await reports.listBatchOutcomes(personsFile)).toEqual([
      expect.objectContaining({ index: 0, status: "accepted", rowCount: 2 }),
    ]);
  });

  it("report writer: writes the final report and the rows-with-issues CSV (through @aws-sdk/lib-storage) and returns no batchItemFailures", async () => {
    const { response, log } = await invoke(
      "ReportWriter",
      await sqsEvent(h.aws.reportQueueUrl, announcement),
      lambdaEnvironment("ReportWriter"),
    );

    expect(response, log).toEqual({ batchItemFailures: [] });
    const report = await reports.getFileReport(personsFile);
    expect(report).toMatchObject({
      status: "complete with failures",
      rowsRead: 3,
      accepted: 2,
      rejected: 1,
      rowsWithIssues: { key: `${personsFile.reportPrefix}${ISSUE_ROWS_FILE}`, rows: 1 },
    });
    const issues = await h.aws.s3.send(
      new GetObjectCommand({ Bucket: h.aws.workBucket, Key: `${personsFile.reportPrefix}${ISSUE_ROWS_FILE}` }),
    );
    const lines = (await issues.Body?.transformToString())?.trim().split(/\r?\n/);
    expect(lines).toHaveLength(2);
    expect(lines?.[1]).toMatch(/^2,3,rejected,.*,Nobody$/);
  });

  it("bulk importer: submits the part the splitter queued as a Marketo import job and returns no batchItemFailures", async () => {
    const bulkFile = await dropAndSplit(BULK_KEY, BULK_CSV);
    expect(await reports.getManifest(bulkFile)).toMatchObject({ mode: "bulk", rowsRead: 2, batches: 1 });
    const part = await receiveAll(h.aws.bulkQueueUrl);
    expect(part).toHaveLength(1);

    const { response, log } = await invoke(
      "BulkImporter",
      await sqsEvent(h.aws.bulkQueueUrl, part),
      lambdaEnvironment("BulkImporter"),
    );

    expect(response, log).toEqual({ batchItemFailures: [] });
    expect(h.sim.bulkJobs).toEqual([expect.objectContaining({ objectType: "leads", rowCount: 2 })]);
  });
  it("intake: splits a window of producer messages into a batch to send and returns no batchItemFailures", async () => {
    await h.aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.aws.intakeQueueUrl,
        MessageBody: JSON.stringify({
          v: 1,
          objectType: "persons",
          id: "bundle-check-1",
          records: [{ email: "alan@example.com", firstName: "Alan" }],
        }),
      }),
    );
    const messages = await receiveAll(h.aws.intakeQueueUrl);
    expect(messages).toHaveLength(1);

    const { response, log } = await invoke(
      "Intake",
      await sqsEvent(h.aws.intakeQueueUrl, messages),
      lambdaEnvironment("Intake", { REPORT_FIRST_CHECK_SECONDS: "0" }),
    );

    expect(response, log).toEqual({ batchItemFailures: [] });
    const batches = await receiveAll(h.aws.ingestionQueueUrl);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.Body).toContain("alan@example.com");
    intakeBatches = batches;
  });

  it("report writer: announces the finished intake window on the stack's window event bus (through @aws-sdk/client-eventbridge)", async () => {
    const sent = await invoke(
      "Sender",
      await sqsEvent(h.aws.ingestionQueueUrl, intakeBatches),
      lambdaEnvironment("Sender"),
    );
    expect(sent.response, sent.log).toEqual({ batchItemFailures: [] });
    const windowReport = (await receiveAll(h.aws.reportQueueUrl)).filter((m) => m.Body?.includes('"intake/'));
    expect(windowReport).toHaveLength(1);

    const { response, log } = await invoke(
      "ReportWriter",
      await sqsEvent(h.aws.reportQueueUrl, windowReport),
      lambdaEnvironment("ReportWriter"),
    );

    expect(response, log).toEqual({ batchItemFailures: [] });
    const events = h.aws.events.events().filter((event) => event.bus === WINDOW_BUS);
    expect(events).toEqual([
      expect.objectContaining({
        source: "marketo-ingest.intake",
        detailType: "Intake Window Finished v1",
        detail: expect.objectContaining({ status: "complete", records: expect.objectContaining({ accepted: 1 }) }),
      }),
    ]);
  });

  /** Sends `bodies` to the intake queue and has the isolated intake bundle take them as one window. */
  const intakeWindow = async (bodies: unknown[], options?: { remainingReads?: number }, env = {}) => {
    for (const body of bodies) {
      await h.aws.sqs.send(
        new SendMessageCommand({ QueueUrl: h.aws.intakeQueueUrl, MessageBody: JSON.stringify(body) }),
      );
    }
    const messages: Message[] = [];
    for (
      let batch = await receiveAll(h.aws.intakeQueueUrl);
      batch.length;
      batch = await receiveAll(h.aws.intakeQueueUrl)
    ) {
      messages.push(...batch);
    }
    expect(messages).toHaveLength(bodies.length);
    // In the order sent: which split comes first decides where the clock runs out.
    const texts = bodies.map((body) => JSON.stringify(body));
    messages.sort((a, b) => texts.indexOf(a.Body as string) - texts.indexOf(b.Body as string));
    const { response, log } = await invoke(
      "Intake",
      await sqsEvent(h.aws.intakeQueueUrl, messages),
      lambdaEnvironment("Intake", { REPORT_FIRST_CHECK_SECONDS: "0", ...env }),
      options,
    );
    expect(response, log).toEqual({ batchItemFailures: [] });
  };
  /** The splitter bundle takes each message of the split-continuation queue, one per invocation (as deployed). */
  const continueSplits = async (env = {}): Promise<number> => {
    let invocations = 0;
    for (let batch = await receiveAll(h.aws.splitContinuationQueueUrl); batch.length;) {
      for (const message of batch) {
        const { response, log } = await invoke(
          "Splitter",
          await sqsEvent(h.aws.splitContinuationQueueUrl, [message]),
          lambdaEnvironment("Splitter", { REPORT_FIRST_CHECK_SECONDS: "0", ...env }),
        );
        expect(response, log).toBeNull();
        invocations++;
      }
      batch = await receiveAll(h.aws.splitContinuationQueueUrl);
    }
    return invocations;
  };
  const listWindowFiles = async (): Promise<string[]> => {
    const listed = await h.aws.s3.send(new ListObjectsV2Command({ Bucket: h.aws.workBucket, Prefix: "intake/" }));
    return (listed.Contents ?? []).map((object) => object.Key as string).filter((key) => key.endsWith(".ndjson"));
  };
  const payload = async (key: string, body: string): Promise<FileRef> => {
    const put = await h.aws.s3.send(new PutObjectCommand({ Bucket: PAYLOAD_BUCKET, Key: key, Body: body }));
    return fileRefFor({ bucket: PAYLOAD_BUCKET, key, eTag: (put.ETag ?? "").replace(/"/g, "") });
  };

  it("intake → splitter: a pointer split that runs out of time in the intake function pauses and goes on in the splitter bundle; a split with no time left to start is started there", async () => {
    const windowsBefore = await listWindowFiles();
    // 10,000 rows: the intake function splits this one whole and writes its row marks.
    const marked = await payload("exports/marked.csv", personsCsv("m", 10_000));
    await intakeWindow([{ v: 1, objectType: "persons", s3: { bucket: PAYLOAD_BUCKET, key: "exports/marked.csv" } }]);
    expect(await reports.getManifest(marked)).toMatchObject({ status: "queued", rowsRead: 10_000 });

    // Two persons a request: the 6 rows read before the pause make 3 requests, held in the work bucket.
    const smallRequests = { MAX_REQUEST_OBJECTS: "2" };
    const paused = await payload("exports/paused.csv", personsCsv("p", 40));
    const options = { priority: "high" };
    // The clock's reads: one as each split starts (the window, then the pointer), one after each row read (the
    // window's one row too: an NDJSON window can pause like any file).
    await intakeWindow(
      [
        { v: 1, objectType: "persons", records: [{ email: "wendy@example.com", firstName: "Wendy" }] },
        { v: 1, objectType: "persons", options, s3: { bucket: PAYLOAD_BUCKET, key: "exports/paused.csv" } },
      ],
      { remainingReads: 1 + 1 + 1 + 5 },
      smallRequests,
    );
    expect(await reports.getManifest(paused)).toBeUndefined();
    const checkpoint = await h.aws.s3.send(
      new GetObjectCommand({ Bucket: h.aws.workBucket, Key: `${paused.reportPrefix}${SPLIT_CHECKPOINT_FILE}` }),
    );
    expect(JSON.parse((await checkpoint.Body?.transformToString()) ?? "{}")).toMatchObject({
      seq: 1,
      progress: { rowsRead: 6, heldParts: 1 },
      explicit: { objectType: "persons", options },
    });

    // A window the intake function has no time to start: the splitter reads its file in the work bucket.
    await intakeWindow(
      [{ v: 1, objectType: "persons", records: [{ email: "xavier@example.com", firstName: "Xavier" }] }],
      { remainingReads: 0 },
    );
    expect(await continueSplits(smallRequests)).toBe(2);

    expect(await reports.getManifest(paused)).toMatchObject({
      status: "queued",
      objectType: "persons",
      options: { priority: "high" },
      rowsRead: 40,
      rowsQueued: 40,
      batches: 20,
    });
    const windows = (await listWindowFiles()).filter((key) => !windowsBefore.includes(key));
    expect(windows).toHaveLength(2);
    for (const key of windows) {
      const head = await h.aws.s3.send(new HeadObjectCommand({ Bucket: h.aws.workBucket, Key: key }));
      const file = fileRefFor({ bucket: h.aws.workBucket, key, eTag: (head.ETag ?? "").replace(/"/g, "") });
      expect(await reports.getManifest(file)).toMatchObject({ status: "queued", rowsRead: 1, rowsQueued: 1 });
    }
  });

  it("every S3 request each bundle made above is allowed by its own role in the synthesized template", () => {
    const template = app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    // The template's buckets are the harness's buckets here; the partition is aws.
    const renderReference = (reference: Record<string, unknown>): string => {
      const [logicalId] = (reference["Fn::GetAtt"] as string[] | undefined) ?? [];
      if (logicalId?.startsWith("Work")) return `arn:aws:s3:::${h.aws.workBucket}`;
      if (logicalId?.startsWith("Drop")) return `arn:aws:s3:::${h.aws.dropBucket}`;
      if (reference.Ref === "AWS::Partition") return "aws";
      return JSON.stringify(reference);
    };
    // Copies of input rows are written tagged, so the row-data lifecycle rule expires them (and the grant covers it).
    const taggedWrites = (name: string) =>
      (s3Recorders.get(name)?.requests ?? [])
        .filter((request) => request.method !== "GET" && request.tagging === ROW_DATA_TAGGING)
        .map((request) => /(rejected-rows\/[^/]+|[^/]+)$/.exec(request.key)?.[1]);
    expect(taggedWrites("Splitter")).toEqual([expect.stringMatching(/^rejected-rows\/\d+\.ndjson$/)]);
    expect(taggedWrites("ReportWriter")).toEqual([ISSUE_ROWS_FILE]);
    const denied: Record<string, string[]> = {};
    for (const [name, recorder] of s3Recorders) {
      expect(recorder.requests.length, name).toBeGreaterThan(0);
      const statements = Object.entries(template.Resources)
        .filter(([id, resource]) => resource.Type === "AWS::IAM::Policy" && id.startsWith(`${name}Role`))
        .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: never[] }).Statement);
      denied[name] = requestsNotAllowed(recorder.requests, statements, renderReference);
    }
    expect(denied).toEqual({ Splitter: [], Sender: [], BulkImporter: [], ReportWriter: [], Intake: [] });
  });
});
