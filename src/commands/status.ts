import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDuration, plural, printable } from '../report/format.js';
import type { RunRecord } from '../report/run-record.js';
import { type BackupStatus, readStatus, type StatusState } from '../report/status.js';
import { describeFilter, isEmptyFilter } from '../store/wanted.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { outFromConfig } from './settings.js';

const STATUS_FLAGS = {
  out: SHARED_FLAGS.out,
  config: SHARED_FLAGS.config,
  json: { type: 'boolean', help: 'print the status as one JSON object on stdout (with `exitCode`)' },
} as const;

export const STATUS_SPEC: CommandSpec = {
  name: 'status',
  summary: 'how the last backup into a folder ended, in one line; reads only the folder, never the network.',
  flags: STATUS_FLAGS,
  notes: [
    'Exit 0 when the last finished run backed up every file, 1 when it did not (files failed, interrupted,',
    'refused, stopped by an error, or killed), 2 when no run is recorded in the folder. While a run goes on,',
    'the line says so and the code is that of the run before it.',
  ],
};

/**
 * Exit codes of `status` (README, "status"): 0 the last run finished with every file; 1 it did not (files failed,
 * interrupted, refused, stopped by an error, or never finished); 2 no run is recorded in the folder, or bad usage.
 * While a run goes on, the code is that of the run before it.
 */
export function statusExitCode(state: StatusState): number {
  if (state === 'done') return EXIT.ok;
  if (state === 'none' || state === 'running') return EXIT.usage;
  return EXIT.someFailed;
}

export async function runStatus(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(STATUS_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, STATUS_FLAGS);
  const status = await readStatus(await outFromConfig(values.out, values.config));
  const code = statusExitCode(status.lastEndedState);
  if (values.json) {
    const json = { ...status, lockHolder: status.lockHolder ?? null, staleLock: status.staleLock ?? null };
    process.stdout.write(`${JSON.stringify({ ...json, exitCode: code })}\n`);
  } else {
    // The report on stdout; stderr only for what is wrong (the failed files, once each), so that cron's mail of
    // `status >/dev/null` holds the failures and nothing on a good morning.
    const { notes, problems } = statusDetails(status.lastEnded);
    process.stdout.write(`${[statusLine(status), ...notes].join('\n')}\n`);
    if (problems.length) process.stderr.write(`${problems.join('\n')}\n`);
  }
  return code;
}

/** `2026-11-30 03:00` in local time. */
function when(iso: string | undefined): string {
  if (!iso) return '?';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '?';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function ago(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(t) ? '' : ` (${formatDuration(Math.max(0, (now - t) / 1000))} ago)`;
}

const HEADS: Record<StatusState, string> = {
  none: 'no run recorded',
  running: 'running',
  unfinished: 'did not finish',
  stale: 'stale lock',
  done: 'done',
  failed: 'some files failed',
  interrupted: 'interrupted',
  stopped: 'stopped at its time limit',
  refused: 'refused',
  error: 'stopped by an error',
};

/** How one run ended, in one line. */
function describeRun(record: RunRecord, state: StatusState, now: number): string {
  if (state === 'unfinished') {
    return `did not finish: the run started ${when(record.startedAt)}${ago(record.startedAt, now)} (pid ${record.pid}) stopped without recording an end (killed or crashed?); run backup again to resume`;
  }
  const span = `${when(record.startedAt)} to ${when(record.endedAt)}${ago(record.endedAt, now)}`;
  if (state === 'refused' || state === 'error') {
    return `${HEADS[state]}: the run of ${span} stopped: ${printable(record.error?.message ?? 'no reason recorded')} (${record.error?.code ?? '?'})`;
  }
  const s = record.summary ?? {};
  const parts = [
    `${s.assetsSeen ?? 0} assets`,
    `${s.filesDownloaded ?? 0} files downloaded (${formatBytes(s.bytesDownloaded ?? 0)})`,
    `${s.filesSkipped ?? 0} already there`,
    `${s.filesFailed ?? 0} failed`,
  ];
  const refused = s.failedAccounts?.length ?? 0;
  if (refused) parts.push(`${refused} account${refused > 1 ? 's' : ''} refused by the API, not backed up`);
  const cut = s.incompleteWindows?.length ?? 0;
  if (cut) parts.push(`warning: ${cut} listing${cut > 1 ? 's' : ''} cut short, more assets may exist`);
  if (s.filter && !isEmptyFilter(s.filter)) parts.push(`filter: ${describeFilter(s.filter)}`);
  const capped = s.cappedWindows?.length ?? 0;
  if (capped)
    parts.push(
      `warning: ${capped} listing window${capped > 1 ? 's' : ''} capped, older assets may be missing`,
    );
  return `${HEADS[state]}: the run of ${span}: ${parts.join(', ')}`;
}

export function statusLine(status: BackupStatus, now = Date.now()): string {
  if (status.state === 'stale' && status.last && status.staleLock) {
    const { pid, host, heartbeatAt } = status.staleLock;
    return `stale lock (last heartbeat ${when(heartbeatAt)}${ago(heartbeatAt, now)}, pid ${pid}${host ? ` on ${printable(host)}` : ''}): the run started ${when(status.last.startedAt)} stopped without recording an end; the next backup takes the lock over and resumes`;
  }
  const extras: string[] = [];
  if (status.incompleteAssets) extras.push(`${status.incompleteAssets} assets not complete in the manifest`);
  if (status.deletedOnRunway)
    extras.push(`${plural(status.deletedOnRunway, 'asset')} deleted on Runway, kept here`);
  if (status.outOfReach)
    extras.push(`${plural(status.outOfReach, 'asset')} out of reach of the listing, kept here`);
  if (status.lockHolder && status.state !== 'running')
    extras.push(`pid ${status.lockHolder.pid} holds the lock now`);
  if (status.lockRefusal)
    extras.push(
      `a backup was refused ${when(status.lockRefusal.at)}: ${printable(status.lockRefusal.error.message)}`,
    );
  const tail = extras.length ? `; ${extras.join('; ')}` : '';
  if (status.state === 'none') return `no run recorded in ${status.out}${tail}`;
  if (status.state === 'running' && status.last) {
    const before = status.lastEnded
      ? `; the run before: ${describeRun(status.lastEnded, status.lastEndedState, now)}`
      : '; no earlier run recorded';
    return `running: a backup (pid ${status.last.pid}) started ${when(status.last.startedAt)}${ago(status.last.startedAt, now)}${before}${tail}`;
  }
  return status.last ? `${describeRun(status.last, status.state, now)}${tail}` : `no run recorded${tail}`;
}

/**
 * A run's details, one per line: `problems` (the failed files) are what is wrong; `notes` (capped windows, assets
 * gone before they could be fetched) are standing facts of the account, not failures of the backup.
 */
export function statusDetails(record: RunRecord | undefined): { notes: string[]; problems: string[] } {
  const s = record?.summary;
  const notes: string[] = [];
  const problems: string[] = [];
  if (!s) return { notes, problems };
  for (const f of s.failures ?? []) problems.push(`  failed: ${printable(f.path)}: ${printable(f.reason)}`);
  for (const c of s.cappedWindows ?? []) {
    notes.push(
      `  listing capped: ${c.window}${c.account ? ` (${printable(c.account)})` : ''}, ${c.seen} seen`,
    );
  }
  for (const g of s.gone ?? [])
    notes.push(`  deleted on Runway before it could be fetched: ${printable(g.path)}`);
  return { notes, problems };
}
