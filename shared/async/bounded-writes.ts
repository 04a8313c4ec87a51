/**
 * Writes run a few at a time: `start` waits only for room among those in flight; `settle` waits for all and throws
 * the first failure; `drain` waits for all whatever their outcome. A failure is recorded, never an unhandled
 * rejection, and `throwIfFailed` lets a caller stop early once one has failed.
 */
export class BoundedWrites {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async start(write: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const tracked: Promise<void> = write()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  async settle(): Promise<void> {
    await this.drain();
    this.throwIfFailed();
  }

  /** Waits for every write in flight, whatever their outcome. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
