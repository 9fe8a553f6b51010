import { plural, printable } from '../report/format.js';
import { type ProgressReporter, retryNotice } from '../report/progress.js';
import { isStanding } from '../report/standing.js';
import type { BackupEvent, FileJob } from '../run/backup.js';
import type { ListingEvent } from '../source/paginate.js';
import { unwantedLine } from './backup-summary.js';
import type { BackupSettings } from './settings.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  dryRun: boolean;
  /** Refresh `<out>/index.html` after a run that changed something. @default true */
  gallery?: boolean;
  /** Print where the backup goes before starting. @default true */
  announce?: boolean | undefined;
}

/** A dry run's `--json` carries the list it printed as lines otherwise. */
export interface PlannedFile {
  path: string;
  bytes: number | undefined;
}

/**
 * What the CLI says while a backup runs, from its events, above the bars or between the lines: where it goes,
 * retries of the API, capped and cut-short windows, files kept aside; and a dry run's list of planned files.
 */
export class RunNotices {
  /** A dry run's files, for `--json`. */
  readonly planned: PlannedFile[] = [];
  readonly #settings: BackupSettings;
  readonly #output: OutputOptions;
  readonly #progress: ProgressReporter;
  readonly #stderr: NodeJS.WriteStream;
  // Said when the first page of the listing has come back: a run that fails before (bad options, an API that
  // refuses) ends with its one error line and nothing else.
  #tasksAnnounced = false;
  #announced: boolean;
  readonly #standing: ReadonlyMap<string, number>;

  constructor(
    settings: BackupSettings,
    output: OutputOptions,
    progress: ProgressReporter,
    stderr: NodeJS.WriteStream,
    standing: ReadonlyMap<string, number> = new Map(),
  ) {
    this.#standing = standing;
    this.#settings = settings;
    this.#output = output;
    this.#progress = progress;
    this.#stderr = stderr;
    this.#announced = !(output.announce ?? true);
  }

  // A dry run draws no progress, but its warnings (capped windows, Ctrl-C) still belong on stderr.
  readonly say = (line: string): void => {
    if (this.#output.quiet) return;
    if (this.#output.dryRun) this.#stderr.write(`${line}\n`);
    else this.#progress.log(line);
  };

  // What may leave a backup incomplete is said even with --quiet.
  readonly warn = (line: string): void => {
    if (this.#output.dryRun || this.#output.quiet) this.#stderr.write(`${line}\n`);
    else this.#progress.log(line);
  };

  // Collected here from the listing events, so the CLI says it whatever the library's summary carries.
  readonly onEvent = (event: BackupEvent): void => {
    const { say, warn } = this;
    this.#progress.onEvent(event);
    if (!this.#announced && event.type === 'listing') {
      this.#announced = true;
      say(
        `${this.#output.dryRun ? 'Dry run of a backup' : 'Backing up'} into ${this.#settings.out}; listing the account`,
      );
    }
    // A real run plans files too (it counts them); only a dry run lists them.
    if (event.type === 'file-planned' && this.#output.dryRun) this.#plan(event.file);
    // A dry run shows what a run would do with every asset; a nightly run just counts them (its summary).
    if (event.type === 'asset-unwanted' && this.#output.dryRun) say(unwantedLine(event.unwanted));
    if (event.type === 'file-done' && event.movedAside) {
      say(
        `kept a different file that stood at ${printable(event.file.path)} as ${printable(event.movedAside)}`,
      );
    }
    if (event.type === 'file-damaged') {
      warn(
        `damaged since it was backed up (wrong size): ${printable(event.file.path)}; kept as ${printable(event.movedTo)}, fetching it again`,
      );
    }
    if (event.type === 'set-aside') {
      say(`kept a different file that stood at ${printable(event.path)} as ${printable(event.movedTo)}`);
    }
    if (event.type === 'part-removed') {
      say(`removed an unfinished download that no wanted file needs: ${printable(event.path)}`);
    }
    if (event.type === 'file-moved' && event.dryRun) {
      say(`would move to the new layout: ${printable(event.from)} -> ${printable(event.to)}`);
    }
    if (event.type === 'file-vanished') {
      warn(`missing since it was backed up: ${printable(event.file.path)}; fetching it again`);
    }
    if (event.type === 'retry' && event.file === undefined) {
      const line = retryNotice(event, this.#settings.retries);
      if (line) say(line);
    }
    if (event.type === 'listing') this.#listing(event.event, event.account);
    // Not a warning: the run before said how it ended (status: did not finish, stale lock); a quiet run stays quiet.
    if (event.type === 'lock-taken-over') {
      say(
        `took over a stale lock of pid ${event.pid}${event.host ? ` on ${printable(event.host)}` : ''} (last heartbeat ${event.heartbeatAt}): that run had stopped`,
      );
    }
    if (event.type === 'tasks-page' && !this.#tasksAnnounced) {
      this.#tasksAnnounced = true;
      say(
        'walking the task history (its newest 2,000 generations) for assets the capped windows could not list',
      );
    }
  };

  #plan(file: FileJob): void {
    if (this.#output.json) this.planned.push({ path: file.path, bytes: file.expectedBytes });
    else {
      process.stdout.write(`${file.path}${file.expectedBytes ? `\t${file.expectedBytes}` : ''}\n`);
    }
  }

  #listing(e: ListingEvent, account: string | undefined): void {
    if (e.type === 'capped') {
      if (e.splitting) {
        this.say(
          `the API lists at most 1,050 assets at once; ${e.seen} seen, walking each media type separately`,
        );
      } else if (this.#output.quiet && isStanding(this.#standing, account, e.window, e.seen)) {
        // Unchanged since the last run: in the summary, --json and status, not in tonight's cron mail.
      } else {
        this.warn(
          `warning: the ${e.window} window is capped at 1,050 assets (${e.seen} seen): older assets may be out of reach`,
        );
      }
    }
    if (e.type === 'incomplete') {
      this.warn(
        `warning: the listing of the ${e.window} window was cut short after ${plural(e.requests, 'request')} (${e.seen} assets seen): more assets may exist`,
      );
    }
    if (e.type === 'skipped') this.say(`skipped an unusable listing item (${e.item.reason})`);
  }
}
