/**
 * How many transfers run at once. Fixed (`--concurrency N`) or adaptive (`--concurrency auto`, the default): start
 * at a few lanes, grow while the total throughput grows, shrink at once on 429/5xx, timeouts and resets. A far CDN
 * (high latency, a per-connection rate well under the link's) needs many lanes to fill the link; a near one gains
 * nothing past a few, and a struggling server gets fewer.
 */

export type ConcurrencySetting = number | 'auto';

export interface LaneOptions {
  /** Lanes to start with. @default 8 for auto */
  initial?: number;
  /** @default 2 */
  min?: number;
  /** @default 32 */
  max?: number;
  /** Growth must raise the throughput by this factor to be kept going. @default 1.1 */
  gain?: number;
  /** After a shrink, no growth for this long, in ms. @default 5000 */
  cooldownMs?: number;
  now?: () => number;
}

export interface LaneController {
  readonly mode: 'auto' | 'fixed';
  /** The current number of lanes. */
  readonly limit: number;
  /** Bytes that arrived, whichever transfer they belong to. */
  addBytes(bytes: number): void;
  /**
   * Closes a measurement window: `busy` says whether every lane had work during it (growth is only judged when
   * the lanes, not the listing, were the limit).
   */
  tick(busy: boolean): void;
  /** A 429, 5xx, timeout or reset: back off. */
  throttle(): void;
  onChange(listener: (limit: number) => void): void;
}

class FixedLanes implements LaneController {
  readonly mode = 'fixed';
  constructor(readonly limit: number) {}
  addBytes(): void {}
  tick(): void {}
  throttle(): void {}
  onChange(): void {}
}

/**
 * Additive-free, multiplicative growth (x1.5 per window while the throughput keeps rising by `gain`), halving on
 * a throttle signal, with a cooldown so one burst of 503s does not start an oscillation. When growth stops paying,
 * the count goes back to the best one seen and stays there; it probes upward again after a while, since the
 * best count on a far link changes as large files finish and small ones start.
 */
class AdaptiveLanes implements LaneController {
  readonly mode = 'auto';
  #limit: number;
  #min: number;
  #max: number;
  #gain: number;
  #cooldownMs: number;
  #now: () => number;
  #bytes = 0;
  #windowStart: number;
  #best: { limit: number; rate: number } | undefined;
  #previousRate = 0;
  #quietUntil = 0;
  #settledAt = 0;
  #listeners: ((limit: number) => void)[] = [];

  constructor(options: LaneOptions) {
    this.#min = options.min ?? 2;
    this.#max = options.max ?? 32;
    this.#limit = Math.min(this.#max, Math.max(this.#min, options.initial ?? 8));
    this.#gain = options.gain ?? 1.1;
    this.#cooldownMs = options.cooldownMs ?? 5000;
    this.#now = options.now ?? Date.now;
    this.#windowStart = this.#now();
  }

  get limit(): number {
    return this.#limit;
  }

  addBytes(bytes: number): void {
    this.#bytes += bytes;
  }

  tick(busy: boolean): void {
    const now = this.#now();
    const elapsed = now - this.#windowStart;
    if (elapsed <= 0) return;
    const rate = (this.#bytes * 1000) / elapsed;
    this.#bytes = 0;
    this.#windowStart = now;
    // An idle window says nothing about the lanes; it is skipped, not a reset: resetting the comparison made the
    // next busy window a fresh probe that always grew, so a run whose listing was the limit now and then climbed
    // to `max` without any gain in throughput.
    if (!busy) return;
    if (now < this.#quietUntil) {
      this.#previousRate = 0;
      return;
    }
    if (this.#settledAt !== 0) {
      // Settled on the best count: hold it until it is time to probe upward again. (Comparing its rate with the
      // rate of the count that did not pay made it grow again at once: an endless swing between the two.)
      if (now - this.#settledAt <= 10 * this.#cooldownMs) return;
      this.#settledAt = 0;
      this.#best = undefined;
      this.#previousRate = 0;
    }
    // The best is the smallest count that reached the highest throughput to within `gain`: lanes that only share
    // the same link are not better, so a plateau settles where it starts rather than one step past it.
    if (!this.#best || rate >= this.#best.rate * this.#gain) this.#best = { limit: this.#limit, rate };
    const grew = this.#previousRate === 0 || rate >= this.#previousRate * this.#gain;
    this.#previousRate = rate;
    if (grew && this.#limit < this.#max) {
      this.#set(Math.ceil(this.#limit * 1.5));
      return;
    }
    if (!grew) {
      // Growth stopped paying: settle on the best count seen, and try upward again in a while.
      this.#set(this.#best.limit);
      this.#settledAt = now;
    }
  }

  throttle(): void {
    const now = this.#now();
    if (now < this.#quietUntil) return; // one burst of errors halves once
    this.#quietUntil = now + this.#cooldownMs;
    this.#best = undefined;
    this.#previousRate = 0;
    // Free to grow back from the halved count once the cooldown is over.
    this.#settledAt = 0;
    this.#set(Math.floor(this.#limit / 2));
  }

  onChange(listener: (limit: number) => void): void {
    this.#listeners.push(listener);
  }

  #set(limit: number): void {
    const next = Math.min(this.#max, Math.max(this.#min, limit));
    if (next === this.#limit) return;
    this.#limit = next;
    for (const listener of this.#listeners) listener(next);
  }
}

export function createLanes(setting: ConcurrencySetting, options: LaneOptions = {}): LaneController {
  return setting === 'auto' ? new AdaptiveLanes(options) : new FixedLanes(setting);
}
