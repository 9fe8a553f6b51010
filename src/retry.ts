import { AbortError } from './errors.js';

/** Resolves after `ms`, or rejects with AbortError as soon as `signal` aborts; never leaves a timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface BackoffOptions {
  /** First delay in ms. @default 500 */
  baseMs?: number;
  /** Largest delay in ms. @default 20_000 */
  maxMs?: number;
  /** Source of randomness in [0, 1), replaceable in tests. @default Math.random */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries from many workers
 * spread out without any of them retrying immediately.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 20_000, random = Math.random } = options;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Math.round(Number(text.trim()) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * One gate shared by every request of a run (listing, single-asset lookups and downloads). When any request is
 * told to slow down (429 + Retry-After), every worker waits, not just the one that was told: hammering on with the
 * others only earns more 429s (aria2 and yt-dlp users report exactly that).
 */
export class RateGate {
  #pausedUntil = 0;
  #pauses = 0;

  /** Holds every caller until `now + ms`; a longer pause already in force wins. */
  pause(ms: number): void {
    this.#pauses++;
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
  }

  /** How many times a pause was requested; reported in summaries. */
  get pauses(): number {
    return this.#pauses;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    // Loop: another request may extend the pause while we sleep.
    for (;;) {
      const remaining = this.#pausedUntil - Date.now();
      if (remaining <= 0) return;
      await sleep(remaining, signal);
    }
  }
}
