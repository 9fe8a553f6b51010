/**
 * `--on-finish CMD`: run once after every backup, whatever its outcome, through the shell, with the outcome in
 * `RUNWAY_BACKUP_*` variables (README, "Nightly backups"). Never with the token: USEAPI_TOKEN, and any variable
 * holding its value, are taken out of the child's environment. Its output goes to stderr (stdout may carry the
 * `--json` summary); its failure is reported and does not change the backup's exit code.
 */
import { spawn } from 'node:child_process';
import type { RecordedSummary } from '../report/run-record.js';

export interface FinishOutcome {
  exitCode: number;
  state: string;
  out: string | undefined;
  summary: RecordedSummary | undefined;
  /** The run record (`.runway-backup-status.json`), when one was written: its `summary` is the `--json` object. */
  summaryFile: string | undefined;
  error: string | undefined;
}

/** The variables the command gets, on top of the environment (without the token). */
export function finishEnvironment(o: FinishOutcome): Record<string, string> {
  const s = o.summary ?? {};
  const n = (v: number | undefined) => String(v ?? 0);
  return {
    RUNWAY_BACKUP_EXIT_CODE: String(o.exitCode),
    RUNWAY_BACKUP_STATE: o.state,
    RUNWAY_BACKUP_OUT: o.out ?? '',
    RUNWAY_BACKUP_SUMMARY_FILE: o.summaryFile ?? '',
    RUNWAY_BACKUP_ERROR: o.error ?? '',
    RUNWAY_BACKUP_ASSETS_SEEN: n(s.assetsSeen),
    RUNWAY_BACKUP_FILES_DOWNLOADED: n(s.filesDownloaded),
    RUNWAY_BACKUP_BYTES_DOWNLOADED: n(s.bytesDownloaded),
    RUNWAY_BACKUP_FILES_SKIPPED: n(s.filesSkipped),
    RUNWAY_BACKUP_FILES_FAILED: n(s.filesFailed),
    RUNWAY_BACKUP_CAPPED_WINDOWS: n(s.cappedWindows?.length),
    // One failed path per line; the reasons are in the summary file.
    RUNWAY_BACKUP_FAILURES: (s.failures ?? []).map((f) => f.path).join('\n'),
    RUNWAY_BACKUP_SECONDS: String(Math.round(s.seconds ?? 0)),
  };
}

/** The environment without the token, under its name or any other. */
export function withoutTokenEnv(env: NodeJS.ProcessEnv, token: string | undefined): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key === 'USEAPI_TOKEN') continue;
    if (token && token.length >= 4 && value.includes(token)) continue;
    clean[key] = value;
  }
  return clean;
}

/**
 * Runs `command` with the outcome; resolves with a one-line problem when it could not start or exited non-zero
 * (or by a signal), else undefined. Never rejects.
 */
export function runOnFinish(
  command: string,
  outcome: FinishOutcome,
  env: NodeJS.ProcessEnv,
  token: string | undefined,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(command, {
      shell: true,
      env: { ...withoutTokenEnv(env, token), ...finishEnvironment(outcome) },
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.on('error', (error) => resolve(`the --on-finish command could not start: ${error.message}`));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(undefined);
      else resolve(`the --on-finish command failed (${signal ? `killed by ${signal}` : `exit ${code}`})`);
    });
  });
}
