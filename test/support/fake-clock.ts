import type { Clock } from "../../shared/time/clock.ts";

/** A clock that only moves when told to; sleeping advances it instantly. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private current = 1_800_000_000_000) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
