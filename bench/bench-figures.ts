import { z } from "zod";

/** Sizes as the bench names them: decimal units, as S3 and disk vendors count (1 MB = 1,000,000 bytes). */
const UNIT_BYTES = { KB: 1e3, MB: 1e6, GB: 1e9 } as const;

/** `--sizes 10MB,100MB,1GB` → byte counts, in the order given. */
export function parseSizes(text: string): number[] {
  return text.split(",").map((part) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB)\s*$/i.exec(part);
    if (!match) throw new Error(`--sizes: "${part}" is not a size such as 100MB or 1GB`);
    const bytes = Number(match[1]) * UNIT_BYTES[(match[2] as string).toUpperCase() as keyof typeof UNIT_BYTES];
    if (!(bytes >= 1e5)) throw new Error(`--sizes: "${part}" is too small to measure (100KB at least)`);
    return Math.round(bytes);
  });
}

/** A 1,769 MB function has one full vCPU; below that Lambda gives CPU in proportion to memory. */
export const ONE_VCPU_MEMORY_MB = 1769;

/**
 * Billed seconds of a single-threaded, CPU-bound run at `memoryMb`, from its CPU seconds on one full core: at
 * 1,024 MB a function gets 1,024/1,769 of a vCPU, so the same work takes 1,769/1,024 times as long.
 */
export function lambdaSecondsAt(cpuSeconds: number, memoryMb: number): number {
  return cpuSeconds * Math.max(1, ONE_VCPU_MEMORY_MB / memoryMb);
}

/**
 * List prices, us-east-1, x86 Lambda, S3 Standard, SQS standard queue (free tiers ignored). An SQS request is
 * billed per 64 KiB chunk of its payload.
 */
export const LIST_PRICES = {
  region: "us-east-1",
  lambdaPerGbSecond: 0.0000166667,
  lambdaPerMillionInvocations: 0.2,
  s3PutPerThousand: 0.005,
  s3GetPerThousand: 0.0004,
  sqsPerMillionRequests: 0.4,
  sqsBillingChunkBytes: 64 * 1024,
} as const;

export interface FunctionUse {
  name: string;
  memoryMb: number;
  /** Billed seconds (duration) of all its invocations. */
  seconds: number;
  invocations: number;
}

export interface RequestUse {
  s3Puts: number;
  s3Gets: number;
  /** SQS requests as billed (64 KiB chunks counted). */
  sqsRequests: number;
}

export interface CostLine {
  item: string;
  usage: string;
  usd: number;
}

/** Dollars for the given use: one line per function, S3 and SQS, then the total. */
export function costOf(functions: FunctionUse[], requests: RequestUse): { lines: CostLine[]; totalUsd: number } {
  const p = LIST_PRICES;
  const lines: CostLine[] = functions.map((fn) => {
    const gbSeconds = (fn.seconds * fn.memoryMb) / 1024;
    return {
      item: `Lambda ${fn.name} (${fn.memoryMb} MB)`,
      usage: `${round(gbSeconds, 2)} GB-s, ${round(fn.invocations, 1)} invocations`,
      usd: gbSeconds * p.lambdaPerGbSecond + (fn.invocations / 1e6) * p.lambdaPerMillionInvocations,
    };
  });
  lines.push({
    item: "S3 requests",
    usage: `${round(requests.s3Puts, 1)} PUT, ${round(requests.s3Gets, 1)} GET`,
    usd: (requests.s3Puts / 1000) * p.s3PutPerThousand + (requests.s3Gets / 1000) * p.s3GetPerThousand,
  });
  lines.push({
    item: "SQS requests",
    usage: `${round(requests.sqsRequests, 1)} billed requests`,
    usd: (requests.sqsRequests / 1e6) * p.sqsPerMillionRequests,
  });
  return { lines, totalUsd: lines.reduce((sum, line) => sum + line.usd, 0) };
}

/** SQS requests billed for `calls` requests carrying `bytes` of payload in all: at least one per 64 KiB chunk. */
export function sqsBilledRequests(calls: number, bytes: number): number {
  return Math.max(calls, Math.ceil(bytes / LIST_PRICES.sqsBillingChunkBytes));
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** What a measuring child (bench/split-child.ts) prints: checked, since it crosses a process boundary. */
export const ChildResultSchema = z.strictObject({
  mode: z.enum(["parse-only", "reader", "split"]),
  rows: z.number().int().nonnegative(),
  seconds: z.number().positive(),
  cpuSeconds: z.number().nonnegative(),
  peakRssMiB: z.number().positive(),
  split: z
    .strictObject({
      rowsQueued: z.number().int().nonnegative(),
      rejected: z.number().int().nonnegative(),
      batches: z.number().int().nonnegative(),
      messages: z.number().int().nonnegative(),
      sqsBytes: z.number().int().nonnegative(),
      storedBodies: z.number().int().nonnegative(),
      storedBodyBytes: z.number().int().nonnegative(),
      marketoBytes: z.number().int().nonnegative(),
    })
    .optional(),
});
export type ChildResult = z.infer<typeof ChildResultSchema>;
export type ChildMode = ChildResult["mode"];

/** The median of some numbers (the middle one, or the mean of the middle two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
