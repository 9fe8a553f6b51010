/**
 * `--log-file`: one timestamped line per event worth a line (the start with its options, listing windows, retries,
 * failures, damaged files, the end with the summary), as text or JSON lines. Every write opens the file anew in
 * append mode, so logrotate may rename the file (the next line starts a new one) or truncate it in place
 * (`copytruncate`: O_APPEND writes go to the new end): no signal is needed. Never the token (every line passes
 * `withoutToken`), never a signed URL (messages are redacted where they are made).
 */
import { promises as fs } from 'node:fs';
import { withoutToken } from '../errors.js';
import type { BackupEvent, BackupSummary } from '../run/backup.js';

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** ISO 8601 with the local offset, to the millisecond: `2026-12-03T03:00:00.123+01:00`. */
export function localTimestamp(date: Date = new Date()): string {
  const p = (n: number, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}${sign}${p(offset / 60)}:${p(offset % 60)}`;
}

type Fields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export class RunLog {
  readonly #file: string;
  readonly #format: LogFormat;
  readonly #token: string | undefined;
  readonly #onError: (error: unknown) => void;
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(file: string, format: LogFormat, token: string | undefined, onError: (error: unknown) => void) {
    this.#file = file;
    this.#format = format;
    this.#token = token;
    this.#onError = onError;
  }

  /** One line: `event` names what happened, `message` says it to a person, `fields` for the JSON lines. */
  line(event: string, message: string, fields: Fields = {}): void {
    const time = localTimestamp();
    const text =
      this.#format === 'json'
        ? JSON.stringify({ time, event, message, ...fields })
        : `${time} ${event}: ${message}`;
    this.#pending.push(`${withoutToken(text, this.#token)}\n`);
    // Lines that arrive while a write is under way go out together with the next one, in order.
    if (this.#pending.length === 1) this.#writing = this.#writing.then(() => this.#write());
  }

  async #write(): Promise<void> {
    const text = this.#pending.join('');
    this.#pending = [];
    if (this.#failed) return;
    try {
      await fs.appendFile(this.#file, text, { mode: 0o600 });
    } catch (error) {
      // Said once; a log that cannot be written does not stop a backup.
      this.#failed = true;
      this.#onError(error);
    }
  }

  /** Resolves once every line so far is written (or the log has failed). */
  flush(): Promise<void> {
    return this.#writing;
  }
}

/** The line an event is worth, or undefined: progress (bytes, starts, lanes, pages) is not logged. */
export function logEvent(log: RunLog, event: BackupEvent): void {
  switch (event.type) {
    case 'listing': {
      const e = event.event;
      const account = event.account ?? null;
      if (e.type === 'capped') {
        log.line(
          'window-capped',
          `the ${e.window} window is capped (${e.seen} seen)${e.splitting ? '; walking each media type' : ''}`,
          { account, window: e.window, seen: e.seen },
        );
      } else if (e.type === 'incomplete') {
        log.line(
          'window-incomplete',
          `the ${e.window} listing was cut short after ${e.requests} requests (${e.seen} seen)`,
          { account, window: e.window, seen: e.seen, requests: e.requests },
        );
      }
      return;
    }
    case 'retry': {
      const what = event.file ? event.file.path : 'API request';
      log.line(
        'retry',
        `${what}: ${event.reason}; attempt ${event.attempt + 1} in ${Math.round(event.delayMs)} ms`,
        {
          path: event.file?.path ?? null,
          attempt: event.attempt,
          delayMs: Math.round(event.delayMs),
          reason: event.reason,
        },
      );
      return;
    }
    case 'file-failed':
      log.line('failed', `${event.file.path}: ${event.reason}`, {
        path: event.file.path,
        assetId: event.file.assetId,
        code: event.code,
        reason: event.reason,
      });
      return;
    case 'file-damaged':
      log.line('damaged', `${event.file.path} was damaged; kept as ${event.movedTo}, fetching it again`, {
        path: event.file.path,
        movedTo: event.movedTo,
      });
      return;
    case 'file-gone':
      log.line('gone', `${event.file.path}: deleted on Runway before it could be fetched`, {
        path: event.file.path,
      });
      return;
    case 'account-failed':
      log.line('account-failed', `${event.account ?? '(default)'}: ${event.reason}`, {
        account: event.account ?? null,
        code: event.code,
      });
      return;
    case 'lock-taken-over':
      log.line(
        'lock-taken-over',
        `took over the stale lock of pid ${event.pid} on ${event.host || '?'} (last heartbeat ${event.heartbeatAt})`,
        { pid: event.pid, host: event.host, heartbeatAt: event.heartbeatAt },
      );
      return;
    default:
      return;
  }
}

/** The end of a run: its outcome, exit code and the summary's counts. */
export function logEnd(log: RunLog, state: string, exitCode: number, s: BackupSummary): void {
  log.line(
    'end',
    `${state}, exit ${exitCode}: ${s.assetsSeen} assets, ${s.filesDownloaded} files downloaded (${s.bytesDownloaded} bytes), ${s.filesSkipped} already there, ${s.filesFailed} failed, ${s.cappedWindows.length} capped windows, ${Math.round(s.seconds)} s`,
    {
      state,
      exitCode,
      assetsSeen: s.assetsSeen,
      filesDownloaded: s.filesDownloaded,
      bytesDownloaded: s.bytesDownloaded,
      filesSkipped: s.filesSkipped,
      filesFailed: s.filesFailed,
      cappedWindows: s.cappedWindows.length,
      seconds: s.seconds,
    },
  );
}
