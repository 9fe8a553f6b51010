import type cliProgress from 'cli-progress';
import type { RetryInfo } from '../api/client.js';
import type { BackupEvent } from '../run/accounting.js';
import type { FileJob } from '../run/plan.js';
import { formatBytes, formatDuration, plural, printable, truncate } from './format.js';

export interface ProgressOptions {
  /** Where to draw; the CLI passes process.stderr. */
  stream: NodeJS.WriteStream;
  /** Bars when true; plain periodic lines when false. */
  tty: boolean;
  /** Nothing but warnings. */
  quiet: boolean;
  /** Milliseconds between plain lines. @default 5000 */
  intervalMs?: number;
}

export interface ProgressReporter {
  onEvent(event: BackupEvent): void;
  /** Prints a line above the bars (or plainly). */
  log(line: string): void;
  stop(): void;
}

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

/**
 * The line for a retry of an API request, or undefined for a single quick one (a blip is not news; persistent
 * trouble is announced within a second or two instead of after the last attempt).
 */
export function retryNotice(info: RetryInfo, retries: number): string | undefined {
  if (info.attempt < 2 && info.delayMs < 1000) return undefined;
  const seconds = info.delayMs / 1000;
  const wait = seconds < 10 ? seconds.toFixed(1) : String(Math.round(seconds));
  return `API request failed (${info.reason}); retrying in ${wait}s (attempt ${info.attempt + 1}/${retries + 1})`;
}

/**
 * Turns backup events into bars or lines. Byte events only bump counters; drawing happens on a timer, so progress
 * costs the download loop a few additions per chunk and nothing more.
 */
