/**
 * What an unattended run leaves besides the backup: the log file's lines, the metrics file and the `--on-finish`
 * command, started together with the run and ended together whatever ended it (a summary, an error, a refusal).
 */
import { existsSync } from 'node:fs';
import { type LogFormat, logEnd, logEvent, RunLog } from '../report/log-file.js';
import { metricsText } from '../report/metrics.js';
import { type RecordedSummary, runRecordPath } from '../report/run-record.js';
import type { BackupEvent } from '../run/backup.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { Manifest } from '../store/manifest.js';
import { runOnFinish } from './on-finish.js';

export interface UnattendedSettings {
  out: string | undefined;
  token: string | undefined;
  logFile?: string | undefined;
  logFormat?: LogFormat | undefined;
  onFinish?: string | undefined;
  metricsFile?: string | undefined;
}

export interface RunEnd {
  /** As `status` names it: done, failed, interrupted, stopped, refused, error. */
  state: string;
  exitCode: number;
  summary?: RecordedSummary | undefined;
  error?: { code: string; message: string } | undefined;
}

export class Unattended {
  readonly #u: UnattendedSettings;
  readonly #log: RunLog | undefined;
  readonly #startedAt = new Date();
  readonly #say: (line: string) => void;

  constructor(u: UnattendedSettings, say: (line: string) => void) {
    this.#u = u;
    this.#say = say;
    this.#log = u.logFile
      ? new RunLog(u.logFile, u.logFormat ?? 'text', u.token, (error) =>
          say(
            `runway-backup: cannot write the log file ${u.logFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          ),
        )
      : undefined;
  }

  /** The run's start, with its options (never the token). */
  start(options: Record<string, string | number | boolean | readonly string[] | undefined>): void {
    const text = Object.entries(options)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(' ');
    this.#log?.line('start', `backup into ${this.#u.out ?? '?'} (pid ${process.pid}) ${text}`, {
      out: this.#u.out,
      pid: process.pid,
      ...options,
    });
  }

  readonly onEvent = (event: BackupEvent): void => {
    if (this.#log) logEvent(this.#log, event);
  };

  note(event: string, message: string): void {
    this.#log?.line(event, message);
  }

  /** The end, whatever it was: the log's last line, the metrics file, then the hook. Never throws. */
  async end(end: RunEnd): Promise<void> {
    const log = this.#log;
    if (log) {
      if (end.summary?.assetsSeen !== undefined && end.error === undefined) {
        logEnd(log, end.state, end.exitCode, end.summary as Parameters<typeof logEnd>[3]);
      } else {
        log.line('end', `${end.state}, exit ${end.exitCode}: ${end.error?.message ?? ''}`, {
          state: end.state,
          exitCode: end.exitCode,
          code: end.error?.code,
        });
      }
    }
    await this.#writeMetrics(end);
    await this.#runHook(end);
    await log?.flush();
  }

  async #writeMetrics(end: RunEnd): Promise<void> {
    const file = this.#u.metricsFile;
    if (!file) return;
    const assetsInBackup = this.#u.out ? await countAssets(this.#u.out) : undefined;
    const text = metricsText({
      out: this.#u.out ?? '',
      state: end.state,
      exitCode: end.exitCode,
      startedAt: this.#startedAt,
      endedAt: new Date(),
      summary: end.summary,
      assetsInBackup,
    });
    try {
      await writeFileAtomic(file, text);
    } catch (error) {
      const line = `cannot write the metrics file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      this.#say(`runway-backup: ${line}`);
      this.#log?.line('metrics-failed', line);
    }
  }

  async #runHook(end: RunEnd): Promise<void> {
    const command = this.#u.onFinish;
    if (!command) return;
    const out = this.#u.out;
    const record = out ? runRecordPath(out) : undefined;
    const problem = await runOnFinish(
      command,
      {
        exitCode: end.exitCode,
        state: end.state,
        out,
        summary: end.summary,
        summaryFile: record && existsSync(record) ? record : undefined,
        error: end.error?.message,
      },
      process.env,
      this.#u.token,
    );
    if (problem) {
      this.#say(`runway-backup: ${problem}`);
      this.#log?.line('on-finish-failed', problem);
    } else this.#log?.line('on-finish', 'the --on-finish command succeeded');
  }
}

async function countAssets(out: string): Promise<number | undefined> {
  try {
    const manifest = await Manifest.load(out);
    const size = manifest.size;
    await manifest.close();
    return size;
  } catch {
    return undefined;
  }
}
