// The retry loop's verdict on a segment's failure (src/engine/transfer-errors.ts): what is retried, what ends the
// file, what leaves quietly, and which failures tell the lanes to back off.
import { describe, expect, it } from 'vitest';
import {
  final,
  judge,
  retryable,
  StartOver,
  Superseded,
  segmentVerdict,
} from '../src/engine/transfer-errors.js';
import type { ThrottleReason } from '../src/engine/transfer-types.js';
import { AbortError, DownloadError } from '../src/errors.js';

const live = () => new AbortController().signal;
const aborted = () => AbortSignal.abort();

describe('judge', () => {
  it('follows a DownloadError, with its Retry-After', () => {
    const rateLimited = retryable('ERR_DOWNLOAD_RATE_LIMITED', '429', 429, 2000);
    expect(judge(rateLimited)).toEqual({ retry: true, error: rateLimited, retryAfterMs: 2000 });
    const gone = final('ERR_DOWNLOAD_GONE', '404', 404);
    expect(judge(gone)).toEqual({ retry: false, error: gone, retryAfterMs: undefined });
  });

  it('never retries an abort, a superseded lane or a disk failure', () => {
    for (const error of [
      new AbortError(),
      new Superseded(),
      Object.assign(new Error('full'), { code: 'ENOSPC' }),
    ]) {
      expect(judge(error)).toEqual({ retry: false, error });
    }
  });

  it('retries anything else as an I/O failure', () => {
    const verdict = judge(new Error('socket hang up'));
    expect(verdict.retry).toBe(true);
    expect(verdict.error).toBeInstanceOf(DownloadError);
    expect(verdict.error).toMatchObject({ code: 'ERR_DOWNLOAD_IO', message: 'socket hang up' });
  });
});

describe('segmentVerdict', () => {
  const throttled = () => {
    const reasons: ThrottleReason[] = [];
    return { reasons, onThrottle: (reason: ThrottleReason) => reasons.push(reason) };
  };

  it('ends a file that kept changing (a StartOver past the restarts allowed)', () => {
    const verdict = segmentVerdict(new StartOver(), live(), undefined, undefined);
    expect(verdict.retry).toBe(false);
    expect(verdict.error).toMatchObject({ code: 'ERR_DOWNLOAD_CHANGED', retryable: false });
  });

  it('leaves quietly once another lane restarted or failed the file, but not on Ctrl-C', () => {
    const error = retryable('ERR_DOWNLOAD_NETWORK', 'reset');
    expect(segmentVerdict(error, aborted(), undefined, undefined).error).toBeInstanceOf(Superseded);
    expect(segmentVerdict(error, aborted(), aborted(), undefined).error).toBe(error);
  });

  it('backs the lanes off after a reset or a short body that will be retried, and only then', () => {
    const { reasons, onThrottle } = throttled();
    expect(segmentVerdict(retryable('ERR_DOWNLOAD_NETWORK', 'reset'), live(), live(), onThrottle).retry).toBe(
      true,
    );
    expect(
      segmentVerdict(retryable('ERR_DOWNLOAD_SHORT', 'short'), live(), undefined, onThrottle).retry,
    ).toBe(true);
    expect(reasons).toEqual(['network', 'network']);
    // Reported where they are answered, not again here.
    segmentVerdict(retryable('ERR_DOWNLOAD_HTTP', '503', 503), live(), undefined, onThrottle);
    segmentVerdict(retryable('ERR_DOWNLOAD_RATE_LIMITED', '429', 429), live(), undefined, onThrottle);
    // Not retried, or the run is stopping.
    segmentVerdict(final('ERR_DOWNLOAD_SHORT', 'short'), live(), undefined, onThrottle);
    segmentVerdict(retryable('ERR_DOWNLOAD_NETWORK', 'reset'), aborted(), aborted(), onThrottle);
    expect(reasons).toEqual(['network', 'network']);
  });
});