export async function createProgress(options: ProgressOptions): Promise<ProgressReporter> {
  const { stream, tty, quiet, intervalMs = 5000 } = options;
  const totals: Totals = {
    files: 0,
    done: 0,
    skipped: 0,
    failed: 0,
    gone: 0,
    bytes: 0,
    started: Date.now(),
  };
  const active = new Map<
    FileJob,
    { bytes: number; total: number | undefined; bar: cliProgress.SingleBar | undefined }
  >();
  // Files of each asset not finished yet: a deleted asset ends all of its remaining files at once.
  const remaining = new Map<string, number>();
  const rate = createRate(totals.started);

  const write = (line: string): void => {
    stream.write(`${line}\n`);
  };
  // Every way a file can end, gone ones included: the bar and the plain line count the same.
  const finishedFiles = (): number => totals.done + totals.skipped + totals.failed + totals.gone;
  const summaryLine = (): string => {
    const elapsed = (Date.now() - totals.started) / 1000;
    const perSecond = rate.perSecond(totals.bytes);
    const finished = finishedFiles();
    const left = totals.files - finished;
    let eta = Number.NaN;
    if (perSecond > 0 && left > 0) {
      if (totals.done > 0) eta = (elapsed / totals.done) * left;
      else if (totals.bytes >= 1_000_000) {
        // Nothing finished yet (one large file, say): estimate from the sizes the transfers announced, once enough
        // has moved for the rate to mean something (the first kilobytes would promise a run of minutes).
        const sized = [...active.values()].filter((s) => s.total !== undefined);
        if (sized.length > 0) {
          const average = sized.reduce((sum, s) => sum + (s.total ?? 0), 0) / sized.length;
          const inFlight = sized.reduce((sum, s) => sum + Math.max(0, (s.total ?? 0) - s.bytes), 0);
          eta = (inFlight + Math.max(0, left - sized.length) * average) / perSecond;
        }
      }
    }
    return `${finished}/${plural(totals.files, 'file')} | ${formatBytes(totals.bytes)} | ${formatBytes(perSecond)}/s | ETA ${formatDuration(eta)}${totals.failed ? ` | ${totals.failed} failed` : ''}${totals.gone ? ` | ${totals.gone} gone` : ''}${totals.lanes ? ` | ${totals.lanes} lanes` : ''}`;
  };

  if (quiet) {
    return {
      onEvent(event) {
        if (event.type === 'file-failed') write(`failed: ${printable(event.file.path)}: ${event.reason}`);
      },
      log: () => {},
      stop: () => {},
    };
  }

  if (!tty) {
    // A line as soon as bytes flow, then one per interval, and a last one at the end: even a run of a few seconds
    // leaves a trace in a log, and a slow start is not mistaken for a hang. Nothing while there is nothing to count
    // (a long listing, a retried first request): `0/0 files | 0 B` every few seconds says nothing; the listing's
    // own notices say what is going on.
    let flowing = false;
    const line = (): void => write(summaryLine());
    const timer = setInterval(() => {
      if (totals.files > 0 || totals.bytes > 0) line();
    }, intervalMs);
    timer.unref();
    return {
      onEvent(event) {
        count(event);
        if (event.type === 'file-failed') write(`failed: ${printable(event.file.path)}: ${event.reason}`);
        if (event.type === 'file-bytes' && !flowing) {
          flowing = true;
          line();
        }
      },
      log: write,
      stop() {
        clearInterval(timer);
        if (totals.files > 0) line();
      },
    };
  }

  // Loaded only when bars are drawn: quiet and unattended runs do not pay for it in start-up time or memory.
  const { default: bars } = await import('cli-progress');
  const multibar = new bars.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: true,
      gracefulExit: false,
      autopadding: true,
      fps: 8,
      format: ' {bar} {percentage}% | {name}',
      barsize: 24,
    },
    bars.Presets.shades_classic,
  );
  const overall = multibar.create(1, 0, { name: '' }, { format: ' {bar} {value}/{total} files | {name}' });
  const timer = setInterval(draw, 250);
  timer.unref();

  function draw(): void {
    overall.setTotal(Math.max(1, totals.files));
    overall.update(finishedFiles(), {
      name: summaryLine().split(' | ').slice(1).join(' | '),
    });
    for (const state of active.values()) {
      state.bar?.update(state.bytes);
    }
  }

  function settle(file: FileJob, files: number): void {
    const state = active.get(file);
    if (state?.bar) multibar.remove(state.bar);
    active.delete(file);
    const left = (remaining.get(file.assetId) ?? files) - files;
    if (left > 0) remaining.set(file.assetId, left);
    else remaining.delete(file.assetId);
  }

  function count(event: BackupEvent): void {
    switch (event.type) {
      case 'lanes':
        totals.lanes = event.lanes;
        break;
      case 'asset':
        totals.files += event.files;
        remaining.set(event.asset.assetId, (remaining.get(event.asset.assetId) ?? 0) + event.files);
        break;
      case 'file-start': {
        // A file can start twice (retried with a fresh URL after a 404): its first bar goes, or it stays orphaned.
        const previous = active.get(event.file)?.bar;
        if (previous) multibar.remove(previous);
        active.set(event.file, {
          bytes: 0,
          total: event.file.expectedBytes,
          bar: tty
            ? multibar.create(event.file.expectedBytes ?? 1, 0, {
                name: truncate(printable(event.file.path.split('/').pop() ?? ''), 48),
              })
            : undefined,
        });
        break;
      }
      case 'file-size': {
        const state = active.get(event.file);
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
        const state = active.get(event.file);
        if (state) state.bytes += event.bytes;
        break;
      }
      case 'file-done':
      case 'file-failed': {
        if (event.type === 'file-done') totals.done++;
        else totals.failed++;
        settle(event.file, 1);
        break;
      }
      case 'file-skipped':
        totals.skipped++;
        settle(event.file, 1);
        break;
      case 'file-gone': {
        // The asset was deleted on Runway: its files not started yet will never be, so they end here too.
        const left = Math.max(1, remaining.get(event.file.assetId) ?? 1);
        totals.gone += left;
        settle(event.file, left);
        break;
      }
      default:
        break;
    }
  }

  return {
    onEvent(event) {
      count(event);
      if (event.type === 'file-failed')
        multibar.log(`failed: ${printable(event.file.path)}: ${event.reason}\n`);
    },
    log(line) {
      multibar.log(`${line}\n`);
    },
    stop() {
      clearInterval(timer);
      draw();
      multibar.stop();
    },
  };
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
