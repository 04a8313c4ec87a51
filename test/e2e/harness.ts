import { afterAll, beforeAll, beforeEach } from "vitest";
import type { MarketoSecret } from "../../shared/config/marketo-secret.ts";
import { type LocalAws, startLocalAws } from "../../local/local-aws.ts";
import { type LocalRunOptions, type LocalRunResult, runPipelineLocally } from "../../local/run-pipeline-locally.ts";
import { sendIntakeMessages } from "../../local/intake-producer.ts";
import { type IntakeRunOptions, runIntakeLocally } from "../../local/run-intake-locally.ts";
import {
  type MarketoSimulator,
  type SimulatorOptions,
  simulatorSecret,
  startMarketoSimulator,
} from "../../local/marketo-simulator/index.ts";

export interface Harness {
  aws: LocalAws;
  sim: MarketoSimulator;
  secret: MarketoSecret;
  /** Drops `csv` under `key` and runs it to completion through the real handlers. */
  run(key: string, csv: string | Uint8Array, extra?: Partial<LocalRunOptions>): Promise<LocalRunResult>;
  /** Puts producer messages on the intake queue: objects as JSON, a string as it is (valid or not). */
  sendToIntake(messages: unknown[]): Promise<string[]>;
  /**
   * Runs the intake function, splitter, senders and report writer locally on what the intake queue holds (fast
   * retries, a 1 s batching window) until every window is reported.
   */
  runIntake(extra?: Partial<IntakeRunOptions>): ReturnType<typeof runIntakeLocally>;
  close(): Promise<void>;
}

/** Fast retry timings: the behaviour under test is the same, the waits are shorter. */
export const FAST_RETRIES = {
  RETRY_BASE_MS: "200",
  RETRY_CAP_MS: "1000",
  IN_PROCESS_MAX_DELAY_MS: "3000",
  REQUEST_TIMEOUT_MS: "2000",
  CLAIM_RECHECK_SECONDS: "1",
};

/** Bulk waits in whole seconds (SQS delays), kept short; the 606 floor too. */
export const FAST_BULK = {
  BULK_POLL_FIRST_SECONDS: "1",
  BULK_POLL_MAX_SECONDS: "1",
  BULK_SLOT_WAIT_SECONDS: "1",
  RETRY_BASE_MS: "200",
  RETRY_CAP_MS: "1000",
  RATE_LIMIT_WAIT_MS: "1000",
  CLAIM_RECHECK_SECONDS: "1",
  REQUEST_TIMEOUT_MS: "5000",
};

export async function startHarness(simOptions: SimulatorOptions = {}): Promise<Harness> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  const aws = await startLocalAws({ visibilityTimeoutSeconds: 30 });
  const sim = await startMarketoSimulator({ tokenTtlSeconds: 3600, ...simOptions });
  const secret: MarketoSecret = simulatorSecret(sim);
  return {
    aws,
    sim,
    secret,
    run: (key, csv, extra = {}) =>
      runPipelineLocally({
        aws,
        source: { bytes: typeof csv === "string" ? Buffer.from(csv, "utf8") : csv },
        key,
        marketo: secret,
        ...extra,
        senderEnv: { ...FAST_RETRIES, ...extra.senderEnv },
        bulkEnv: { ...FAST_BULK, ...extra.bulkEnv },
        eventSource: { deadlineMs: 60_000, ...extra.eventSource },
      }),
    sendToIntake: (messages) =>
      sendIntakeMessages(
        aws.sqs,
        aws.intakeQueueUrl,
        messages.map((m) => (typeof m === "string" ? m : JSON.stringify(m))),
      ),
    runIntake: (extra = {}) =>
      runIntakeLocally({
        aws,
        marketo: secret,
        senderEnv: FAST_RETRIES,
        eventSource: { deadlineMs: 120_000 },
        intakeEventSource: { batchingWindowMs: 1_000 },
        ...extra,
      }),
    close: async () => {
      await aws.close();
      await sim.close();
    },
  };
}

/** Parses the CSV we generated ourselves back into expected objects (empty cells left out). */
export function expectedPersons(rows: Array<Record<string, string>>): Array<Record<string, string>> {
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, value]) => value !== "")));
}

/** One harness per test file: started before its tests, the simulator reset before each test, closed after. */
export function useHarness(simOptions: SimulatorOptions = {}): () => Harness {
  let current: Harness | undefined;
  beforeAll(async () => {
    current = await startHarness(simOptions);
  });
  afterAll(async () => {
    await current?.close();
  });
  beforeEach(() => {
    current?.sim.reset();
  });
  return () => {
    if (!current) throw new Error("the harness starts in beforeAll");
    return current;
  };
}
