/**
 * What one file's transfer is given and what it reports: its options (with the store of its resume state and the
 * hooks the lanes and the progress listen on) and its result. The public shapes of src/engine/transfer.ts.
 */
import type { RateGate, RetryInfo } from '../retry.js';
import type { PartIO } from './part-file.js';
import type { RateLimiter } from './rate-limit.js';
import type { ResumeState } from './segments.js';
import type { Transport } from './transport.js';

/**
 * Where the resume state of one file lives, keyed by assetId and file (never by URL: signatures change every
 * listing). `backup()` keeps it in the manifest journal; `downloadFile()` defaults to `<dest>.part.json`.
 */
export interface ResumeStore {
  get(): ResumeState | undefined | Promise<ResumeState | undefined>;
  set(state: ResumeState | undefined): void | Promise<void>;
  /**
   * Called instead of `set(undefined)` once the file is in place, by a store whose next record of the finished
   * file forgets its resume state along with it (the manifest's `file` line does): one line fewer per file. A
   * crash in between leaves a state whose `.part` is gone, which the next run reads as nothing to continue.
   */
  placed?(): void | Promise<void>;
}

/** Why a transfer asks the lane controller to back off. */
export type ThrottleReason = 'rate-limited' | 'server-error' | 'network';

export interface TransferOptions {
  /** Where the file goes once complete (absolute). `<dest>.part` is written meanwhile. */
  dest: string;
  /** The URL to fetch; replaced through `refreshUrl` when it expires. */
  url: string;
  /** Bytes the API says the file has (main files); checked along with Content-Length when given. */
  expectedSize?: number | undefined;
  /** A fresh URL for this file (expired or about to expire). */
  refreshUrl?: (() => Promise<string>) | undefined;
  resumeStore: ResumeStore;
  signal?: AbortSignal | undefined;
  /** Shared with the API client: a 429 anywhere slows every request. */
  gate?: RateGate | undefined;
  /** Attempts after the first, per segment, for transient failures. @default 5 */
  retries?: number | undefined;
  /** URL refreshes allowed after a 403 or near expiry. @default 3 */
  refreshes?: number | undefined;
  /** Idle time, in ms, after which a silent connection counts as stalled. @default 30_000 */
  timeoutMs?: number | undefined;
  /** @default 500 */
  backoffBaseMs?: number | undefined;
  /** Refresh a URL this long before the expiry it carries, in ms. @default 60_000 */
  refreshMarginMs?: number | undefined;
  /** The HTTP client. @default nodeTransport */
  transport?: Transport | undefined;
  /** The `.part` file system. @default nodePartIO */
  io?: PartIO | undefined;
  /** Folders already made or read this run, with their names: saves a mkdir and a stat per file. */
  knownDirs?: Map<string, Set<string>> | undefined;
  /**
   * Runs more work for this file on another lane: a split segment, or the segments of a resumed split download.
   * @default runs it at once
   */
  spawn?: ((job: () => Promise<void>) => void) | undefined;
  /** Each chunk's new bytes as they are written. Must be cheap. */
  onBytes?: ((bytes: number) => void) | undefined;
  /** `--limit-rate`: the run's byte budget, shared by every transfer; each chunk waits its turn before it is written. */
  rateLimit?: RateLimiter | undefined;
  /** The first answer: the file's size when the server says it, and the bytes kept from a `.part`. */
  onStart?: ((info: { total: number | undefined; offset: number }) => void) | undefined;
  onRetry?: ((info: RetryInfo) => void) | undefined;
  /** A 429, 5xx or network failure: the lane controller shrinks on these. */
  onThrottle?: ((reason: ThrottleReason) => void) | undefined;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** Bytes that were already in a `.part` and kept. */
  resumedFrom: number;
  /** Requests sent for this file. */
  attempts: number;
  urlRefreshes: number;
  /** Times a `.part` or segment could not be proven to belong to the object and the file started over. */
  restarts: number;
  /** Segments the file was fetched in (1 when never split). */
  segments: number;
  /** When a different file already stood at `dest`, where it was moved. */
  movedAside: string | undefined;
  /** True when an identical file already stood at `dest` and was kept as is. */
  adopted: boolean;
}
