// src/engine/: moving bytes. One file's transfer (this file, with transfer-types and transfer-errors), its plan of
// byte ranges (segments), its requests (segment-request), the receiving of an answer (receive), its .part
// (part-writer), the part file, the transport, lanes, the scheduler, chunk release and the final placement.
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
import { setMaxListeners } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AbortError } from '../errors.js';
import { ensureDir, fileSize, isDiskError, toDiskError } from '../fsutil.js';
import { withRetries } from '../retry.js';
import { chunkReleaser } from './chunk-release.js';
import { nodePartIO } from './part-file.js';
import { PartWriter } from './part-writer.js';
import { place } from './place.js';
import { type Receiver, receive } from './receive.js';
import { SegmentRequests } from './segment-request.js';
import { resumable, type Segment, SegmentPlan } from './segments.js';
import { final, retryable, StartOver, Superseded, segmentVerdict } from './transfer-errors.js';
import type { DownloadResult, TransferOptions } from './transfer-types.js';
import { nodeTransport } from './transport.js';

export { OVERLAP_BYTES, parseContentRange, type ResumeState, validatorOf } from './segments.js';
export type { DownloadResult, ResumeStore, ThrottleReason, TransferOptions } from './transfer-types.js';

/** Bytes written between two background flushes (and split-state checkpoints) of a large file. */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;
const SYNC_SPLIT_EVERY_BYTES = 8 * 1024 * 1024;

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

/**
 * A file being fetched. `run()` is the first lane's job; `split()` hands another lane a segment of the rest;
 * `result` settles once, when every segment is done (or the file failed). Its byte ranges are a SegmentPlan
 * (segments.ts), its `.part` a PartWriter (part-writer.ts); each request goes out through segment-request.ts and
 * its answer comes in through receive.ts. Kept here: the lanes and generations of the file, its retries and
 * restarts, its checkpoints and its end.
 */
export class FileTransfer {
  readonly result: Promise<DownloadResult>;
  readonly part: string;
  #o: TransferOptions;
  #plan = new SegmentPlan();
  #writer: PartWriter;
  #requests: SegmentRequests;
  /** What receive() needs of this file: see Receiver. */
  #receiver: Receiver;
  /** Replaced on each restart; aborting it voids every lane's work on the old object. */
  #generation = newGeneration();
  #jobs = 0;
  /** The lanes fetching a segment of this file right now. */
  #lanes = new Set<Lane>();
  #started = false;
  #settled = false;
  #failure: unknown;
  #restarts = 0;
  #resumedFrom = 0;
  #resolve!: (result: DownloadResult) => void;
  /** Ctrl-C: every lane of this file stops, through the generation's signal. */
  readonly #onAbort = (): void => this.#generation.abort();
  #reject!: (error: unknown) => void;

