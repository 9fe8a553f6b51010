/**
 * The record of the last backup run, `<out>/.runway-backup-status.json`, that `runway-backup status` reads. The CLI
 * writes it when a run starts (outcome `running`) and again when it ends, each time atomically, so a reader sees
 * one whole record or the previous one. A run killed with -9 leaves `running` behind: together with the lock (no
 * live holder) that says the run did not finish.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { firstLine, ManifestCorruptError, RunwayBackupError, withoutToken } from '../errors.js';
import { isRefusal } from '../exit-codes.js';
import { ensureDir } from '../fsutil.js';
import type { BackupSummary } from '../run/accounting.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { RUN_RECORD_NAME } from '../store/own-files.js';

export { RUN_RECORD_NAME };
export const RUN_RECORD_VERSION = 1;

/**
 * `done`: every file is on disk; `failed`: the run finished but some files failed; `interrupted`: Ctrl-C or a
 * signal; `stopped`: it reached its `--max-duration` and stopped as Ctrl-C does (the next run resumes);
 * `refused`: the API or the command line refused the run (bad token, expired subscription, bad flag, bad config,
 * the folder's lock held); `error`: something else stopped it (disk full, network gone); `running`: started and not ended (yet).
 */
export type RunOutcome = 'running' | 'done' | 'failed' | 'interrupted' | 'stopped' | 'refused' | 'error';

/** The summary as the engine reported it. Stored whole, so fields added to BackupSummary later flow through. */
export type RecordedSummary = Partial<BackupSummary> & { [field: string]: unknown };

export interface RunRecord {
  version: number;
  tool: 'runway-backup';
  /** The process that ran it. */
  pid: number;
  startedAt: string;
  endedAt?: string | undefined;
  outcome: RunOutcome;
  /** Why the run stopped, for `refused` and `error`: the error's stable code and its one-line message. */
  error?: { code: string; message: string } | undefined;
  summary?: RecordedSummary | undefined;
  /** The last run that ended before this one started, kept while this one runs. */
  previous?: RunRecord | undefined;
}

const MAX_MESSAGE = 300;

export function runRecordPath(out: string): string {
  return path.join(out, RUN_RECORD_NAME);
}

/** The record, or undefined when no run was recorded in `out`. A record that cannot be read is an error. */
export async function readRunRecord(out: string): Promise<RunRecord | undefined> {
  const file = runRecordPath(out);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ManifestCorruptError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ManifestCorruptError(`${file} is not valid JSON`);
  }
  if (!isRecord(data)) throw new ManifestCorruptError(`${file} is not a run record`);
  return data;
}

function isRecord(value: unknown): value is RunRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.tool === 'runway-backup' &&
    typeof v.startedAt === 'string' &&
    typeof v.outcome === 'string' &&
    typeof v.pid === 'number'
  );
}

/** The outcome a finished summary stands for. */
export function outcomeOf(
  summary: Pick<BackupSummary, 'interrupted' | 'filesFailed'> &
    Partial<Pick<BackupSummary, 'failedAccounts' | 'incompleteWindows'>>,
  timeUp = false,
): RunOutcome {
  if (summary.interrupted) return timeUp ? 'stopped' : 'interrupted';
  // An account the API refused, or a listing cut short, leaves the backup incomplete as surely as a failed file.
  const missed = (summary.failedAccounts?.length ?? 0) + (summary.incompleteWindows?.length ?? 0);
  return summary.filesFailed > 0 || missed > 0 ? 'failed' : 'done';
}

/** One line, without the token, for an error that stopped a run. */
export function describeError(error: unknown, token?: string): { code: string; message: string } {
  const code = error instanceof RunwayBackupError ? error.code : 'ERR_UNEXPECTED';
  let message = withoutToken(firstLine(error), token);
  if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`;
  return { code, message };
}

export function outcomeOfError(error: unknown): RunOutcome {
  const { code } = describeError(error);
  if (code === 'ERR_ABORTED') return 'interrupted';
  return isRefusal(code) ? 'refused' : 'error';
}

/** A run being recorded: `start` wrote the `running` record; `finish` or `fail` writes how it ended. */
export interface RunRecorder {
  readonly record: RunRecord;
  /** `timeUp`: the run was stopped by its `--max-duration`, not by a signal. */
  finish(summary: BackupSummary, timeUp?: boolean): Promise<void>;
  fail(error: unknown, token?: string): Promise<void>;
}

/**
 * Writes the `running` record of a run that starts now. The record of the last ended run is kept inside it as
 * `previous`, so `status` can still report last night while tonight's run is going.
 */
export async function startRunRecord(out: string, now: Date = new Date()): Promise<RunRecorder> {
  const previous = await previousOf(out);
  const record: RunRecord = {
    version: RUN_RECORD_VERSION,
    tool: 'runway-backup',
    pid: process.pid,
    startedAt: now.toISOString(),
    outcome: 'running',
    previous,
  };
  await ensureDir(out);
  // (A record's temp file left by a run killed mid-write is cleared by backup() once it holds the lock.)
  await writeRecord(out, record);
  const end = async (ended: Partial<RunRecord>): Promise<void> => {
    await writeRecord(out, {
      ...record,
      previous: undefined,
      endedAt: new Date().toISOString(),
      ...ended,
    });
  };
  return {
    record,
    finish: (summary, timeUp) => end({ outcome: outcomeOf(summary, timeUp), summary: { ...summary } }),
    fail: (error, token) => end({ outcome: outcomeOfError(error), error: describeError(error, token) }),
  };
}

/**
 * The record before this run, one level deep. A `running` record with no end is itself a run that did not finish:
 * kept as it is. A record without a summary (a refused run) keeps the summary of the run before it, so that the
 * standing conditions (capped windows) are compared with the last run that listed.
 */
async function previousOf(out: string): Promise<RunRecord | undefined> {
  const previous = await readRunRecord(out).catch(() => undefined);
  if (!previous) return undefined;
  const kept = previous.summary ? undefined : previous.previous;
  return { ...previous, previous: kept ? { ...kept, previous: undefined } : undefined };
}

/**
 * Records a run refused before it held the folder (no token, a bad config, an unwritable folder): `status` then
 * says `refused` with its reason the next morning, instead of the night before's `done`.
 */
export async function writeRefusedRecord(out: string, error: unknown, token?: string): Promise<void> {
  const now = new Date().toISOString();
  await writeRecord(out, {
    version: RUN_RECORD_VERSION,
    tool: 'runway-backup',
    pid: process.pid,
    startedAt: now,
    endedAt: now,
    outcome: 'refused',
    error: describeError(error, token),
    previous: await previousOf(out),
  });
}

/** The last summary recorded in `out`: the last run's, or the one before a refused or killed run. */
export function lastSummary(record: RunRecord | undefined): RecordedSummary | undefined {
  return record?.summary ?? record?.previous?.summary ?? record?.previous?.previous?.summary;
}

async function writeRecord(out: string, record: RunRecord): Promise<void> {
  await writeFileAtomic(runRecordPath(out), `${JSON.stringify(record, null, 2)}\n`);
}
