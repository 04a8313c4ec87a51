import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Dispatcher } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from "../../local/secrets-manager-emulator.ts";
import { type MarketoSimulator, startMarketoSimulator } from "../../local/marketo-simulator/index.ts";
import type { MarketoSecret } from "../../shared/config/marketo-secret.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import { IngestionClient } from "../../shared/marketo/ingestion-client.ts";
import { lazyMarketoClient } from "../../shared/marketo/lazy-client.ts";
import { type Clock, systemClock } from "../../shared/time/clock.ts";
import { FakeClock } from "../support/fake-clock.ts";

/**
 * A rotated Marketo secret reaches warm senders: the client stack is built by the factory the handlers use
 * (lazyMarketoClient), against the Secrets Manager stand-in and the simulator over real HTTP. A rotation changes
 * both sides at once, as an operator does: the API user's secret in Marketo and the value in Secrets Manager.
 */
const SECRET_ID = "marketo-ingest/marketo";
let sim: MarketoSimulator;
let secretsManager: SecretsManagerEmulator;
let secrets: SecretsManagerClient;
const dispatchers: Dispatcher[] = [];
let rotation = 0;

const secretOf = (clientSecret: string): MarketoSecret => ({
  clientId: sim.clientId,
  clientSecret,
  munchkinId: sim.munchkinId,
  identityUrl: sim.identityUrl,
  ingestionUrl: sim.ingestionUrl,
  restUrl: sim.restUrl,
});

/** Marketo and Secrets Manager both get a new client secret. */
function rotate(): void {
  const next = `rotated-secret-${++rotation}`;
  sim.rotateCredentials({ clientSecret: next });
  secretsManager.putSecret(SECRET_ID, JSON.stringify(secretOf(next)));
}

/** A warm sender container, built as functions/ingestion-sender/handler.ts builds it. */
function senderProcess(options: { clock?: Clock; secretMaxAgeMs?: number } = {}) {
  const http = createMarketoDispatcher({ timeoutMs: 5_000 });
  dispatchers.push(http);
  const clock = options.clock ?? systemClock;
  const client = lazyMarketoClient(
    secrets,
    SECRET_ID,
    http,
    ({ endpoints, tokens }) => new IngestionClient({ endpoints, tokens, dispatcher: http, clock }),
    { clock, ...(options.secretMaxAgeMs !== undefined ? { secretMaxAgeMs: options.secretMaxAgeMs } : {}) },
  );
  return async (email: string) =>
    (await client()).submit({
      resource: "persons",
      body: JSON.stringify({ persons: [{ email }] }),
      correlationId: email,
    });
}

beforeAll(async () => {
  sim = await startMarketoSimulator({ maxLifetimeMs: 120_000 });
  secretsManager = await startSecretsManagerEmulator();
  secrets = new SecretsManagerClient({
    endpoint: secretsManager.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});
afterAll(async () => {
  secrets.destroy();
  await Promise.all(dispatchers.map((d) => d.close()));
  await secretsManager.close();
  await sim.close();
});
beforeEach(() => {
  sim.reset();
  rotate();
});

describe("a secret rotated while senders are warm", () => {
  it("is read again at once when the identity service rejects the cached credentials; no send is lost", async () => {
    const send = senderProcess();
    await send("before@example.com");
    const readsBefore = secretsManager.readCount(SECRET_ID);
    rotate();
    // The cached token dies too, so the next sends need a token from the identity service.
    sim.expireTokens();

    const sent = await Promise.all(Array.from({ length: 10 }, (_, i) => send(`after-${i}@example.com`)));

    expect(sent).toHaveLength(10);
    expect(sim.persons()).toHaveLength(11);
    // One rejection with the old credentials, one read of the rotated secret, one token with the new ones.
    expect(sim.identityRejections).toBe(1);
    expect(secretsManager.readCount(SECRET_ID) - readsBefore).toBe(1);
    expect(sim.identityCalls).toBe(3);
  });

  it("is read again once older than its max age, so the next token request already uses the new credentials", async () => {
    const clock = new FakeClock(Date.now());
    const send = senderProcess({ clock, secretMaxAgeMs: 60_000 });
    await send("first@example.com");
    const readsBefore = secretsManager.readCount(SECRET_ID);
    rotate();

    clock.advance(30_000);
    await send("young@example.com");
    expect(secretsManager.readCount(SECRET_ID) - readsBefore).toBe(0);
    clock.advance(30_000);
    await send("old@example.com");
    expect(secretsManager.readCount(SECRET_ID) - readsBefore).toBe(1);
    sim.expireTokens();
    await send("new-token@example.com");

    expect(sim.identityRejections).toBe(0);
    expect(sim.identityCalls).toBe(2);
    expect(sim.persons()).toHaveLength(4);
  });
});