  constructor(options: TransferOptions) {
    this.#o = options;
    this.part = `${options.dest}.part`;
    this.#writer = new PartWriter(options.io ?? nodePartIO, this.part);
    this.#requests = new SegmentRequests(options, options.transport ?? nodeTransport);
    this.#receiver = {
      plan: this.#plan,
      url: () => this.#requests.url,
      gate: options.gate,
      onThrottle: options.onThrottle,
      checkSize: (total) => this.#checkSize(total),
      record: async (state) => options.resumeStore.set(state),
      announce: (seg, ranged) => this.#announce(seg, ranged),
      open: () => this.#writer.open(),
      write: (data, seg, voided, release) => this.#write(data, seg, voided, release),
    };
    this.result = new Promise<DownloadResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // The caller may learn of a failure through `run()` first; an unobserved rejection must not crash the process.
    this.result.catch(() => {});
  }

  /** Bytes still to fetch (Infinity while the size is unknown). */
  get remaining(): number {
    return this.#plan.remaining;
  }

  /** The first lane's job: prepares the `.part`, then fetches (the first segment of) the file. */
  async run(): Promise<void> {
    this.#jobs++;
    try {
      if (this.#o.signal?.aborted) throw new AbortError();
      this.#o.signal?.addEventListener('abort', this.#onAbort, { once: true });
      await this.#prepare();
      const [first, ...others] = this.#plan.segments.filter((s) => s.pos < s.end);
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
    if (!this.#started || this.#settled || !this.#plan.splittable || this.#generation.signal.aborted)
      return false;
    const cut = this.#plan.split(minBytes);
    if (!cut) return false;
    const { from, seg } = cut;
    // The split is on record before the new segment writes a byte: a run killed after that must resume each
    // segment, never read the sparse .part as one contiguous prefix. Meanwhile the split counts as a job: the
    // shortened segment may reach its new end first, and the file must not settle with the new one unfetched.
    this.#jobs++;
    try {
      if (!(await this.#checkpoint())) {
        this.#plan.unsplit(from, seg);
        // Meanwhile the shortened segment may have reached the midpoint and its lane gone: the range it gave up
        // is its own again, and someone must fetch it (a lane still on it fetches on by itself).
        if (from.pos < from.end && ![...this.#lanes].some((lane) => lane.seg === from)) this.#spawn(from);
        return false;
      }
      this.#plan.count++;
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
        if (!this.#settled && !this.#generation.signal.aborted && this.#plan.segments.includes(seg))
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
      await this.#writer.close();
      this.#reject(isDiskError(error) ? toDiskError(error, this.#o.dest) : error);
    }
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
    const kept = resumable(state, partBytes);
    if (kept) this.#writer.keep();
    // Hashed before asking: a multi-GB .part on a slow disk must not keep a connection idle into a timeout.
    if (kept?.kind === 'prefix') await this.#writer.hashPrefix(kept.bytes);
    this.#plan.resume(kept);
    if (kept?.kind === 'segments') this.#resumedFrom = this.#plan.held;
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
      (error) => segmentVerdict(error, lane.generation.signal, this.#o.signal, this.#o.onThrottle),
      { retries, backoffBaseMs, signal: this.#o.signal, onRetry: (info) => this.#o.onRetry?.(info) },
    );
  }

  /** Starts the file over from byte 0 on the lane that asks; every other lane's work on it is void. */
  async #restart(): Promise<Segment> {
    this.#restarts++;
    this.#generation.abort();
    this.#generation = newGeneration();
    await this.#writer.quiesce();
    this.#plan.startOver();
    this.#writer.rehash();
    this.#resumedFrom = 0;
    // The fresh start is announced again (progress counts from 0 bytes) and counts its own segments.
    this.#started = false;
    // Forget the old state before touching the bytes: a crash in between must not resume against a truncated file.
    await this.#o.resumeStore.set(undefined);
    await this.#writer.empty();
    return this.#plan.segments[0] as Segment;
  }

  /** One request for `seg`, and its body into the `.part`. */
  async #attempt(lane: Lane): Promise<void> {
    const { seg, generation } = lane;
    // The request's own signal follows the file's generation: a restart by any lane, or Ctrl-C (linked to the
    // generation in run()), aborts it; one listener per request instead of an AbortSignal.any per request.
    const request = new AbortController();
    const link: Link = { signal: generation.signal, abort: () => request.abort() };
    link.signal.addEventListener('abort', link.abort, { once: true });
    try {
      const { response, back } = await this.#requests.send(this.#plan, seg, request.signal);
      try {
        await receive(this.#receiver, seg, generation.signal, response, back);
      } finally {
        response.destroy();
      }
    } finally {
      link.signal.removeEventListener('abort', link.abort);
    }
  }

  /** An answer fits `seg` (`ranged`: a 206): counts the bytes kept before it, and announces the file's start. */
  #announce(seg: Segment, ranged: boolean): void {
    // A ranged answer to the first segment continues it: the bytes before its position were kept. On the file's
    // first answer, the bytes kept from the .part: for a resumed split file, those of every segment (from
    // #prepare), not the position of whichever segment happened to answer first.
    if (seg.start === 0 && (ranged || !this.#started))
      this.#resumedFrom = Math.max(this.#resumedFrom, seg.pos);
    if (this.#started) return;
    this.#started = true;
    this.#o.onStart?.({ total: this.#plan.total, offset: this.#resumedFrom });
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

  async #write(data: Buffer, seg: Segment, voided: AbortSignal, release: boolean): Promise<void> {
    // The budget is spent before the write, so the next read of the socket waits too (TCP slows the sender).
    await this.#o.rateLimit?.take(data.length, voided);
    await this.#writer.write(data, seg.pos, voided);
    // Written and hashed (or to be hashed from the disk): nothing reads these bytes again.
    if (release) chunkReleaser.release(data);
    chunkReleaser.received(data.length);
    seg.pos += data.length;
    this.#o.onBytes?.(data.length);
    // A split file is checkpointed more often: each flush moves the positions a resumed segment starts from.
    const every = this.#plan.isSplit ? SYNC_SPLIT_EVERY_BYTES : SYNC_EVERY_BYTES;
    this.#writer.written(data.length, every, () => this.#flushSoFar());
  }

  /**
   * Flushes what a large file has written so far, in the background, while the transfer goes on: without it,
   * gigabytes of dirty pages wait for the final fsync. For a split file the flushed positions then become the
   * checkpoint a later run resumes each segment from.
   */
  async #flushSoFar(): Promise<void> {
    const positions = this.#plan.segments.map((s) => [s, s.pos] as const);
    // Best effort: the fsync before the rename is what completeness rests on.
    if (!(await this.#writer.datasync())) return;
    for (const [seg, pos] of positions) seg.synced = pos;
    if (this.#plan.isSplit) await this.#checkpoint();
  }

  async #checkpoint(): Promise<boolean> {
    if (this.#generation.signal.aborted || this.#settled) return false;
    try {
      await this.#o.resumeStore.set(this.#plan.checkpoint());
      return true;
    } catch {
      // A lost periodic checkpoint only means a resumed segment starts earlier.
      return false;
    }
  }

  async #finish(): Promise<DownloadResult> {
    const plan = this.#plan;
    const total = plan.total;
    if (total === undefined || !plan.complete) {
      throw retryable('ERR_DOWNLOAD_SHORT', 'the download ended before every byte arrived');
    }
    // A restart or a kept .part may have left bytes of a longer, older object past the end; a .part created empty
    // for this object cannot have any.
    await this.#writer.hashTo(total, this.#restarts > 0 || this.#resumedFrom > 0 || plan.count > 1);
    this.#checkSize(total);
    // fsync before the rename: the bytes are on disk before the file can be seen under its name.
    const sha256 = await this.#writer.seal();
    const names = this.#o.knownDirs?.get(path.dirname(this.#o.dest));
    const { movedAside, adopted } = await place(this.part, this.#o.dest, sha256, names);
    const store = this.#o.resumeStore;
    await (store.placed ? store.placed() : store.set(undefined));
    // No fsync of the folder: if a crash loses the rename, the next run finds the file missing and fetches it
    // again, because the manifest is always checked against the disk.
    return {
      bytes: total,
      sha256,
      resumedFrom: this.#resumedFrom,
      attempts: this.#requests.sent,
      urlRefreshes: this.#requests.refreshes,
      restarts: this.#restarts,
      segments: plan.count,
      movedAside,
      adopted,
    };
  }
}
