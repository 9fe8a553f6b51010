import type { RetryInfo } from '../api/client.js';
import type { BackupEvent } from '../run/accounting.js';
import { printable, truncate } from './format.js';
import { ProgressTally } from './progress-tally.js';

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
  const tally = new ProgressTally();
  const write = (line: string): void => {
    stream.write(`${line}\n`);
  };
  if (quiet) return quietReporter(write);
  if (!tty) return lineReporter(tally, write, intervalMs);
  return barReporter(tally, stream);
}

type FileFailed = Extract<BackupEvent, { type: 'file-failed' }>;

function failedLine(event: FileFailed): string {
  return `failed: ${printable(event.file.path)}: ${event.reason}`;
}

/** Nothing but failures. */
function quietReporter(write: (line: string) => void): ProgressReporter {
  return {
    onEvent(event) {
      if (event.type === 'file-failed') write(failedLine(event));
    },
    log: () => {},
    stop: () => {},
  };
}

/** Plain summary lines, for logs and pipes. */
function lineReporter(
  tally: ProgressTally,
  write: (line: string) => void,
  intervalMs: number,
): ProgressReporter {
  // A line as soon as bytes flow, then one per interval, and a last one at the end: even a run of a few seconds
  // leaves a trace in a log, and a slow start is not mistaken for a hang. Nothing while there is nothing to count
  // (a long listing, a retried first request): `0/0 files | 0 B` every few seconds says nothing; the listing's
  // own notices say what is going on.
  const { totals } = tally;
  let flowing = false;
  const line = (): void => write(tally.summaryLine());
  const timer = setInterval(() => {
    if (totals.files > 0 || totals.bytes > 0) line();
  }, intervalMs);
  timer.unref();
  return {
    onEvent(event) {
      tally.count(event);
      if (event.type === 'file-failed') write(failedLine(event));
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

/** Bars on a terminal: one for the run, one per transfer under way. */
async function barReporter(tally: ProgressTally, stream: NodeJS.WriteStream): Promise<ProgressReporter> {
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
    overall.setTotal(Math.max(1, tally.totals.files));
    overall.update(tally.finishedFiles(), {
      name: tally.summaryLine().split(' | ').slice(1).join(' | '),
    });
    for (const state of tally.active.values()) {
      state.bar?.update(state.bytes);
    }
  }

  tally.bars = {
    create: (file) =>
      multibar.create(file.expectedBytes ?? 1, 0, {
        name: truncate(printable(file.path.split('/').pop() ?? ''), 48),
      }),
    remove: (bar) => {
      multibar.remove(bar);
    },
  };
  return {
    onEvent(event) {
      tally.count(event);
      if (event.type === 'file-failed') multibar.log(`${failedLine(event)}\n`);
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
