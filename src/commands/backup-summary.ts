// The summary of one backup as the human output's last lines (`describeSummary`), and a dry run's unwanted lines.
import { formatBytes, formatDuration, plural, printable } from '../report/format.js';
import type { BackupSummary, UnwantedAsset } from '../run/backup.js';
import { describeFilter } from '../store/wanted.js';

/** A window whose listing was cut short (request budget): more assets may exist than were backed up. */
export interface IncompleteWindow {
  account: string | undefined;
  window: string;
  seen: number;
}

/** `not fetched (forgotten 2026-11-30): video/…`, for a dry run. */
export function unwantedLine(u: UnwantedAsset): string {
  const why =
    u.reason === 'forgotten'
      ? `forgotten${u.since ? ` ${u.since.slice(0, 10)}` : ''}`
      : 'excluded by the config';
  return `not fetched (${why}): ${printable(u.path)}`;
}

export function describeSummary(s: BackupSummary, out: string): string {
  const incomplete: IncompleteWindow[] = s.incompleteWindows;
  const lines: string[] = [];
  const head = s.interrupted ? 'Interrupted' : s.dryRun ? 'Dry run' : 'Done';
  const assets = plural(s.assetsSeen, 'asset');
  lines.push(
    s.dryRun
      ? `${head}: ${assets}, ${plural(s.filesPlanned, 'file')} would be downloaded, ${s.filesSkipped} already in ${out}`
      : `${head} in ${formatDuration(s.seconds)}: ${assets}, ${plural(s.filesDownloaded, 'file')} downloaded (${formatBytes(s.bytesDownloaded)}), ${s.filesSkipped} already there, ${s.filesFailed} failed -> ${out}`,
  );
  if (s.moved.length > 0) {
    lines.push(
      `  ${plural(s.moved.length, 'file')} ${s.dryRun ? 'would be moved' : 'moved'} to the new layout (none downloaded again)`,
    );
  }
  for (const f of s.failures) lines.push(`  failed: ${printable(f.path)}: ${f.reason}`);
  for (const g of s.gone) lines.push(`  deleted on Runway before it could be fetched: ${printable(g.path)}`);
  if (s.skippedItems.length)
    lines.push(`  ${plural(s.skippedItems.length, 'unusable listing item')} skipped`);
  const { deleted, directory } = s.artifactsSkipped;
  if (deleted || directory) {
    lines.push(
      `  task history: ${deleted} deleted artifacts and ${directory} directories skipped (nothing to fetch)`,
    );
  }
  for (const c of s.cappedWindows) {
    const what = c.window === 'tasks' ? 'task history' : `${c.window} window`;
    lines.push(
      `  warning: ${what} capped (${c.seen} seen${c.account ? `, ${c.account}` : ''}): older assets may exist beyond it`,
    );
  }
  for (const w of incomplete) {
    lines.push(
      `  warning: listing cut short (${w.window}${w.account ? `, ${w.account}` : ''}: ${w.seen} seen): more assets may exist; run again`,
    );
  }
  for (const a of s.failedAccounts) {
    lines.push(`  account not backed up: ${a.account ?? '(default)'}: ${a.reason}`);
  }
  if (s.assetsFiltered > 0) {
    lines.push(
      `  left out by the filter (${describeFilter(s.filter)}): ${plural(s.assetsFiltered, 'asset')}`,
    );
  }
  if (s.forgotten.length > 0) {
    lines.push(`  not fetched, forgotten or excluded: ${plural(s.forgotten.length, 'asset')}`);
  }
  if (s.recordsMissing > 0) {
    lines.push(
      `  ${plural(s.recordsMissing, 'generation record')} could not be read (its task); the next run tries again`,
    );
  }
  if (s.outOfReach > 0) {
    lines.push(`  ${plural(s.outOfReach, 'asset')} out of reach of the listing (still on Runway), kept here`);
  }
  if (s.lanes.mode === 'auto') lines.push(`  parallel transfers: auto, up to ${s.lanes.peak}`);
  if (s.interrupted) lines.push('  run the same command again to resume');
  // Last, as the line a nightly log is read for: what only this backup still has.
  if (s.deletedOnRunway > 0) lines.push(`${plural(s.deletedOnRunway, 'asset')} deleted on Runway, kept here`);
  return lines.join('\n');
}
