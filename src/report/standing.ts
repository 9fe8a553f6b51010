/**
 * Standing conditions: what the last run already reported and nothing has changed since (the same capped windows,
 * no more seen in them). A quiet nightly run does not repeat them on stderr (cron would mail them every night);
 * they stay in the summary, `--json` and `status`. A new or grown condition is said once, the night it appears.
 */
import { lastSummary, type RunRecord } from './run-record.js';

export function windowKey(account: string | undefined, window: string): string {
  return `${account ?? ''}\u0000${window}`;
}

/** The capped windows of the last run that listed, by account and window, with the count it saw in each. */
export function standingWindows(record: RunRecord | undefined): Map<string, number> {
  const standing = new Map<string, number>();
  for (const c of lastSummary(record)?.cappedWindows ?? [])
    standing.set(windowKey(c.account, c.window), c.seen);
  return standing;
}

/** Whether a capped window of this run was already reported, as large, by the last one. */
export function isStanding(
  standing: ReadonlyMap<string, number>,
  account: string | undefined,
  window: string,
  seen: number,
): boolean {
  const before = standing.get(windowKey(account, window));
  return before !== undefined && seen <= before;
}
