// src/engine/: moving bytes. One file's transfer (this file), its byte-range plan (segments), the receiving of a
// response (receive), the part file, the transport, lanes, the scheduler, chunk release and the final placement.
// Knows URLs, byte ranges and paths; never imports assets, the manifest, the API client or progress.
/**
 * One file's transfer: into `<dest>.part` by one or several Range segments, each on its own lane, then exact size,
 * sha256, fsync and rename. This is where the integrity contract lives:
 *
 * - Nothing is written before the status is known: an error page never becomes a file.
 * - A `.part` is continued only when the bytes already there are proven to belong to the object being fetched: by
 *   `If-Range` with a strong validator, or, from a server that sends none, by re-reading 64 KiB before the end of
 *   the `.part` and comparing them with the disk (and the total in `Content-Range` with the recorded one).
 * - A file is split into segments only from a server that answered with a strong validator, a known size and Range
 *   support; each segment asks `If-Range`, so a changed object restarts the whole file instead of splicing.
 * - The file is complete only when every segment is, byte for byte; then hashed, fsynced and renamed.
 */
import { createHash, type Hash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { promises as fs } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { AbortError, DownloadError, redactUrl } from '../errors.js';
import { ensureDir, fileSize, hashRange, isDiskError, toDiskError } from '../fsutil.js';
import { parseRetryAfter, type RateGate, type RetryInfo, type Verdict, withRetries } from '../retry.js';
import { chunkReleaser } from './chunk-release.js';
import { nodePartIO, type PartHandle, type PartIO } from './part-file.js';
import { place } from './place.js';
import { nodeTransport, type Transport, type TransportResponse } from './transport.js';
import { urlExpiresAt } from './url-expiry.js';

/** What a `.part` needs to be continued by a later run, under a fresh URL. */
export interface ResumeState {
  /** Strong ETag, or Last-Modified: what `If-Range` carries. Absent: the overlap check proves the `.part`. */
  validator?: string | undefined;
  /** The full size the server announced. */
  total: number | undefined;
  /** A split download: `[start, written, end)` of each segment, written counting only flushed bytes. */
  segments?: [number, number, number][] | undefined;
}

/**
 * Where the resume state of one file lives, keyed by assetId and file (never by URL: signatures change every
 * listing). `backup()` keeps it in the manifest journal; `downloadFile()` defaults to `<dest>.part.json`.
 */
export interface ResumeStore {
  get(): ResumeState | undefined | Promise<ResumeState | undefined>;
  set(state: ResumeState | undefined): void | Promise<void>;
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

/** Bytes re-read before the end of a `.part` to prove, without a validator, that it belongs to the object. */
export const OVERLAP_BYTES = 64 * 1024;
/** Bytes written between two background flushes (and split-state checkpoints) of a large file. */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;
const SYNC_SPLIT_EVERY_BYTES = 8 * 1024 * 1024;
/** A longer Retry-After is capped to this: a misconfigured server must not park the run for a day. */
const MAX_RETRY_AFTER_MS = 60_000;
/** Segment boundaries are aligned to this. */
const ALIGN = 64 * 1024;

interface Segment {
  start: number;
  /** Next byte to write. */
  pos: number;
  /** Exclusive; Infinity while the size is unknown. */
  end: number;
  /** `pos` as of the last completed flush: what a checkpoint records. */
  synced: number;
}

/** What one lane is working on; a restart hands the lane the new first segment and generation. */
interface Lane {
  seg: Segment;
  generation: AbortController;
}

/**
 * A file's generation: every request of every lane of the file listens to it, so a split file has as many
 * listeners as lanes (up to 32): many listeners are expected, not a leak (Node would warn past 10).
 */
function newGeneration(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** The generation a request's abort follows. */
interface Link {
  signal: AbortSignal;
  abort: () => void;
}

/** Thrown inside an attempt to start the file over without spending a retry (the object proved different). */
class StartOver extends Error {}
/** Another lane restarted or failed the file: this lane's work is void, and it leaves quietly. */
class Superseded extends Error {}

const retryable = (code: string, message: string, status?: number, retryAfterMs?: number) =>
  new DownloadError(code, message, { retryable: true, status, retryAfterMs });
const final = (code: string, message: string, status?: number) =>
  new DownloadError(code, message, { retryable: false, status });

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The validator `If-Range` may carry: a strong ETag, else a Last-Modified date that is strong. Weak ETags never
 * match an If-Range on real CDNs. A date is strong only when the answer's own Date is at least a second after it
 * (RFC 9110, 8.8.2.2 and 13.1.5): an object changed twice within that second keeps its date, and a range of the
 * second version would be spliced onto bytes of the first. Without a strong one, a resume proves the `.part` by
 * re-reading its end, and the file is never split.
 */
export function validatorOf(headers: IncomingHttpHeaders): string | undefined {
  const etag = header(headers, 'etag');
  if (etag && !etag.startsWith('W/')) return etag;
  const modified = header(headers, 'last-modified');
  if (modified === undefined) return undefined;
  const date = Date.parse(header(headers, 'date') ?? '');
  return Number.isFinite(date) && date - Date.parse(modified) >= 1000 ? modified : undefined;
}

export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number | undefined } | undefined {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) + 1, total: m[3] === '*' ? undefined : Number(m[3]) };
}

