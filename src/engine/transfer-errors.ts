/**
 * How an attempt of a transfer ends when it does not succeed: started over, superseded by another lane, or a
 * DownloadError worth a retry or not; and the retry loop's verdict on any of them. @internal
 */
import { AbortError, DownloadError } from '../errors.js';
import { isDiskError } from '../fsutil.js';
import type { Verdict } from '../retry.js';
import type { ThrottleReason } from './transfer-types.js';

/** Thrown inside an attempt to start the file over without spending a retry (the object proved different). */
export class StartOver extends Error {}
/** Another lane restarted or failed the file: this lane's work is void, and it leaves quietly. */
export class Superseded extends Error {}

export const retryable = (code: string, message: string, status?: number, retryAfterMs?: number) =>
  new DownloadError(code, message, { retryable: true, status, retryAfterMs });
export const final = (code: string, message: string, status?: number) =>
  new DownloadError(code, message, { retryable: false, status });

export function judge(error: unknown): Verdict {
  if (error instanceof DownloadError) {
    return { retry: error.retryable, error, retryAfterMs: error.retryAfterMs };
  }
  if (error instanceof Superseded || error instanceof AbortError) return { retry: false, error };
  if (isDiskError(error)) return { retry: false, error };
  return {
    retry: true,
    error: retryable('ERR_DOWNLOAD_IO', error instanceof Error ? error.message : String(error)),
  };
}

/**
 * The retry loop's verdict on a failed attempt of a segment whose generation is `generation` (`run`: the run's
 * signal); a failure that says the link struggles also tells the lanes to back off (`onThrottle`).
 */
export function segmentVerdict(
  error: unknown,
  generation: AbortSignal,
  run: AbortSignal | undefined,
  onThrottle: ((reason: ThrottleReason) => void) | undefined,
): Verdict {
  if (error instanceof StartOver) {
    return {
      retry: false,
      error: final('ERR_DOWNLOAD_CHANGED', 'the file kept changing while it was fetched'),
    };
  }
  if (generation.aborted && !run?.aborted) return { retry: false, error: new Superseded() };
  const verdict = judge(error);
  // A reset, a timeout or a body cut short: a struggling server or link, which the lanes back off from as
  // from a 429 or 5xx (those are reported where they are answered). Without this they only ever grew.
  const code = error instanceof DownloadError ? error.code : undefined;
  if (verdict.retry && !run?.aborted && (code === 'ERR_DOWNLOAD_NETWORK' || code === 'ERR_DOWNLOAD_SHORT'))
    onThrottle?.('network');
  return verdict;
}
