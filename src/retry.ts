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

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  reason: string;
}

/** What a failed attempt means: retry it (after `retryAfterMs` when the server said so), or give up with `error`. */
export interface Verdict {
  retry: boolean;
  /** The error to throw when retries are exhausted (or at once when `retry` is false). */
  error: unknown;
  retryAfterMs?: number | undefined;
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Base of the exponential backoff, in ms. */
  backoffBaseMs: number;
  signal?: AbortSignal | undefined;
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/**
 * The pacer (rclone's `lib/pacer` is the model): runs `attempt` until it succeeds, `judge` says a failure is final,
 * or the retries are spent. Waits `Retry-After` when the server gave one, else backoff with jitter. The API client
 * and the file transfers use this one loop, so both count, wait and report retries the same way.
 */
export async function withRetries<T>(
  attempt: (attemptNo: number) => Promise<T>,
  judge: (error: unknown) => Verdict,
  policy: RetryPolicy,
): Promise<T> {
  for (let attemptNo = 1; ; attemptNo++) {
    if (policy.signal?.aborted) throw new AbortError();
    try {
      return await attempt(attemptNo);
    } catch (error) {
      if (policy.signal?.aborted) throw new AbortError();
      const verdict = judge(error);
      if (!verdict.retry || attemptNo > policy.retries) throw verdict.error;
      const delayMs = verdict.retryAfterMs ?? backoffDelay(attemptNo, { baseMs: policy.backoffBaseMs });
      const reason = verdict.error instanceof Error ? verdict.error.message : String(verdict.error);
      policy.onRetry?.({ attempt: attemptNo, delayMs, reason });
      await sleep(delayMs, policy.signal);
    }
  }
}
