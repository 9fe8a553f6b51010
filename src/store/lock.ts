import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** The lock file in the output folder (README, "Files in the output folder"). */
import { LOCK_NAME } from './own-files.js';

export { LOCK_NAME };

/** Another live run holds the folder (a UsageError, exit 2, as before: only its class tells it apart). */
export class LockHeldError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'LockHeldError';
  }
}

/** Held only while a stale lock is being replaced, so that two runs cannot both replace it. */
const BREAK_NAME = `${LOCK_NAME}.break`;
/** A break lock older than this was left by a run killed in the middle of a takeover. */
const BREAK_STALE_MS = 10_000;

interface Holder {
  pid: number;
  host: string;
  /** Unique per acquisition: tells this lock from an older one of a process that had the same pid. */
  token: string;
}

/**
 * The holder refreshes its lock file's mtime this often (the heartbeat), and a lock whose mtime is older than
 * `LOCK_STALE_MS` is stale whatever host and pid it names: a run killed in another container (a new hostname every
 * time), or on a host that is gone, or whose pid was reused, no longer holds the folder forever. The bound is six
 * heartbeats, so a busy disk or a slow network share that delays a few refreshes does not lose a live run its lock.
 */
export const LOCK_HEARTBEAT_MS = 10_000;
export const LOCK_STALE_MS = 60_000;

export interface LockOptions {
  /** @default LOCK_HEARTBEAT_MS */
  heartbeatMs?: number | undefined;
  /** @default LOCK_STALE_MS */
  staleMs?: number | undefined;
  /** Called when a stale lock was taken over: whose it was, and when it last beat. */
  onTakeover?: ((stale: StaleLock) => void) | undefined;
}

/** A lock that was (or is) stale: who it names and its last heartbeat. */
export interface StaleLock {
  pid: number;
  host: string;
  heartbeatAt: Date;
}

/** Locks held by this process, by absolute folder: a second acquire in the same process is refused. */
const heldHere = new Map<string, string>();

/** Whether a process with this pid exists (EPERM: it does, but is another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(text: string): Holder | undefined {
  // Line 1 the pid (all that older versions wrote), line 2 the host, line 3 the token.
  const [pidLine, host = '', token = ''] = text.split('\n');
  const pid = Number.parseInt(pidLine ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? { pid, host, token } : undefined;
}

interface LockFile {
  text: string;
  holder: Holder | undefined;
  /** The last heartbeat: the lock file's mtime. */
  beat: Date;
}

async function readHolder(file: string): Promise<LockFile | undefined> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    return { text, holder: parse(text), beat: stat.mtime };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Whether the process named in a lock may still be writing. A lock whose heartbeat is older than `staleMs` is not,
 * whoever it names; a fresh lock of another host is assumed live (its pid means nothing here).
 */
function isLive(lock: LockFile, out: string, staleMs: number): boolean {
  const { holder } = lock;
  if (holder === undefined) return false;
  const here = holder.host === '' || holder.host === os.hostname();
  if (here && holder.pid === process.pid && heldHere.get(out) === holder.token) return true;
  if (Date.now() - lock.beat.getTime() > staleMs) return false;
  if (!here) return true;
  if (holder.pid === process.pid) return false;
  return alive(holder.pid);
}

/**
 * Refreshes the lock's mtime while it is ours. Stops by itself once the file is gone or holds another token (taken
 * over after this process stalled for longer than the bound). Never keeps the process alive.
 */
