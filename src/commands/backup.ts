import { type BackupEvent, type BackupSummary, backup } from '../backup.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDuration, printable } from '../format.js';
import { refreshGallery } from '../gallery/refresh.js';
import { readLockHolder } from '../lock.js';
import { createProgress } from '../progress.js';
import { startRunRecord } from '../run-record.js';
import { parseConcurrency, parseFlags, parseInteger } from './args.js';
import { type BackupSettings, resolveSettings } from './settings.js';
import { onInterrupt } from './signals.js';

export const BACKUP_FLAGS = {
  out: { type: 'string' },
  email: { type: 'string', multiple: true },
  'media-type': { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  'no-previews': { type: 'boolean' },
  metadata: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  config: { type: 'string' },
  'base-url': { type: 'string' },
  retries: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'no-gallery': { type: 'boolean' },
} as const;

export async function runBackup(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, BACKUP_FLAGS);
  const settings = await resolveSettings(
    {
      out: values.out,
      email: values.email,
      mediaType: values['media-type'],
      concurrency: parseConcurrency(values.concurrency),
      noPreviews: values['no-previews'],
      metadata: values.metadata,
      config: values.config,
      baseUrl: values['base-url'],
      retries: parseInteger('retries', values.retries, 0, 20),
    },
    process.env,
  );
  return backupWithProgress(settings, {
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    dryRun: values['dry-run'] ?? false,
    gallery: !values['no-gallery'],
  });
}

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  dryRun: boolean;
  /** Refresh `<out>/index.html` after a run that changed something. @default true */
  gallery?: boolean;
}

/** Runs a backup with bars or lines on stderr and the summary; shared by `backup` and `demo`. */
export async function backupWithProgress(settings: BackupSettings, output: OutputOptions): Promise<number> {
  const stderr = process.stderr;
  const tty = Boolean(stderr.isTTY) && !process.env.CI && process.env.TERM !== 'dumb';
  const progress = await createProgress({ stream: stderr, tty, quiet: output.quiet || output.dryRun });
  // A dry run draws no progress, but its warnings (capped windows, Ctrl-C) still belong on stderr.
  const say = (line: string): void => {
    if (output.quiet) return;
    if (output.dryRun) stderr.write(`${line}\n`);
    else progress.log(line);
  };
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, say);
  const onEvent = (event: BackupEvent): void => {
    progress.onEvent(event);
    if (event.type === 'file-planned' && !output.json) {
      process.stdout.write(
        `${event.file.path}${event.file.expectedBytes ? `\t${event.file.expectedBytes}` : ''}\n`,
      );
    }
    if (event.type === 'file-done' && event.movedAside) {
      say(
        `kept a different file that stood at ${printable(event.file.path)} as ${printable(event.movedAside)}`,
      );
    }
    if (event.type === 'listing' && event.event.type === 'capped') {
      const e = event.event;
      say(
        e.splitting
          ? `the API lists at most 1,050 assets at once; ${e.seen} seen, walking each media type separately`
          : `warning: the ${e.window} window is capped at 1,050 assets (${e.seen} seen): older assets may be out of reach`,
      );
    }
    if (event.type === 'listing' && event.event.type === 'skipped') {
      say(`skipped an unusable listing item (${event.event.item.reason})`);
    }
  };
  // The record `status` reads; not for dry runs, nor while another run holds the folder (it would lose its record).
  const recorder =
    output.dryRun || (await readLockHolder(settings.out))
      ? undefined
      : await startRunRecord(settings.out).catch(() => undefined);
  let summary: BackupSummary;
  try {
    summary = await backup({
      token: settings.token,
      baseUrl: settings.baseUrl,
      out: settings.out,
      accounts: settings.accounts,
      mediaTypes: settings.mediaTypes,
      concurrency: settings.concurrency,
      previews: settings.previews,
      metadata: settings.metadata,
      dryRun: output.dryRun,
      retries: settings.retries,
      timeoutMs: settings.timeoutMs,
      signal: controller.signal,
      onEvent,
    });
  } catch (error) {
    await recorder?.fail(error, settings.token).catch(() => {});
    throw error;
  } finally {
    progress.stop();
    removeHandlers();
  }
  await recorder?.finish(summary).catch(() => {});
  if (output.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (!output.quiet) stderr.write(`${describeSummary(summary, settings.out)}\n`);
  if (!output.dryRun && output.gallery !== false) {
    const note = await refreshGallery(settings.out, summary.filesDownloaded > 0);
    if (note && !output.quiet) stderr.write(`${note}\n`);
  }
  if (summary.interrupted) return EXIT.interrupted;
  return summary.filesFailed > 0 ? EXIT.someFailed : EXIT.ok;
}

export function describeSummary(s: BackupSummary, out: string): string {
  const lines: string[] = [];
  const head = s.interrupted ? 'Interrupted' : s.dryRun ? 'Dry run' : 'Done';
  lines.push(
    s.dryRun
      ? `${head}: ${s.assetsSeen} assets, ${s.filesPlanned} files would be downloaded, ${s.filesSkipped} already in ${out}`
      : `${head} in ${formatDuration(s.seconds)}: ${s.assetsSeen} assets, ${s.filesDownloaded} files downloaded (${formatBytes(s.bytesDownloaded)}), ${s.filesSkipped} already there, ${s.filesFailed} failed -> ${out}`,
  );
  for (const f of s.failures) lines.push(`  failed: ${printable(f.path)}: ${f.reason}`);
  for (const g of s.gone) lines.push(`  deleted on Runway before it could be fetched: ${printable(g.path)}`);
  if (s.skippedItems.length) lines.push(`  ${s.skippedItems.length} unusable listing items skipped`);
  for (const c of s.cappedWindows) {
    lines.push(`  warning: listing capped (${c.window}${c.account ? `, ${c.account}` : ''}: ${c.seen} seen)`);
  }
  if (s.interrupted) lines.push('  run the same command again to resume');
  return lines.join('\n');
}
