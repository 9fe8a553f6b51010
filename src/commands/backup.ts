import { type BackupEvent, type BackupSummary, backup } from '../backup.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDuration, printable } from '../format.js';
import { createProgress } from '../progress.js';
import { parseTaskHistoryMode } from '../sources.js';
import { parseFlags, parseInteger } from './args.js';
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
  'task-history': { type: 'string' },
} as const;

export async function runBackup(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, BACKUP_FLAGS);
  const settings = await resolveSettings(
    {
      out: values.out,
      email: values.email,
      mediaType: values['media-type'],
      concurrency: parseInteger('concurrency', values.concurrency, 1, 32),
      noPreviews: values['no-previews'],
      metadata: values.metadata,
      config: values.config,
      baseUrl: values['base-url'],
      retries: parseInteger('retries', values.retries, 0, 20),
      taskHistory: parseTaskHistoryMode(values['task-history']),
    },
    process.env,
  );
  return backupWithProgress(settings, {
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    dryRun: values['dry-run'] ?? false,
  });
}

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  dryRun: boolean;
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
      taskHistory: settings.taskHistory,
      signal: controller.signal,
      onEvent,
    });
  } finally {
    progress.stop();
    removeHandlers();
  }
  if (output.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (!output.quiet) stderr.write(`${describeSummary(summary, settings.out)}\n`);
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
  if (s.interrupted) lines.push('  run the same command again to resume');
  return lines.join('\n');
}
