import type { BatchClaim } from "../../shared/claims/batch-claim.ts";
import type { ClaimStore, Versioned, WriteCondition } from "../../shared/contracts/claim-store.ts";

/** Claims in memory with S3's conditional-write contract (If-None-Match: *, If-Match: etag). */
export class MemoryClaims<T = BatchClaim> implements ClaimStore<T> {
  readonly objects = new Map<string, Versioned<T>>();
  private version = 0;
  /** Runs once before the next write: another copy writing in between read and write. */
  interleave?: () => void;

  async read(key: string): Promise<Versioned<T> | undefined> {
    return this.objects.get(key);
  }

  async write(key: string, value: T, condition: WriteCondition): Promise<string | undefined> {
    const hook = this.interleave;
    this.interleave = undefined;
    hook?.();
    const current = this.objects.get(key);
    const holds = "IfNoneMatch" in condition ? !current : current?.etag === condition.IfMatch;
    if (!holds) return undefined;
    const etag = `e${++this.version}`;
    this.objects.set(key, { value, etag });
    return etag;
  }
}
