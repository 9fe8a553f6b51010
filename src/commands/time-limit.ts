/**
 * `--max-duration`: when the time is up, the run stops as a first Ctrl-C stops it (no new work, transfers parked
 * with their `.part` files, the manifest written), so that a nightly job ends before the working day starts and
 * the next night resumes. Told apart from Ctrl-C in the exit code (75) and the run record (`stopped`).
 */
import { formatDuration } from '../report/format.js';

export interface TimeLimit {
  /** Whether the limit ended the run. */
  readonly reached: boolean;
  stop(): void;
}

export function startTimeLimit(
  ms: number | undefined,
  controller: AbortController,
  warn: (line: string) => void,
): TimeLimit {
  let reached = false;
  if (ms === undefined) return { reached, stop: () => {} };
  const timer = setTimeout(() => {
    if (controller.signal.aborted) return;
    reached = true;
    warn(
      `time limit reached (--max-duration ${formatDuration(ms / 1000)}): finishing what is in flight; the next run resumes`,
    );
    controller.abort();
  }, ms);
  // A run that ends early must not wait for the timer.
  timer.unref();
  return {
    get reached() {
      return reached;
    },
    stop: () => clearTimeout(timer),
  };
}
