// src/report/: what a person reads afterwards: progress lines, the run record, status, verify and formatting.
// Reads the store and the run's summary types; never imports commands or the gallery.
/**
 * What `runway-backup status` reports: the last run from its record, whether a process holds the lock now, and how
 * many assets the manifest still wants. Reads only; never takes the lock.
 */
import { LOCK_STALE_MS, readLockState } from '../store/lock.js';
import { Manifest } from '../store/manifest.js';
import { unwantedRecords } from '../store/unwanted.js';
import { type LockRefusal, readLockRefusal } from './refusal.js';
import { type RunOutcome, type RunRecord, readRunRecord } from './run-record.js';

/**
 * `none`: no run recorded; `running`: a run holds the lock now; `unfinished`: the last run started and never
 * recorded an end, and nobody holds the lock (killed, crashed, power cut); `stale`: the same, and its lock is still
 * there with a heartbeat older than the bound (a run killed in another container or on another host); otherwise how the last run ended.
 */
export type StatusState = 'none' | 'running' | 'unfinished' | 'stale' | Exclude<RunOutcome, 'running'>;

export interface BackupStatus {
  out: string;
  state: StatusState;
  /** The last run recorded: the one going on now when `running`. */
  last: RunRecord | undefined;
  /** The last run that ended (or was cut short): `last` itself, or, while a run goes on, the one before it. */
  lastEnded: RunRecord | undefined;
  /** The state of `lastEnded`. */
  lastEndedState: StatusState;
  /** The live process holding the output folder's lock, if any (a backup or a verify). */
  lockHolder: { pid: number } | undefined;
  /** The lock file when it is stale: whose it is and its last heartbeat (the next backup takes it over). */
  staleLock: { pid: number; host: string; heartbeatAt: string } | undefined;
  /** A run refused because the lock was held, later than the last run recorded (shown beside `running`). */
  lockRefusal: LockRefusal | undefined;
  /** Assets the manifest records as not complete yet (a file failed, missing or damaged); undefined without one. */
  incompleteAssets: number | undefined;
  /** Assets the backup holds whose asset Runway deleted (files kept here); undefined without a manifest. */
  deletedOnRunway: number | undefined;
  /** Assets the backup holds that the listing no longer reaches though Runway still has them. */
  outOfReach: number | undefined;
}

function stateOf(record: RunRecord | undefined, holderPid: number | undefined): StatusState {
  if (!record) return 'none';
  if (record.outcome !== 'running') return record.outcome;
  return holderPid !== undefined && holderPid === record.pid ? 'running' : 'unfinished';
}

/** A run refused because the lock was held, as a record: when nothing runs now, it is the latest word. */
function refusedRecord(refusal: LockRefusal, previous: RunRecord | undefined): RunRecord {
  const { at, pid, error } = refusal;
  const before = previous ? { ...previous, previous: undefined } : undefined;
  return {
    version: 1,
    tool: 'runway-backup',
    pid,
    startedAt: at,
    endedAt: at,
    outcome: 'refused',
    error,
    previous: before,
  };
}

function isLater(refusal: LockRefusal | undefined, record: RunRecord | undefined): refusal is LockRefusal {
  if (!refusal) return false;
  return !record || Date.parse(refusal.at) > Date.parse(record.endedAt ?? record.startedAt);
}

export async function readStatus(out: string): Promise<BackupStatus> {
  const [recorded, lock, refused] = await Promise.all([
    readRunRecord(out),
    readLockState(out),
    readLockRefusal(out),
  ]);
  const lockHolder = lock?.live ? { pid: lock.pid } : undefined;
  const stale =
    lock && !lock.live && Date.now() - lock.heartbeatAt.getTime() > LOCK_STALE_MS
      ? { pid: lock.pid, host: lock.host, heartbeatAt: lock.heartbeatAt.toISOString() }
      : undefined;
  const refusal = isLater(refused, recorded) ? refused : undefined;
  let last = recorded;
  let state = stateOf(last, lockHolder?.pid);
  if (state === 'unfinished' && stale) state = 'stale';
  if (refusal && state !== 'running') {
    last = refusedRecord(refusal, recorded);
    state = 'refused';
  }
  const lastEnded = state === 'running' ? last?.previous : last;
  const lastEndedState = state === 'running' ? stateOf(lastEnded, undefined) : state;
  return {
    out,
    state,
    last,
    lastEnded,
    lastEndedState,
    lockHolder,
    staleLock: stale,
    lockRefusal: state === 'running' ? refusal : undefined,
    ...(await countManifest(out)),
  };
}

type ManifestCounts = Pick<BackupStatus, 'incompleteAssets' | 'deletedOnRunway' | 'outOfReach'>;

async function countManifest(out: string): Promise<ManifestCounts> {
  const none = { incompleteAssets: undefined, deletedOnRunway: undefined, outOfReach: undefined };
  try {
    const manifest = await Manifest.load(out);
    manifest.close();
    if (manifest.size === 0) return none;
    const entries = Object.values(manifest.data.assets);
    // An asset the backup no longer wants (forgotten, left out by the last run's filter) is not waiting for a run.
    const unwanted = unwantedRecords(manifest);
    const held = (state: string) =>
      entries.filter((a) => a.fate?.state === state && a.files.some((f) => f.status === 'done')).length;
    return {
      incompleteAssets: entries.filter((a) => a.status !== 'complete' && !unwanted(a)).length,
      deletedOnRunway: held('deleted'),
      outOfReach: held('out-of-reach'),
    };
  } catch {
    return none;
  }
}
