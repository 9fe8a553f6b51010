import { checkClientOptions } from '../api/client.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { refreshGallery } from '../gallery/refresh.js';
import { collectGarbage } from '../gc.js';
import { createProgress } from '../report/progress.js';
import {
  describeError,
  outcomeOf,
  outcomeOfError,
  type RunRecorder,
  readRunRecord,
  startRunRecord,
} from '../report/run-record.js';
import { standingWindows } from '../report/standing.js';
import { type BackupSummary, backup } from '../run/backup.js';
import { parseTaskHistoryMode } from '../source/sources.js';
import { checkOutFolder } from '../store/out-folder.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { type OutputOptions, type PlannedFile, RunNotices } from './backup-notices.js';
import { describeSummary } from './backup-summary.js';
import { FILTER_FLAGS } from './filter-flags.js';
import { finishRefused, markRecorded } from './refused.js';
import { type BackupSettings, flagValues, resolveSettings } from './settings.js';
import { onInterrupt } from './signals.js';
import { startTimeLimit } from './time-limit.js';
import { Unattended } from './unattended.js';
import { nonEmpty, parseDuration, parseLimitRate, parseLogFormat } from './unattended-args.js';

export const BACKUP_FLAGS = {
  out: SHARED_FLAGS.out,
  email: SHARED_FLAGS.email,
  'media-type': SHARED_FLAGS['media-type'],
  ...FILTER_FLAGS,
  concurrency: {
    type: 'string',
    value: 'auto|N',
    help: 'parallel transfers: auto (grow while faster, shrink on 429/5xx) or 1..32 (default auto)',
  },
  'no-previews': { type: 'boolean', help: "skip each asset's preview images" },
  metadata: {
    type: 'boolean',
    help: "write a JSON sidecar with the API's fields (no URLs) beside each asset",
  },
  'dry-run': {
    type: 'boolean',
    help: 'print the paths that would be downloaded (stdout); download and create nothing',
  },
  config: SHARED_FLAGS.config,
  'base-url': SHARED_FLAGS['base-url'],
  retries: SHARED_FLAGS.retries,
  timeout: SHARED_FLAGS.timeout,
  json: { type: 'boolean', help: 'print the summary as one JSON object on stdout' },
  quiet: SHARED_FLAGS.quiet,
  'no-gallery': { type: 'boolean', help: 'do not refresh <out>/index.html after the run' },
  'no-mtime': {
    type: 'boolean',
    help: "keep each new file's download time instead of giving it its asset's creation time",
  },
  layout: {
    type: 'string',
    value: 'TEMPLATE',
    help: 'where each file goes, like {year}/{month}/{name}_{id8}.{ext}; recorded files are moved, not fetched again',
  },
  timezone: {
    type: 'string',
    value: 'ZONE',
    help: "time zone of the layout's dates: an IANA name or local (default UTC)",
  },
  'task-history': {
    type: 'string',
    value: 'MODE',
    help: 'walk the task history too: auto (when an assets window is capped), always, never (default auto)',
  },
  'limit-rate': {
    type: 'string',
    value: 'RATE',
    help: 'bytes per second for all downloads together (800k, 5M, 1.5Mi), or a timetable "08:00,2M 19:00,off"',
  },
  'max-duration': {
    type: 'string',
    value: 'TIME',
    help: 'stop after this long (90m, 2h, 5s) as Ctrl-C does, exit 75; the next run resumes',
  },
  'log-file': {
    type: 'string',
    value: 'FILE',
    help: 'append one timestamped line per event (start, windows, retries, failures, end) to FILE',
  },
  'log-format': {
    type: 'string',
    value: 'FORMAT',
    help: 'the log file as text or json (JSON lines); default text',
  },
  'on-finish': {
    type: 'string',
    value: 'CMD',
    help: 'run CMD through the shell after every run, with the outcome in RUNWAY_BACKUP_* variables',
  },
  'metrics-file': {
    type: 'string',
    value: 'FILE',
    help: "write the run's outcome to FILE in the Prometheus text format (node_exporter's textfile collector)",
  },
} as const;

export const BACKUP_SPEC: CommandSpec = {
  name: 'backup',
  summary: 'download every asset of the account that is not in the backup yet, resumably.',
  flags: BACKUP_FLAGS,
  notes: [
    'The token comes from USEAPI_TOKEN. Exit codes: 0 done, 1 some files failed or the listing was cut short,',
    '2 bad usage or config, 3 the API refused, 4 the API could not be reached, 75 stopped at --max-duration,',
    '130 interrupted.',
  ],
};

export async function runBackup(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(BACKUP_SPEC));
    return EXIT.ok;
  }
  try {
    const { values } = parseFlags(argv, BACKUP_FLAGS);
    const settings = await resolveSettings(
      {
        ...flagValues(values),
        taskHistory: parseTaskHistoryMode(values['task-history']),
        limitRate: parseLimitRate(values['limit-rate'], '`--limit-rate`'),
        maxDurationMs: parseDuration(values['max-duration'], '`--max-duration`'),
        logFile: nonEmpty('--log-file', values['log-file']),
        logFormat: parseLogFormat(values['log-format']),
        onFinish: nonEmpty('--on-finish', values['on-finish']),
        metricsFile: nonEmpty('--metrics-file', values['metrics-file']),
      },
      process.env,
    );
    return await backupWithProgress(settings, {
      json: values.json ?? false,
      quiet: values.quiet ?? false,
      dryRun: values['dry-run'] ?? false,
      gallery: !values['no-gallery'],
    });
  } catch (error) {
    // Refused before it held the folder (a bad flag, config or token, the lock held): `status` must say so.
    await finishRefused(argv, error);
    throw error;
  }
}