function startHeartbeat(file: string, token: string, everyMs: number): () => void {
  let stopped = false;
  const beat = async (): Promise<void> => {
    const current = await readHolder(file).catch(() => undefined);
    if (stopped) return;
    if (current?.holder?.token !== token) {
      stopped = true;
      clearInterval(timer);
      return;
    }
    const now = new Date();
    await fs.utimes(file, now, now).catch(() => {});
  };
  const timer = setInterval(() => void beat(), everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * Creates `file` holding `content`, or fails with EEXIST, atomically: the content is written to a unique temp file
 * first and hard-linked to its name, so no reader ever sees the lock file empty or half written.
 */
async function createExclusive(file: string, content: string): Promise<boolean> {
  // The pid in the name: a run killed between this write and the removal below leaves the temp behind, and the
  // next run that takes the lock removes it (removeDeadTemps).
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, content, { flag: 'wx' });
  try {
    await fs.link(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // FAT/exFAT drives and some network shares have no hard links: there, an exclusive create is the best they
    // allow (the lock of earlier versions; two runs starting at the same instant may both take over a stale one).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
      try {
        await fs.writeFile(file, content, { flag: 'wx' });
        return true;
      } catch (fallback) {
        if ((fallback as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw fallback;
      }
    }
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * Removes the temp files of lock and break-lock writes whose process is gone (killed between writing one and
 * removing it), so they do not pile up in the backup. Names without a pid, of versions before it was in the name,
 * go once they are older than a takeover could take. Best effort: a leftover that cannot be removed must not cost
 * the lock just taken.
 */
async function removeDeadTemps(folder: string): Promise<void> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const match = /^\.runway-backup\.lock(?:\.break)?\.(?:(\d+)\.)?[0-9a-f]{12}\.tmp$/.exec(name);
    if (!match) continue;
    const file = path.join(folder, name);
    if (match[1] !== undefined) {
      if (!alive(Number(match[1]))) await fs.rm(file, { force: true }).catch(() => {});
      continue;
    }
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > BREAK_STALE_MS)
      await fs.rm(file, { force: true }).catch(() => {});
  }
}

/**
 * Removes a stale lock, if it is still the one judged stale (`staleText`). Only one process at a time may do
 * this, under the break lock: without it, two runs that both saw the same stale lock could each remove it, and
 * the slower one would remove the fresh lock the faster one had just taken.
 */
async function breakStale(out: string, file: string, staleText: string): Promise<boolean> {
  const breakFile = path.join(out, BREAK_NAME);
  if (!(await createExclusive(breakFile, `${process.pid}\n`))) {
    // Another run is taking over right now; a break lock left by a crash is cleared after a while.
    const stat = await fs.stat(breakFile).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > BREAK_STALE_MS) await fs.rm(breakFile, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    return false;
  }
  try {
    const current = await readHolder(file);
    if (current?.text !== staleText) return false;
    await fs.rm(file, { force: true });
    return true;
  } finally {
    await fs.rm(breakFile, { force: true });
  }
}

/**
 * Takes `<out>/.runway-backup.lock` so two runs never write the same folder at once (they would race on `.part`
 * files and the manifest). A lock left by a process that no longer exists (kill -9) is taken over; when several
 * runs try that at once, exactly one wins. A second acquire of the same folder in the same process is refused.
 * The returned function removes the lock, and only if it is still this acquisition's own.
 */
export async function acquireLock(out: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const staleMs = options.staleMs ?? LOCK_STALE_MS;
  const folder = path.resolve(out);
  const file = path.join(folder, LOCK_NAME);
  const token = randomBytes(12).toString('hex');
  const content = `${process.pid}\n${os.hostname()}\n${token}\n`;
  for (let tries = 0; tries < 50; tries++) {
    if (heldHere.has(folder)) {
      throw new UsageError(`This process is already writing to ${folder}; one run per folder at a time`);
    }
    if (await createExclusive(file, content)) {
      heldHere.set(folder, token);
      const stopHeartbeat = startHeartbeat(file, token, options.heartbeatMs ?? LOCK_HEARTBEAT_MS);
      await removeDeadTemps(folder);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        stopHeartbeat();
        if (heldHere.get(folder) === token) heldHere.delete(folder);
        const current = await readHolder(file);
        if (current?.holder?.token === token) await fs.rm(file, { force: true });
      };
    }
    const current = await readHolder(file);
    if (current === undefined) continue; // released between our attempt and the read: try again
    if (isLive(current, folder, staleMs)) {
      const pid = current.holder?.pid;
      throw new LockHeldError(
        `Another runway-backup (pid ${pid}) is writing to ${folder}; wait for it or stop it`,
      );
    }
    if ((await breakStale(folder, file, current.text)) && current.holder) {
      options.onTakeover?.({ pid: current.holder.pid, host: current.holder.host, heartbeatAt: current.beat });
    }
  }
  throw new UsageError(`Cannot take the lock ${file}`);
}

/** The live process holding `<out>`'s lock, or undefined when nobody holds it (or its holder is gone). */
export async function readLockHolder(out: string): Promise<{ pid: number } | undefined> {
  const state = await readLockState(out);
  return state?.live ? { pid: state.pid } : undefined;
}

/** The lock file as it stands: whose it is, its last heartbeat, and whether it is live; undefined when absent. */
export async function readLockState(
  out: string,
  staleMs: number = LOCK_STALE_MS,
): Promise<(StaleLock & { live: boolean }) | undefined> {
  const folder = path.resolve(out);
  const current = await readHolder(path.join(folder, LOCK_NAME)).catch(() => undefined);
  if (!current?.holder) return undefined;
  const { pid, host } = current.holder;
  return { pid, host, heartbeatAt: current.beat, live: isLive(current, folder, staleMs) };
}
