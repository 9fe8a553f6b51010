import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { acquireLock, LOCK_NAME, readLockHolder } from '../src/store/lock.js';
import { deadPid } from './helpers/pid.js';
import { tempDir } from './helpers/tmp.js';

/**
 * Starts `n` processes that each try to take `out`'s lock at the same instant. A winner holds it until every one
 * has answered (its stdin is closed then), so a latecomer on a busy machine cannot find it free again and also win.
 */
async function race(out: string, n: number): Promise<string[]> {
  const lock = pathToFileURL(path.resolve('dist/store/lock.js')).href;
  const script = `
    const { acquireLock } = await import(${JSON.stringify(lock)});
    await new Promise((r) => setTimeout(r, Number(process.argv[1]) - Date.now()));
    try {
      const release = await acquireLock(${JSON.stringify(out)});
      process.stdout.write('won');
      process.stdin.resume();
      await new Promise((r) => process.stdin.on('end', r));
      await release();
    } catch (error) {
      process.stdout.write(error.code === 'ERR_USAGE' ? 'lost' : 'error ' + error.message);
    }`;
  const start = Date.now() + 500;
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--input-type=module', '-e', script, String(start)]),
  );
  const answers = children.map(() => '');
  let answered = 0;
  const releaseWhenAllAnswered = (): void => {
    if (++answered === n) for (const child of children) child.stdin.end();
  };
  return Promise.all(
    children.map(
      (child, i) =>
        new Promise<string>((resolve) => {
          child.stdout.on('data', (d: Buffer) => {
            if (answers[i] === '') releaseWhenAllAnswered();
            answers[i] += d.toString();
          });
          child.on('close', () => {
            // A child that died without a word counts as answered too, or the winners would wait forever.
            if (answers[i] === '') releaseWhenAllAnswered();
            resolve(answers[i] ?? '');
          });
        }),
    ),
  );
}

describe('item 5: the output folder lock', () => {
  it('a second acquire in the same process is refused; the lock is free again after release', async () => {
    const out = await tempDir();
    const release = await acquireLock(out);
    await expect(acquireLock(out)).rejects.toMatchObject({ code: 'ERR_USAGE' });
    // The refused attempt left the holder's lock in place.
    expect(await readLockHolder(out)).toEqual({ pid: process.pid });
    await release();
    expect(await readLockHolder(out)).toBeUndefined();
    const again = await acquireLock(out);
    await again();
    expect(await fs.readdir(out)).toEqual([]);
  });

  it('release removes only its own lock, never one another run took over', async () => {
    const out = await tempDir();
    const release = await acquireLock(out);
    const other = `${process.pid + 1}\n${os.hostname()}\nsomeone-else\n`;
    await fs.writeFile(path.join(out, LOCK_NAME), other);
    await release();
    expect(await fs.readFile(path.join(out, LOCK_NAME), 'utf8')).toBe(other);
  });

  it('a lock left by a dead process, or by an earlier process that had our pid, is taken over', async () => {
    const out = await tempDir();
    const file = path.join(out, LOCK_NAME);
    await fs.writeFile(file, `${await deadPid()}\n`); // the format of older versions: the pid alone
    expect(await readLockHolder(out)).toBeUndefined();
    const release = await acquireLock(out);
    await release();
    await fs.writeFile(file, `${process.pid}\n${os.hostname()}\nan-earlier-run\n`);
    const again = await acquireLock(out);
    expect(await readLockHolder(out)).toEqual({ pid: process.pid });
    await again();
  });

  it('temp files of lock writes left by killed runs are removed when the lock is taken; live ones stay', async () => {
    const out = await tempDir();
    const dead = await deadPid();
    const left = [`${LOCK_NAME}.${dead}.0123456789ab.tmp`, `${LOCK_NAME}.break.${dead}.0123456789ab.tmp`];
    const oldFormat = `${LOCK_NAME}.a1b2c3d4e5f6.tmp`; // before the pid was in the name
    const live = `${LOCK_NAME}.${process.pid}.ba9876543210.tmp`;
    const recent = `${LOCK_NAME}.ffffffffffff.tmp`;
    for (const name of [...left, oldFormat, live, recent]) await fs.writeFile(path.join(out, name), '1\n');
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(path.join(out, oldFormat), old, old);
    const release = await acquireLock(out);
    await release();
    expect((await fs.readdir(out)).sort()).toEqual([live, recent].sort());
  });

  it('a live lock of another process is refused with the holder named', async () => {
    const out = await tempDir();
    await fs.writeFile(path.join(out, LOCK_NAME), `${process.ppid}\n${os.hostname()}\nparent\n`);
    await expect(acquireLock(out)).rejects.toThrow(`Another runway-backup (pid ${process.ppid})`);
    expect(await readLockHolder(out)).toEqual({ pid: process.ppid });
  });

  it('processes racing to take over one stale lock: exactly one wins, every round (needs npm run build)', async () => {
    for (let round = 0; round < 3; round++) {
      const out = await tempDir();
      await fs.writeFile(path.join(out, LOCK_NAME), `${await deadPid()}\n`);
      const results = await race(out, 4);
      expect(
        results.filter((r) => r === 'won'),
        results.join(','),
      ).toHaveLength(1);
      expect(results.filter((r) => r === 'lost')).toHaveLength(3);
      expect(await fs.readdir(out)).toEqual([]);
    }
  }, 30_000);
});

it('a folder without hard links (FAT, exFAT, some shares) still gets its lock, exclusively', async () => {
  const { promises } = await import('node:fs');
  const noLinks = Object.assign(new Error('operation not permitted, link'), { code: 'EPERM' });
  const spy = vi.spyOn(promises, 'link').mockRejectedValue(noLinks);
  try {
    const out = await tempDir();
    const release = await acquireLock(out);
    expect(spy).toHaveBeenCalled();
    expect(await readLockHolder(out)).toEqual({ pid: process.pid });
    await expect(acquireLock(out)).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await release();
    expect(await fs.readdir(out)).toEqual([]);
  } finally {
    spy.mockRestore();
  }
});
