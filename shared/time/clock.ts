import { setTimeout as delay } from "node:timers/promises";

/** Time as a collaborator, so retry and expiry logic is testable without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => delay(ms),
};
