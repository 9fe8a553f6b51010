/**
 * A run refused before it held the output folder still leaves a trace for `status` (DESIGN, "Unattended runs"):
 * otherwise a nightly job that lost its token shows the night before's `done` the next morning. Refused because
 * another run holds the folder, it must not touch that run's record: it writes a note beside the lock instead.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';
import { LockHeldError } from '../store/lock.js';
import { LOCK_REFUSAL_NAME } from '../store/own-files.js';
import { describeError, writeRefusedRecord } from './run-record.js';

/** Named after the lock, whose family of names `verify` already knows as ours. */
export const REFUSAL_NAME = LOCK_REFUSAL_NAME;

/** The last run refused because the folder's lock was held. */
export interface LockRefusal {
  at: string;
  pid: number;
  error: { code: string; message: string };
}

async function isFolder(out: string): Promise<boolean> {
  const stat = await fs.stat(out).catch(() => undefined);
  return stat?.isDirectory() ?? false;
}

/**
 * Records a run refused before it took the lock. Only into a folder that exists: a mistyped first command creates
 * no folder, while a nightly job's folder is there from its first run on. Best effort: never throws.
 */
export async function recordRefusal(out: string | undefined, error: unknown, token?: string): Promise<void> {
  if (out === undefined || !(await isFolder(out))) return;
  try {
    if (error instanceof LockHeldError) {
      const note: LockRefusal = {
        at: new Date().toISOString(),
        pid: process.pid,
        error: describeError(error, token),
      };
      await writeFileAtomic(path.join(out, REFUSAL_NAME), `${JSON.stringify(note)}\n`);
    } else await writeRefusedRecord(out, error, token);
  } catch {
    // A folder we cannot write says so in the error the user sees already.
  }
}

export async function readLockRefusal(out: string): Promise<LockRefusal | undefined> {
  try {
    const data = JSON.parse(await fs.readFile(path.join(out, REFUSAL_NAME), 'utf8')) as Partial<LockRefusal>;
    if (typeof data.at !== 'string' || typeof data.error?.message !== 'string') return undefined;
    return data as LockRefusal;
  } catch {
    return undefined;
  }
}
