import type cliProgress from 'cli-progress';
import type { BackupEvent } from '../run/accounting.js';
import type { FileJob } from '../run/plan.js';
import { formatBytes, formatDuration, plural } from './format.js';

interface Totals {
  files: number;
  done: number;
  skipped: number;
  failed: number;
  /** Files of assets deleted on Runway before they could be fetched. */
  gone: number;
  bytes: number;
  started: number;
  /** Parallel transfers, once `--concurrency auto` has said. */
  lanes?: number | undefined;
}

/** A transfer under way: bytes so far, the size it announced, and its bar when bars are drawn. */
export interface ActiveFile {
  bytes: number;
  total: number | undefined;
  bar: cliProgress.SingleBar | undefined;
}

/** Where a tally puts the bars of its files when they are drawn (on a terminal). */
export interface FileBars {
  create(file: FileJob): cliProgress.SingleBar;
  remove(bar: cliProgress.SingleBar): void;
}

/**
 * The counts of a run, from its events: files planned and ended, bytes moved, the transfers under way, and the
 * summary line the bars and the plain lines both show. Counting only: nothing here draws or waits.
 */
export class ProgressTally {
  readonly totals: Totals;
  readonly active = new Map<FileJob, ActiveFile>();
  /** Set once bars are drawn: each transfer then gets one. */
  bars: FileBars | undefined;
  // Files of each asset not finished yet: a deleted asset ends all of its remaining files at once.
  readonly #remaining = new Map<string, number>();
  readonly #rate: { perSecond(total: number): number };

  constructor(started = Date.now()) {
    this.totals = { files: 0, done: 0, skipped: 0, failed: 0, gone: 0, bytes: 0, started };
    this.#rate = createRate(started);
  }

  // Every way a file can end, gone ones included: the bar and the plain line count the same.
  finishedFiles(): number {
    const { totals } = this;
    return totals.done + totals.skipped + totals.failed + totals.gone;
  }

  summaryLine(): string {
    const { totals } = this;
    const elapsed = (Date.now() - totals.started) / 1000;
    const perSecond = this.#rate.perSecond(totals.bytes);
    const finished = this.finishedFiles();
    const eta = this.#eta(elapsed, perSecond, totals.files - finished);
    return `${finished}/${plural(totals.files, 'file')} | ${formatBytes(totals.bytes)} | ${formatBytes(perSecond)}/s | ETA ${formatDuration(eta)}${totals.failed ? ` | ${totals.failed} failed` : ''}${totals.gone ? ` | ${totals.gone} gone` : ''}${totals.lanes ? ` | ${totals.lanes} lanes` : ''}`;
  }

  /** Seconds until the `left` files are done, `elapsed` s into the run at `perSecond`; NaN when no telling yet. */
  #eta(elapsed: number, perSecond: number, left: number): number {
    const { totals } = this;
    let eta = Number.NaN;
    if (perSecond > 0 && left > 0) {
      if (totals.done > 0) eta = (elapsed / totals.done) * left;
      else if (totals.bytes >= 1_000_000) {
        // Nothing finished yet (one large file, say): estimate from the sizes the transfers announced, once enough
        // has moved for the rate to mean something (the first kilobytes would promise a run of minutes).
        const sized = [...this.active.values()].filter((s) => s.total !== undefined);
        if (sized.length > 0) {
          const average = sized.reduce((sum, s) => sum + (s.total ?? 0), 0) / sized.length;
          const inFlight = sized.reduce((sum, s) => sum + Math.max(0, (s.total ?? 0) - s.bytes), 0);
          eta = (inFlight + Math.max(0, left - sized.length) * average) / perSecond;
        }
      }
    }
    return eta;
  }

  count(event: BackupEvent): void {
    const { totals } = this;
    switch (event.type) {
      case 'lanes':
        totals.lanes = event.lanes;
        break;
      case 'asset':
        totals.files += event.files;
        this.#remaining.set(
          event.asset.assetId,
          (this.#remaining.get(event.asset.assetId) ?? 0) + event.files,
        );
        break;
      case 'file-start':
        this.#start(event.file);
        break;
      case 'file-size': {
        const state = this.active.get(event.file);
        if (state) {
          state.bytes = event.offset;
          if (event.total !== undefined) {
            state.total = event.total;
            state.bar?.setTotal(event.total);
          }
        }
        break;
      }
      case 'file-bytes': {
        totals.bytes += event.bytes;
        const state = this.active.get(event.file);
        if (state) state.bytes += event.bytes;
        break;
      }
      case 'file-done':
      case 'file-failed': {
        if (event.type === 'file-done') totals.done++;
        else totals.failed++;
        this.#settle(event.file, 1);
        break;
      }
      case 'file-skipped':
        totals.skipped++;
        this.#settle(event.file, 1);
        break;
      case 'file-gone': {
        // The asset was deleted on Runway: its files not started yet will never be, so they end here too.
        const left = Math.max(1, this.#remaining.get(event.file.assetId) ?? 1);
        totals.gone += left;
        this.#settle(event.file, left);
        break;
      }
      default:
        break;
    }
  }

  #start(file: FileJob): void {
    // A file can start twice (retried with a fresh URL after a 404): its first bar goes, or it stays orphaned.
    const previous = this.active.get(file)?.bar;
    if (previous) this.bars?.remove(previous);
    this.active.set(file, { bytes: 0, total: file.expectedBytes, bar: this.bars?.create(file) });
  }

  /** `file` has ended, and with it `files` files of its asset (more than one when the asset is gone). */
  #settle(file: FileJob, files: number): void {
    const state = this.active.get(file);
    if (state?.bar) this.bars?.remove(state.bar);
    this.active.delete(file);
    const left = (this.#remaining.get(file.assetId) ?? files) - files;
    if (left > 0) this.#remaining.set(file.assetId, left);
    else this.#remaining.delete(file.assetId);
  }
}

/**
 * Bytes per second over the last few seconds, so the rate follows the present, not the run's average. Seeded with
 * the start of the run, so the first reading is already a rate (not 0 B/s after megabytes have moved).
 */
function createRate(started: number): { perSecond(total: number): number } {
  const samples: { at: number; total: number }[] = [{ at: started, total: 0 }];
  return {
    perSecond(total) {
      const now = Date.now();
      samples.push({ at: now, total });
      // Keep one sample at least 5 s old as the base, once there is one.
      while (samples.length > 2 && now - samples[1]!.at >= 5000) samples.shift();
      const first = samples[0]!;
      const seconds = (now - first.at) / 1000;
      return (total - first.total) / Math.max(seconds, 0.2);
    },
  };
}
