// src/report/: what a person reads afterwards: progress lines, the run record, status, verify and formatting.
// Reads the store and the run's summary types; never imports commands or the gallery.
/**
 * What `runway-backup status` reports: the last run from its record, whether a process holds the lock now, and how
 * many assets the manifest still wants. Reads only; never takes the lock.
 */
import { readLockHolder } from '../store/lock.js';
import { Manifest } from '../store/manifest.js';
import { unwantedRecords } from '../store/unwanted.js';
import { type RunOutcome, type RunRecord, readRunRecord } from './run-record.js';

/**
 * `none`: no run recorded; `running`: a run holds the lock now; `unfinished`: the last run started and never
 * recorded an end, and nobody holds the lock (killed, crashed, power cut); otherwise how the last run ended.
 */
export type StatusState = 'none' | 'running' | 'unfinished' | Exclude<RunOutcome, 'running'>;

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

export async function readStatus(out: string): Promise<BackupStatus> {
  const [last, lockHolder] = await Promise.all([readRunRecord(out), readLockHolder(out)]);
  const state = stateOf(last, lockHolder?.pid);
  const lastEnded = state === 'running' ? last?.previous : last;
  const lastEndedState = state === 'running' ? stateOf(lastEnded, undefined) : state;
  return {
    out,
    state,
    last,
    lastEnded,
    lastEndedState,
    lockHolder,
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
