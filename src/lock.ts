import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.js';

const LOCK_NAME = '.runway-backup.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<out>/.runway-backup.lock` so two runs never write the same folder at once (they would race on `.part`
 * files and the manifest). A lock left by a process that no longer exists (kill -9) is taken over.
 */
export async function acquireLock(out: string): Promise<() => Promise<void>> {
  const file = path.join(out, LOCK_NAME);
  for (let tries = 0; tries < 3; tries++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return async () => {
        await fs.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new UsageError(
          `Another runway-backup (pid ${pid}) is writing to ${out}; wait for it or stop it`,
        );
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new UsageError(`Cannot take the lock ${file}`);
}

/**
 * The live process holding `<out>/.runway-backup.lock`, or undefined when nobody does (no lock, or one left by a
 * process that no longer exists).
 */
export async function readLockHolder(out: string): Promise<{ pid: number } | undefined> {
  const text = await fs.readFile(path.join(out, LOCK_NAME), 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? { pid } : undefined;
}
