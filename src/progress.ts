import type cliProgress from 'cli-progress';
import type { BackupEvent, FileJob } from './backup.js';
import { formatBytes, formatDuration, printable, truncate } from './format.js';

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
  bytes: number;
  started: number;
}

/**
 * Turns backup events into bars or lines. Byte events only bump counters; drawing happens on a timer, so progress
 * costs the download loop a few additions per chunk and nothing more.
 */
export async function createProgress(options: ProgressOptions): Promise<ProgressReporter> {
  const { stream, tty, quiet, intervalMs = 5000 } = options;
  const totals: Totals = { files: 0, done: 0, skipped: 0, failed: 0, bytes: 0, started: Date.now() };
  const active = new Map<FileJob, { bytes: number; bar: cliProgress.SingleBar | undefined }>();
  const rate = createRate();

  const write = (line: string): void => {
    stream.write(`${line}\n`);
  };
  const summaryLine = (): string => {
    const elapsed = (Date.now() - totals.started) / 1000;
    const perSecond = rate.perSecond(totals.bytes);
    const finished = totals.done + totals.skipped + totals.failed;
    const left = totals.files - finished;
    const eta =
      perSecond > 0 && left > 0 && totals.done > 0 ? (elapsed / Math.max(1, totals.done)) * left : Number.NaN;
    return `${finished}/${totals.files} files | ${formatBytes(totals.bytes)} | ${formatBytes(perSecond)}/s | ETA ${formatDuration(eta)}${totals.failed ? ` | ${totals.failed} failed` : ''}`;
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
    const timer = setInterval(() => write(summaryLine()), intervalMs);
    timer.unref();
    return {
      onEvent(event) {
        count(event);
        if (event.type === 'file-failed') write(`failed: ${printable(event.file.path)}: ${event.reason}`);
      },
      log: write,
      stop() {
        clearInterval(timer);
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
    overall.update(totals.done + totals.skipped + totals.failed, {
      name: summaryLine().split(' | ').slice(1).join(' | '),
    });
    for (const state of active.values()) {
      state.bar?.update(state.bytes);
    }
  }

  function count(event: BackupEvent): void {
    switch (event.type) {
      case 'asset':
        totals.files += event.files;
        break;
      case 'file-start':
        active.set(event.file, {
          bytes: 0,
          bar: tty
            ? multibar.create(event.file.expectedBytes ?? 1, 0, {
                name: truncate(printable(event.file.path.split('/').pop() ?? ''), 48),
              })
            : undefined,
        });
        break;
      case 'file-size': {
        const state = active.get(event.file);
        if (state) {
          state.bytes = event.offset;
          if (event.total !== undefined) state.bar?.setTotal(event.total);
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
        const state = active.get(event.file);
        if (state?.bar) multibar.remove(state.bar);
        active.delete(event.file);
        break;
      }
      case 'file-skipped':
        totals.skipped++;
        break;
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

/** Bytes per second over the last few seconds, so the rate follows the present, not the run's average. */
function createRate(): { perSecond(total: number): number } {
  const samples: { at: number; total: number }[] = [];
  return {
    perSecond(total) {
      const now = Date.now();
      samples.push({ at: now, total });
      while (samples.length > 2 && now - samples[0]!.at > 5000) samples.shift();
      const first = samples[0]!;
      const seconds = (now - first.at) / 1000;
      return seconds > 0.2 ? (total - first.total) / seconds : 0;
    },
  };
}