export type { OutputOptions, PlannedFile } from './backup-notices.js';

/** Runs a backup with bars or lines on stderr and the summary; shared by `backup` and `demo`. */
export async function backupWithProgress(settings: BackupSettings, output: OutputOptions): Promise<number> {
  // Bad input is refused before anything is written or drawn: no output folder, no run record for a mistyped flag,
  // and no progress bar left running (on a terminal its timer kept the process alive after the error).
  checkClientOptions({ token: settings.token, baseUrl: settings.baseUrl });
  await checkOutFolder(settings.out);
  const stderr = process.stderr;
  const tty = Boolean(stderr.isTTY) && !process.env.CI && process.env.TERM !== 'dumb';
  const progress = await createProgress({ stream: stderr, tty, quiet: output.quiet || output.dryRun });
  // What the last run already reported (capped windows) is not repeated by a quiet run: cron would mail it nightly.
  const before = output.dryRun ? undefined : await readRunRecord(settings.out).catch(() => undefined);
  const notices = new RunNotices(settings, output, progress, stderr, standingWindows(before));
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, notices.say);
  // The log, metrics and hook of an unattended run (none for a dry run, which records nothing).
  const unattended = new Unattended(
    output.dryRun ? { out: settings.out, token: settings.token } : { ...settings },
    (line) => stderr.write(`${line}\n`),
  );
  unattended.start(startOptions(settings));
  const timeLimit = startTimeLimit(settings.maxDurationMs, controller, (line) => {
    unattended.note('time-limit', line);
    notices.warn(line);
  });
  // The record `status` reads: written once this run holds the folder's lock, so a run refused because another
  // holds it leaves that run's record alone. Not for dry runs. A record that cannot be written does not stop a backup.
  let recorder: RunRecorder | undefined;
  const onLocked = async (): Promise<void> => {
    recorder = await startRunRecord(settings.out).catch(() => undefined);
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
      filter: settings.filter,
      mtime: settings.mtime,
      layout: settings.layout,
      timeZone: settings.timeZone,
      limitRate: settings.limitRate,
      signal: controller.signal,
      onEvent: (event) => {
        unattended.onEvent(event);
        notices.onEvent(event);
      },
      onLocked,
    });
  } catch (error) {
    if (recorder) {
      // Ended here; a refusal before the lock is ended by runBackup, which also records it.
      markRecorded(error);
      await recorder.fail(error, settings.token).catch(() => {});
      const [state, exitCode] = [outcomeOfError(error), exitCodeFor(error)];
      await unattended.end({ state, exitCode, error: describeError(error, settings.token) });
    }
    throw error;
  } finally {
    timeLimit.stop();
    progress.stop();
    removeHandlers();
  }
  await recorder?.finish(summary, timeLimit.reached).catch(() => {});
  await reportOutcome(summary, settings.out, output, notices.planned);
  const code = timeLimit.reached && summary.interrupted ? EXIT.timeLimit : exitCode(summary);
  await unattended.end({
    state: outcomeOf(summary, timeLimit.reached),
    exitCode: code,
    summary: { ...summary },
  });
  return code;
}

/** What the log's first line says about a run: its options as given, never the token. */
function startOptions(
  s: BackupSettings,
): Record<string, string | number | boolean | readonly string[] | undefined> {
  return {
    accounts: s.accounts.length ? s.accounts : undefined,
    mediaTypes: s.mediaTypes,
    concurrency: s.concurrency,
    previews: s.previews,
    baseUrl: s.baseUrl,
    limitRate: s.limitRate?.map((e) => `${e.minute}m:${e.rate ?? 'off'}`).join(' '),
    maxDurationSeconds: s.maxDurationMs === undefined ? undefined : s.maxDurationMs / 1000,
  };
}

/** After the run: the `--json` object on stdout, the summary on stderr, and the gallery refreshed. */
async function reportOutcome(
  summary: BackupSummary,
  out: string,
  output: OutputOptions,
  planned: PlannedFile[],
): Promise<void> {
  const stderr = process.stderr;
  if (output.json) {
    const json = { ...summary, ...(output.dryRun ? { planned } : {}) };
    process.stdout.write(`${JSON.stringify(json)}\n`);
  }
  if (!output.quiet) stderr.write(`${describeSummary(summary, out)}\n`);
  if (!output.dryRun && output.gallery !== false) {
    // The run's garbage (its manifest, thousands of finished transfers) is collected before the gallery builds its
    // page, which then reuses that memory instead of growing the heap: the end of a 1,300-asset backup was its
    // memory peak, 98-99 MiB, and is 91-93 with this (3 runs each). One full collection (8 ms in an idle process).
    collectGarbage();
    // New records, sidecars or fates change what the page shows as surely as new files do.
    const changed =
      summary.filesDownloaded > 0 ||
      summary.recordsKept > 0 ||
      summary.sidecarsUpdated > 0 ||
      summary.fateLookups > 0;
    const note = await refreshGallery(out, changed);
    if (note && !output.quiet) stderr.write(`${note}\n`);
  }
}

function exitCode(summary: BackupSummary): number {
  if (summary.interrupted) return EXIT.interrupted;
  // A listing cut short may have left assets out: not "everything done".
  // An account the API refused was not backed up at all: exit as the API refused, though the others were.
  if (summary.failedAccounts.length > 0) return EXIT.apiRefused;
  return summary.filesFailed > 0 || summary.incompleteWindows.length > 0 ? EXIT.someFailed : EXIT.ok;
}

export { describeSummary, type IncompleteWindow, unwantedLine } from './backup-summary.js';