function lengthOf(headers: IncomingHttpHeaders): number | undefined {
  const value = header(headers, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function judge(error: unknown): Verdict {
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

function validSegments(state: ResumeState): state is ResumeState & { segments: [number, number, number][] } {
  const { segments, total } = state;
  if (!segments || segments.length === 0 || total === undefined || !state.validator) return false;
  let at = 0;
  for (const seg of segments) {
    if (!Array.isArray(seg) || seg.length !== 3) return false;
    const [start, pos, end] = seg;
    // Whole byte offsets only: a damaged journal's fractions would reach Range headers and file positions.
    if (![start, pos, end].every(Number.isSafeInteger)) return false;
    if (start !== at || !(pos >= start && pos <= end) || !(end > start)) return false;
    at = end;
  }
  return at === total;
}

/**
 * A file being fetched. `run()` is the first lane's job; `split()` hands another lane a segment of the rest;
 * `result` settles once, when every segment is done (or the file failed).
 */
export class FileTransfer {
  readonly result: Promise<DownloadResult>;
  readonly part: string;
  #o: TransferOptions;
  #io: PartIO;
  #transport: Transport;
  #url: string;
  #freshUrl = false;
  #urlRefreshes = 0;
  #refreshing: Promise<void> | undefined;
  #handle: PartHandle | undefined;
  #opening: Promise<PartHandle> | undefined;
  /** How the `.part` is opened when the first byte is due: created empty, or kept to be continued. */
  #openFresh = true;
  #total: number | undefined;
  #validator: string | undefined;
  #rangeOk = false;
  #noSplit = false;
  #segments: Segment[] = [];
  #hash: Hash = createHash('sha256');
  #hashedUpTo = 0;
  /** Replaced on each restart; aborting it voids every lane's work on the old object. */
  #generation = newGeneration();
  #jobs = 0;
  #inflight = new Set<Promise<void>>();
  /** The lanes fetching a segment of this file right now. */
  #lanes = new Set<Lane>();
  #unsynced = 0;
  #syncing: Promise<void> | undefined;
  #started = false;
  #settled = false;
  #failure: unknown;
  #attempts = 0;
  #restarts = 0;
  #resumedFrom = 0;
  #segmentCount = 1;
  #resolve!: (result: DownloadResult) => void;
  /** Ctrl-C: every lane of this file stops, through the generation's signal. */
  readonly #onAbort = (): void => this.#generation.abort();
  #reject!: (error: unknown) => void;

  constructor(options: TransferOptions) {
    this.#o = options;
    this.#io = options.io ?? nodePartIO;
    this.#transport = options.transport ?? nodeTransport;
    this.#url = options.url;
    this.part = `${options.dest}.part`;
    this.result = new Promise<DownloadResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // The caller may learn of a failure through `run()` first; an unobserved rejection must not crash the process.
    this.result.catch(() => {});
  }

  /** Bytes still to fetch (Infinity while the size is unknown). */
  get remaining(): number {
    let left = 0;
    for (const seg of this.#segments) left += seg.end - seg.pos;
    return this.#segments.length === 0 ? Number.POSITIVE_INFINITY : left;
  }

  /** The first lane's job: prepares the `.part`, then fetches (the first segment of) the file. */
  async run(): Promise<void> {
    this.#jobs++;
    try {
      if (this.#o.signal?.aborted) throw new AbortError();
      this.#o.signal?.addEventListener('abort', this.#onAbort, { once: true });
      await this.#prepare();
      const [first, ...others] = this.#segments.filter((s) => s.pos < s.end);
      for (const seg of others) this.#spawn(seg);
      if (first) await this.#runSegment(first);
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#jobs--;
      void this.#settleIfIdle();
    }
  }

  /**
   * Splits the largest unfinished segment in two and fetches its second half on another lane. Only from a server
   * that showed Range support, a strong validator and a size; false when there is nothing worth splitting.
   */
  async split(minBytes: number): Promise<boolean> {
    if (!this.#started || this.#settled || this.#noSplit || !this.#rangeOk) return false;
    if (!this.#validator || this.#total === undefined || this.#generation.signal.aborted) return false;
    let best: Segment | undefined;
    for (const seg of this.#segments) {
      if (seg.pos < seg.end && (!best || seg.end - seg.pos > best.end - best.pos)) best = seg;
    }
    if (!best || best.end - best.pos < 2 * minBytes) return false;
    const middle = Math.ceil((best.pos + (best.end - best.pos) / 2) / ALIGN) * ALIGN;
    if (middle - best.pos < minBytes || best.end - middle < minBytes) return false;
    const seg: Segment = { start: middle, pos: middle, end: best.end, synced: middle };
    best.end = middle;
    this.#segments.push(seg);
    this.#segments.sort((a, b) => a.start - b.start);
    // The split is on record before the new segment writes a byte: a run killed after that must resume each
    // segment, never read the sparse .part as one contiguous prefix. Meanwhile the split counts as a job: the
    // shortened segment may reach its new end first, and the file must not settle with the new one unfetched.
    this.#jobs++;
    try {
      if (!(await this.#checkpoint())) {
        best.end = seg.end;
        this.#segments = this.#segments.filter((s) => s !== seg);
        // Meanwhile the shortened segment may have reached the midpoint and its lane gone: the range it gave up
        // is its own again, and someone must fetch it (a lane still on it fetches on by itself).
        if (best.pos < best.end && ![...this.#lanes].some((lane) => lane.seg === best)) this.#spawn(best);
        return false;
      }
      this.#segmentCount++;
      this.#spawn(seg);
      return true;
    } finally {
      this.#jobs--;
      void this.#settleIfIdle();
    }
  }

  #spawn(seg: Segment): void {
    this.#jobs++;
    const job = async (): Promise<void> => {
      try {
        // A segment queued before a restart belongs to the old layout: run under the new generation, it voided the
        // fresh start (its overlap check or a 416 started the file over again).
        if (!this.#settled && !this.#generation.signal.aborted && this.#segments.includes(seg))
          await this.#runSegment(seg);
      } catch (error) {
        this.#fail(error);
      } finally {
        this.#jobs--;
        // The lane is free once the bytes are in: hashing the rest, fsync and rename happen off it.
        void this.#settleIfIdle();
      }
    };
    (this.#o.spawn ?? ((run: () => Promise<void>) => void run()))(job);
  }

  #fail(error: unknown): void {
    if (error instanceof Superseded) return;
    if (this.#failure === undefined) {
      this.#failure = isDiskError(error) ? toDiskError(error, this.#o.dest) : error;
      // The other lanes of this file stop: their work cannot make a failed file complete.
      this.#generation.abort();
    }
  }

  async #settleIfIdle(): Promise<void> {
    if (this.#jobs > 0 || this.#settled) return;
    this.#settled = true;
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    try {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#o.signal?.aborted) throw new AbortError();
      this.#resolve(await this.#finish());
    } catch (error) {
      await this.#close();
      this.#reject(isDiskError(error) ? toDiskError(error, this.#o.dest) : error);
    }
  }

  async #close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await this.#syncing?.catch(() => {});
    await handle?.close().catch(() => {});
  }

  async #prepare(): Promise<void> {
    const { dest, knownDirs, resumeStore } = this.#o;
    const dir = path.dirname(dest);
    if (!knownDirs?.has(dir)) {
      await ensureDir(dir);
      if (knownDirs) knownDirs.set(dir, new Set(await fs.readdir(dir)));
    }
    const state = await resumeStore.get();
    // No resume state means nothing to continue: a stray .part is truncated without a stat.
    const partBytes = state ? await fileSize(this.part) : undefined;
    if (
      state &&
      partBytes !== undefined &&
      validSegments(state) &&
      state.segments.every(([start, pos]) => pos === start || partBytes >= pos)
    ) {
      this.#openFresh = false;
      this.#total = state.total;
      this.#validator = state.validator;
      this.#rangeOk = true;
      for (const [start, pos, end] of state.segments) {
        this.#segments.push({ start, pos, end, synced: pos });
        this.#resumedFrom += pos - start;
      }
      this.#segmentCount = this.#segments.length;
      return;
    }
    // Only a .part written from byte 0 on, in order, is a prefix. A split download's .part has holes: when its
    // segments cannot be trusted (one reaches past the end of the file), reading it as a prefix spliced the holes'
    // zeros into a file of the right size, hashed as it was.
    if (
      state &&
      !state.segments?.length &&
      partBytes &&
      (state.total === undefined || partBytes < state.total)
    ) {
      if (state.validator || state.total !== undefined) {
        this.#openFresh = false;
        this.#total = state.total;
        this.#validator = state.validator;
        // Hashed before asking: a multi-GB .part on a slow disk must not keep a connection idle into a timeout.
        await hashRange(this.part, this.#hash, 0, partBytes);
        this.#hashedUpTo = partBytes;
        this.#segments = [
          { start: 0, pos: partBytes, end: state.total ?? Number.POSITIVE_INFINITY, synced: partBytes },
        ];
        return;
      }
    }
    this.#segments = [{ start: 0, pos: 0, end: Number.POSITIVE_INFINITY, synced: 0 }];
  }

  /** The `.part`, opened when the first byte is due: an error answer leaves no file behind. */
  async #open(): Promise<PartHandle> {
    if (this.#handle) return this.#handle;
    // The segments of a resumed split file all want the .part at once: one open serves them. (A handle per lane
    // left all but the last one unclosed, for the garbage collector to close with a warning on stderr.)
    this.#opening ??= this.#io
      .open(this.part, this.#openFresh)
      .then((handle) => {
        this.#handle = handle;
        this.#openFresh = false;
        return handle;
      })
      .finally(() => {
        this.#opening = undefined;
      });
    return this.#opening;
  }

  /** Fetches `seg` until it is complete, with retries; after a restart, the lane carries the new first segment. */
  async #runSegment(seg: Segment): Promise<void> {
    const lane: Lane = { seg, generation: this.#generation };
    this.#lanes.add(lane);
    try {
      await this.#fetchSegment(lane);
    } finally {
      this.#lanes.delete(lane);
    }
  }

  async #fetchSegment(lane: Lane): Promise<void> {
    const { retries = 5, backoffBaseMs = 500 } = this.#o;
    await withRetries(
      async () => {
        for (let startOvers = 0; ; ) {
          // Restarted or failed by another lane: that lane carries the file now.
          if (lane.generation !== this.#generation || lane.generation.signal.aborted) throw new Superseded();
          try {
            await this.#attempt(lane);
            // A split that could not be put on record gave its range back to this segment: fetch on.
            if (lane.seg.pos < lane.seg.end) continue;
            return;
          } catch (error) {
            if (!(error instanceof StartOver)) throw error;
            // Another lane already started the file over (or failed it): this lane's work is void. Restarting
            // again would void that lane's fresh start and leave two lanes writing one file (several segments of
            // a stale split .part get their whole-object answers at the same moment), even two versions of it.
            if (lane.generation !== this.#generation || lane.generation.signal.aborted)
              throw new Superseded();
            if (startOvers++ >= 2) throw error;
            try {
              lane.seg = await this.#restart();
            } catch (failure) {
              // The journal or the disk refused the restart: the file fails with that reason. (Judged under the
              // aborted generation, it read as Superseded and the file ended "short" instead.)
              this.#fail(failure);
              throw failure;
            }
            lane.generation = this.#generation;
          }
        }
      },
      (error) => {
        if (error instanceof StartOver) {
          return {
            retry: false,
            error: final('ERR_DOWNLOAD_CHANGED', 'the file kept changing while it was fetched'),
          };
        }
        if (lane.generation.signal.aborted && !this.#o.signal?.aborted)
          return { retry: false, error: new Superseded() };
        const verdict = judge(error);
        // A reset, a timeout or a body cut short: a struggling server or link, which the lanes back off from as
        // from a 429 or 5xx (those are reported where they are answered). Without this they only ever grew.
        const code = error instanceof DownloadError ? error.code : undefined;
        if (
          verdict.retry &&
          !this.#o.signal?.aborted &&
          (code === 'ERR_DOWNLOAD_NETWORK' || code === 'ERR_DOWNLOAD_SHORT')
        )
          this.#o.onThrottle?.('network');
        return verdict;
      },
      { retries, backoffBaseMs, signal: this.#o.signal, onRetry: (info) => this.#o.onRetry?.(info) },
    );
  }

  /** Starts the file over from byte 0 on the lane that asks; every other lane's work on it is void. */
  async #restart(): Promise<Segment> {
    this.#restarts++;
    this.#generation.abort();
    this.#generation = newGeneration();
    await Promise.allSettled([...this.#inflight]);
    this.#segments = [{ start: 0, pos: 0, end: Number.POSITIVE_INFINITY, synced: 0 }];
    this.#hash = createHash('sha256');
    this.#hashedUpTo = 0;
    this.#total = undefined;
    this.#validator = undefined;
    this.#resumedFrom = 0;
    // The fresh start is announced again (progress counts from 0 bytes) and counts its own segments.
    this.#started = false;
    this.#segmentCount = 1;
    // Forget the old state before touching the bytes: a crash in between must not resume against a truncated file.
    await this.#o.resumeStore.set(undefined);
    if (this.#handle) await this.#handle.truncate(0);
    else this.#openFresh = true;
    return this.#segments[0] as Segment;
  }

  async #refresh(why: string): Promise<void> {
    const { refreshUrl, refreshes = 3 } = this.#o;
    // Several lanes of one file may find its URL expired together: one refresh serves them all.
    if (this.#refreshing) return this.#refreshing;
    if (!refreshUrl || this.#urlRefreshes >= refreshes) {
      throw final('ERR_URL_EXPIRED', `the download URL ${why} and no fresh one could be had`, 403);
    }
    this.#urlRefreshes++;
    this.#refreshing = refreshUrl().then((url) => {
      this.#url = url;
      this.#freshUrl = true;
    });
    try {
      await this.#refreshing;
    } finally {
      this.#refreshing = undefined;
    }
  }

  /** One request for `seg`, and its body into the `.part`. */
  async #attempt(lane: Lane): Promise<void> {
    const o = this.#o;
    const { seg, generation } = lane;
    let response: TransportResponse;
    // Proving a .part without a validator: re-read the bytes before its end and compare them with the disk.
    let back = 0;
    // The request's own signal follows the file's generation: a restart by any lane, or Ctrl-C (linked to the
    // generation in run()), aborts it; one listener per request instead of an AbortSignal.any per request.
    const request = new AbortController();
    const link: Link = { signal: generation.signal, abort: () => request.abort() };
    link.signal.addEventListener('abort', link.abort, { once: true });
    try {
      for (;;) {
        const expiresAt = urlExpiresAt(this.#url);
        // Only a URL from the listing is refreshed ahead of time: a fresh one that is short-lived anyway is used as
        // it is, and a 403 still gets it replaced.
        if (!this.#freshUrl && o.refreshUrl && expiresAt !== undefined) {
          if (expiresAt - Date.now() < (o.refreshMarginMs ?? 60_000))
            await this.#refresh('is about to expire');
        }
        // The run's signal aborts the current generation (linked in run()), so one signal serves both.
        if (o.signal?.aborted) throw new AbortError();
        const signal = request.signal;
        await o.gate?.wait(signal);
        back = seg.pos > 0 && !this.#validator ? Math.min(OVERLAP_BYTES, seg.pos) : 0;
        const headers: Record<string, string> = { 'accept-encoding': 'identity' };
        // The first segment of a split file asks a Range too, even from byte 0 (a retry after the split): a whole
        // answer to it would mean starting the file over, and the other segments with it.
        if (seg.pos > 0 || seg.start > 0 || this.#segments.length > 1) {
          const last = Number.isFinite(seg.end) && seg.end !== this.#total ? String(seg.end - 1) : '';
          headers.range = `bytes=${seg.pos - back}-${last}`;
          if (this.#validator) headers['if-range'] = this.#validator;
        }
        this.#attempts++;
        response = await this.#transport({
          url: this.#url,
          headers,
          timeoutMs: o.timeoutMs ?? 30_000,
          signal,
        });
        if (response.status !== 403) break;
        response.destroy();
        await this.#refresh('expired (403)');
      }
      try {
        await this.#receive(lane, response, back);
      } finally {
        response.destroy();
      }
    } finally {
      link.signal.removeEventListener('abort', link.abort);
    }
  }

  async #receive(lane: Lane, response: TransportResponse, back: number): Promise<void> {
    const o = this.#o;
    const { seg, generation } = lane;
    const { status, headers } = response;
    const where = redactUrl(this.#url);
    if (status !== 200 && status !== 206) {
      if (status === 416) throw new StartOver();
      if (status === 429) {
        const wait = parseRetryAfter(header(headers, 'retry-after'));
        const retryAfterMs = wait === undefined ? undefined : Math.min(wait, MAX_RETRY_AFTER_MS);
        // Everyone waits, not just this lane: the gate is shared with the other downloads and the listing.
        if (retryAfterMs !== undefined) o.gate?.pause(retryAfterMs);
        o.onThrottle?.('rate-limited');
        throw retryable('ERR_DOWNLOAD_RATE_LIMITED', `${where} answered 429`, 429, retryAfterMs);
      }
      if (status === 404 || status === 410) {
        throw final('ERR_DOWNLOAD_GONE', `${where} answered ${status}: the file is gone`, status);
      }
      if (status >= 500 || status === 408) {
        o.onThrottle?.('server-error');
        throw retryable('ERR_DOWNLOAD_HTTP', `${where} answered ${status}`, status);
      }
      throw final('ERR_DOWNLOAD_HTTP', `${where} answered ${status}`, status);
    }

    const validator = validatorOf(headers);
    // How many leading bytes of the body are only there to be compared with the disk, or skipped.
    let compare = 0;
    let skip = 0;
    if (status === 200) {
      const total = lengthOf(headers);
      // (A whole answer to the first segment of a split file, from the same object, is the server ignoring Range
      // this once: the other segments stand, and it is read like any ignored Range below.)
      const fresh = seg.pos === 0 && this.#segments.length === 1;
      if (seg.start === 0 && (fresh || validator !== this.#validator || !validator)) {
        // A fresh start, or a resume the server declined (If-Range did not match, or no validator to trust):
        // the whole current object, from byte 0.
        // Starting over here with this very answer cannot work: it was asked under the generation a restart
        // aborts, so its body breaks off at once; the file then failed a retry at a time (and, split again during
        // the backoff, restarted again, until it ran out of retries). #runSegment starts over and asks anew.
        if (seg.pos > 0 || this.#segments.length > 1) throw new StartOver();
        this.#total = total;
        seg.end = total ?? Number.POSITIVE_INFINITY;
        this.#validator = validator;
        this.#rangeOk = header(headers, 'accept-ranges') === 'bytes';
        this.#checkSize(total);
        // Recorded before the first byte lands in the .part, so a kill at any later instant can resume it.
        await o.resumeStore.set(validator || total !== undefined ? { validator, total } : undefined);
      } else if (validator && validator === this.#validator && total === this.#total) {
        // The same object, whole: the server ignores Range. Skip what we have; never split this file again.
        this.#noSplit = true;
        skip = seg.pos;
      } else {
        throw new StartOver();
      }
    } else {
      const range = parseContentRange(header(headers, 'content-range'));
      const expectedStart = seg.pos - back;
      if (
        !range ||
        range.start !== expectedStart ||
        range.total === undefined ||
        (this.#total !== undefined && range.total !== this.#total) ||
        (this.#validator && validator && validator !== this.#validator)
      ) {
        throw new StartOver();
      }
      this.#total = range.total;
      if (!Number.isFinite(seg.end)) seg.end = range.total;
      this.#rangeOk = true;
      this.#checkSize(range.total);
      compare = back;
      if (seg.start === 0) this.#resumedFrom = Math.max(this.#resumedFrom, seg.pos);
    }
    if (!this.#started) {
      this.#started = true;
      // The bytes kept from the .part: for a resumed split file, those of every segment (from #prepare), not the
      // position of whichever segment happened to answer first.
      if (seg.start === 0) this.#resumedFrom = Math.max(this.#resumedFrom, seg.pos);
      o.onStart?.({ total: this.#total, offset: this.#resumedFrom });
    }
    const handle = await this.#open();
    const disk = compare > 0 ? await handle.read(compare, seg.pos - compare) : undefined;
    if (disk && disk.length !== compare) throw new StartOver();

    for await (const chunk of response.body) {
      if (generation.signal.aborted) throw new Superseded();
      let data = chunk;
      if (skip > 0) {
        const n = Math.min(skip, data.length);
        skip -= n;
        data = data.subarray(n);
      }
      if (compare > 0 && data.length > 0) {
        const n = Math.min(compare, data.length);
        const offset = back - compare;
        if (!data.subarray(0, n).equals(disk!.subarray(offset, offset + n))) throw new StartOver();
        compare -= n;
        data = data.subarray(n);
      }
      if (data.length === 0) continue;
      const room = seg.end - seg.pos;
      if (room <= 0) break;
      if (data.length > room) data = data.subarray(0, room);
      await this.#write(data, seg, generation, response.disposableChunks === true);
      if (seg.pos >= seg.end) break;
    }
    // A body that ended inside the overlap disproved nothing: retried like any short body, not started over.
    if (compare > 0) throw retryable('ERR_DOWNLOAD_SHORT', 'the answer ended before the bytes to compare');
    if (!Number.isFinite(seg.end)) {
      // No size was announced: the end of the body is the end of the file.
      seg.end = seg.pos;
      this.#total = seg.pos;
      this.#checkSize(seg.pos);
    }
    if (seg.pos < seg.end) {
      // Keep the .part: the next attempt continues it with Range.
      throw retryable('ERR_DOWNLOAD_SHORT', `got ${seg.pos - seg.start} of ${seg.end - seg.start} bytes`);
    }
  }

  #checkSize(total: number | undefined): void {
    const expected = this.#o.expectedSize;
    if (expected !== undefined && total !== undefined && total !== expected) {
      throw final(
        'ERR_DOWNLOAD_SIZE',
        `the server offers ${total} bytes but the API says the file has ${expected}; not saved`,
      );
    }
  }

  async #write(data: Buffer, seg: Segment, generation: AbortController, release: boolean): Promise<void> {
    const handle = this.#handle;
    if (!handle) throw new Superseded();
    const position = seg.pos;
    const write = handle.write(data, position);
    this.#inflight.add(write);
    try {
      await write;
    } finally {
      this.#inflight.delete(write);
    }
    if (generation.signal.aborted) throw new Superseded();
    if (position === this.#hashedUpTo) {
      this.#hash.update(data);
      this.#hashedUpTo += data.length;
    }
    // Written and hashed (or to be hashed from the disk): nothing reads these bytes again.
    if (release) chunkReleaser.release(data);
    seg.pos += data.length;
    this.#o.onBytes?.(data.length);
    this.#unsynced += data.length;
    // A split file is checkpointed more often: each flush moves the positions a resumed segment starts from.
    const every = this.#segments.length > 1 ? SYNC_SPLIT_EVERY_BYTES : SYNC_EVERY_BYTES;
    if (this.#unsynced >= every && this.#syncing === undefined) {
      this.#unsynced = 0;
      this.#syncing = this.#flushSoFar().finally(() => {
        this.#syncing = undefined;
      });
    }
  }

  /**
   * Flushes what a large file has written so far, in the background, while the transfer goes on: without it,
   * gigabytes of dirty pages wait for the final fsync. For a split file the flushed positions then become the
   * checkpoint a later run resumes each segment from.
   */
  async #flushSoFar(): Promise<void> {
    const positions = this.#segments.map((s) => [s, s.pos] as const);
    try {
      await this.#handle?.datasync();
    } catch {
      return; // best effort: the fsync before the rename is what completeness rests on
    }
    for (const [seg, pos] of positions) seg.synced = pos;
    if (this.#segments.length > 1) await this.#checkpoint();
  }

  async #checkpoint(): Promise<boolean> {
    if (this.#generation.signal.aborted || this.#settled) return false;
    try {
      await this.#o.resumeStore.set({
        validator: this.#validator,
        total: this.#total,
        segments: this.#segments.map((s) => [s.start, Math.min(s.synced, s.pos), s.end]),
      });
      return true;
    } catch {
      // A lost periodic checkpoint only means a resumed segment starts earlier.
      return false;
    }
  }

  async #finish(): Promise<DownloadResult> {
    const total = this.#total;
    if (total === undefined || this.#segments.some((s) => s.pos < s.end)) {
      throw retryable('ERR_DOWNLOAD_SHORT', 'the download ended before every byte arrived');
    }
    const handle = await this.#open();
    await this.#syncing?.catch(() => {});
    // A restart or a kept .part may have left bytes of a longer, older object past the end; a .part created empty
    // for this object cannot have any.
    if (this.#restarts > 0 || this.#resumedFrom > 0 || this.#segmentCount > 1) await handle.truncate(total);
    await hashRange(this.part, this.#hash, this.#hashedUpTo, total);
    this.#checkSize(total);
    // fsync before the rename: the bytes are on disk before the file can be seen under its name.
    await handle.sync();
    this.#handle = undefined;
    await handle.close();
    const sha256 = this.#hash.digest('hex');
    const names = this.#o.knownDirs?.get(path.dirname(this.#o.dest));
    const { movedAside, adopted } = await place(this.part, this.#o.dest, sha256, names);
    await this.#o.resumeStore.set(undefined);
    // No fsync of the folder: if a crash loses the rename, the next run finds the file missing and fetches it
    // again, because the manifest is always checked against the disk.
    return {
      bytes: total,
      sha256,
      resumedFrom: this.#resumedFrom,
      attempts: this.#attempts,
      urlRefreshes: this.#urlRefreshes,
      restarts: this.#restarts,
      segments: this.#segmentCount,
      movedAside,
      adopted,
    };
  }
}
