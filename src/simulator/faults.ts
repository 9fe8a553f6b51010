/**
 * Fault injection: rate-limit bursts, failing listings and broken CDN transfers, plus body pacing (per connection
 * and for the shared link). Draws are keyed by what they affect (a listing's sequence number, a file and its
 * attempt number) so a run is reproducible from the seed even when many clients race each other.
 */
import type { CdnFaultOptions, ListFaultOptions, RateLimitOptions } from './options.js';
import { unitFor } from './prng.js';

/** Counts successes and answers the `burst` requests that follow every `every`-th one with 429. */
export class BurstLimiter {
  readonly #config: () => RateLimitOptions | undefined;
  #successes = 0;
  #blocked = 0;

  constructor(config: () => RateLimitOptions | undefined) {
    this.#config = config;
  }

  /** The `Retry-After` seconds when this request must be refused, else undefined. */
  refuse(): number | undefined {
    const config = this.#config();
    if (!config || this.#blocked <= 0) return undefined;
    this.#blocked -= 1;
    return config.retryAfterSeconds;
  }

  succeeded(): void {
    const config = this.#config();
    if (!config) return;
    this.#successes += 1;
    if (this.#successes % config.every === 0) this.#blocked = config.burst;
  }
}

export type ListFault = { kind: 'list5xx'; status: number } | { kind: 'listMalformed' };

const LIST_5XX = [500, 502, 503, 504];

/** The fault (if any) for the `sequence`-th valid listing request. */
export function drawListFault(
  seed: number,
  sequence: number,
  config: ListFaultOptions | undefined,
): ListFault | undefined {
  if (!config) return undefined;
  const draw = unitFor(`${seed}:list:${sequence}`);
  const status5xx = config.status5xx ?? 0;
  if (draw < status5xx) {
    return { kind: 'list5xx', status: LIST_5XX[sequence % LIST_5XX.length] ?? 503 };
  }
  if (draw < status5xx + (config.malformed ?? 0)) return { kind: 'listMalformed' };
  return undefined;
}

export type CdnFault = 'reset' | 'short' | 'status5xx' | 'stall';

const CDN_FAULTS: readonly CdnFault[] = ['reset', 'short', 'status5xx', 'stall'];

/** Remembers attempts and faults per file, so that `maxPerFile` caps what one file suffers. */
export class CdnFaultPlan {
  readonly #attempts = new Map<string, number>();
  readonly #faults = new Map<string, number>();

  draw(seed: number, fileKey: string, config: CdnFaultOptions | undefined): CdnFault | undefined {
    if (!config) return undefined;
    const attempt = (this.#attempts.get(fileKey) ?? 0) + 1;
    this.#attempts.set(fileKey, attempt);
    const suffered = this.#faults.get(fileKey) ?? 0;
    if (suffered >= (config.maxPerFile ?? 2)) return undefined;
    const draw = unitFor(`${seed}:cdn:${fileKey}:${attempt}`);
    let edge = 0;
    for (const kind of CDN_FAULTS) {
      edge += config[kind] ?? 0;
      if (draw < edge) {
        this.#faults.set(fileKey, suffered + 1);
        return kind;
      }
    }
    return undefined;
  }
}

/**
 * Paces bytes to a rate that may change at run time, by handing each slice of bytes the next free slot of the
 * rate (a generic cell rate algorithm, i.e. a token bucket). One pacer per response caps a connection; one shared
 * by every response is the link: each response asks for one small slice at a time and waits for its slot before
 * asking again, so N busy responses take turns and each gets about 1/N of the link.
 */
export class Pacer {
  readonly #rate: () => number | undefined;
  readonly #toleranceMs: number;
  /** When the next slice may leave, in `performance.now()` milliseconds. */
  #next = performance.now();

  /**
   * `toleranceMs` is how far behind schedule a late timer may catch up (and so the burst an idle pacer allows);
   * without it every timer's lateness would be lost and the rate undershot.
   */
  constructor(rate: () => number | undefined, toleranceMs = 20) {
    this.#rate = rate;
    this.#toleranceMs = toleranceMs;
  }

  /** The largest slice worth asking for at once: about 10 ms of the rate, at most `max` bytes. */
  sliceSize(max: number): number {
    const rate = this.#rate();
    return rate ? Math.max(1, Math.min(max, Math.floor(rate / 100))) : max;
  }

  /** Books a slot for `bytes`; returns the milliseconds to wait before sending them (<= 0: now). */
  reserve(bytes: number): number {
    const rate = this.#rate();
    if (!rate) return 0;
    const now = performance.now();
    const start = Math.max(this.#next, now - this.#toleranceMs);
    this.#next = start + (bytes / rate) * 1000;
    return start - now;
  }
}
