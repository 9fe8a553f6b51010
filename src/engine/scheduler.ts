/**
 * The lanes: a p-limit pool whose size the lane controller sets, fed one transfer (or one segment of one) per
 * lane. When lanes are free and nothing is queued, the file with the most bytes left is split, so a large video
 * does not end the run on a single connection while every other lane idles.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { LaneController } from './lanes.js';
import type { FileTransfer } from './transfer.js';

export interface SchedulerOptions {
  lanes: LaneController;
  /** Split only segments that leave both halves at least this large. @default 4 MiB */
  minSegmentBytes?: number;
  /** Allow splitting at all. @default true */
  split?: boolean;
  /** How often the lane controller measures, in ms. @default 500 */
  tickMs?: number;
  /** Whether `--limit-rate` held the throughput since the last call: then more lanes cannot help, and none grow. */
  rateLimited?: (() => boolean) | undefined;
}

export class Scheduler {
  readonly lanes: LaneController;
  #limit: LimitFunction;
  #transfers = new Set<FileTransfer>();
  #minSegment: number;
  #split: boolean;
  #timer: NodeJS.Timeout | undefined;
  #splitting = false;
  #jobs = new Set<Promise<void>>();

  constructor(options: SchedulerOptions) {
    this.lanes = options.lanes;
    this.#limit = pLimit(options.lanes.limit);
    this.#minSegment = options.minSegmentBytes ?? 4 * 1024 * 1024;
    this.#split = options.split ?? true;
    this.lanes.onChange((limit) => {
      this.#limit.concurrency = limit;
      void this.#maybeSplit();
    });
    this.#timer = setInterval(() => {
      // The lanes were the limit when work was waiting for them (not when the listing was).
      const limited = options.rateLimited?.() ?? false;
      this.lanes.tick(this.#isBusy() && !limited);
      void this.#maybeSplit();
    }, options.tickMs ?? 500);
    this.#timer.unref();
  }

  #isBusy(): boolean {
    return this.#limit.activeCount >= this.#limit.concurrency || this.#limit.pendingCount > 0;
  }

  /** Queues one lane's job. The promise settles when the job has run (or was dropped by an abort). */
  run(job: () => Promise<void>): Promise<void> {
    const tracked = this.#limit(job).finally(() => {
      this.#jobs.delete(tracked);
      // A lane came free: if nothing is queued, it may take half of a large file.
      setImmediate(() => void this.#maybeSplit());
    });
    this.#jobs.add(tracked);
    return tracked;
  }

  /**
   * Runs `transfer` on a lane (calling `onStart` when the lane takes it), and lets the scheduler split it later.
   * Nothing queued is ever dropped: after an abort, queued jobs run and end at once, so every file settles.
   */
  transfer(transfer: FileTransfer, onStart?: () => void): Promise<void> {
    this.#transfers.add(transfer);
    void transfer.result.then(
      () => this.#transfers.delete(transfer),
      () => this.#transfers.delete(transfer),
    );
    return this.run(async () => {
      onStart?.();
      await transfer.run();
    });
  }

  /** No more files will come: free lanes may split the remaining files now. */
  drain(): void {
    void this.#maybeSplit();
  }

  /** Every job queued so far has settled (including split segments queued meanwhile). */
  async idle(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #maybeSplit(): Promise<void> {
    if (!this.#split || this.#splitting) return;
    this.#splitting = true;
    try {
      // Free lanes and nothing waiting: the files still running are the tail of the run.
      while (this.#limit.pendingCount === 0 && this.#limit.activeCount < this.#limit.concurrency) {
        const candidates = [...this.#transfers].sort((a, b) => b.remaining - a.remaining);
        let split = false;
        for (const transfer of candidates) {
          if (transfer.remaining < 2 * this.#minSegment) break;
          if (await transfer.split(this.#minSegment)) {
            split = true;
            break;
          }
        }
        if (!split) break;
        // Let the new segment take its lane before counting free ones again.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#splitting = false;
    }
  }
}
