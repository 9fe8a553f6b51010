import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUN_RECORD_NAME, type RunRecord } from '../src/report/run-record.js';
import { acquireLock, LOCK_NAME, LOCK_STALE_MS, LockHeldError, type StaleLock } from '../src/store/lock.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { deadPid } from './helpers/pid.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

/** A lock as another container writes it: its own hostname, a pid that means nothing here, an old heartbeat. */
async function foreignLock(out: string, pid: number, host: string, ageMs: number): Promise<void> {
  const file = path.join(out, LOCK_NAME);
  await fs.writeFile(file, `${pid}\n${host}\nanother-container\n`);
  const beat = new Date(Date.now() - ageMs);
  await fs.utimes(file, beat, beat);
}

/** Tries to take `out`'s lock in another process with `staleMs`; says `won` or the error's message. */
function tryInChild(out: string, staleMs: number): Promise<string> {
  const lock = pathToFileURL(path.resolve('dist/store/lock.js')).href;
  const script = `
    const { acquireLock } = await import(${JSON.stringify(lock)});
    try { const release = await acquireLock(${JSON.stringify(out)}, { staleMs: ${staleMs} }); await release(); process.stdout.write('won'); }
    catch (error) { process.stdout.write(error.message); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
  let said = '';
  child.stdout.on('data', (d: Buffer) => {
    said += d.toString();
  });
  return new Promise((resolve) => child.on('close', () => resolve(said)));
}

describe('issue 20, item 6: a lock that survives a new container', () => {
  it('another host’s lock with a dead pid and an old heartbeat is taken over, and the takeover is said', async () => {
    const out = await tempDir();
    await foreignLock(out, await deadPid(), 'old-pod-7f9c', LOCK_STALE_MS + 5000);
    const seen: StaleLock[] = [];
    const release = await acquireLock(out, { onTakeover: (stale) => seen.push(stale) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ host: 'old-pod-7f9c' });
    expect((await fs.readFile(path.join(out, LOCK_NAME), 'utf8')).split('\n')[1]).toBe(os.hostname());
    await release();
  });

  it('a pid reused by a live process on this host does not keep a lock whose heartbeat is old', async () => {
    const out = await tempDir();
    await foreignLock(out, process.ppid, os.hostname(), LOCK_STALE_MS + 5000);
    const release = await acquireLock(out);
    await release();
  });

  it('a fresh lock of another host is refused, with its holder named', async () => {
    const out = await tempDir();
    await foreignLock(out, 4242, 'busy-pod', 1000);
    await expect(acquireLock(out)).rejects.toBeInstanceOf(LockHeldError);
    await expect(acquireLock(out)).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });

  it('the holder keeps its heartbeat fresh: a second host sharing the folder refuses it long after the bound', async () => {
    const out = await tempDir();
    const release = await acquireLock(out, { heartbeatMs: 50 });
    try {
      // As a run on another host sees it: the holder's host is not its own, so only the heartbeat tells.
      const file = path.join(out, LOCK_NAME);
      const [pid, , token] = (await fs.readFile(file, 'utf8')).split('\n');
      await fs.writeFile(file, `${pid}\nanother-host\n${token}\n`);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await tryInChild(out, 1000)).toMatch(/^Another runway-backup \(pid \d+\) is writing/);
    } finally {
      await release();
    }
  });

  it('status says "stale lock (last heartbeat …)" instead of running; the next backup takes over and says so', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    const pid = await deadPid();
    const running: RunRecord = {
      version: 1,
      tool: 'runway-backup',
      pid,
      startedAt: new Date(Date.now() - 3_600_000).toISOString(),
      outcome: 'running',
    };
    await fs.writeFile(path.join(out, RUN_RECORD_NAME), JSON.stringify(running));
    await foreignLock(out, pid, 'old-pod-7f9c', 3_000_000);
    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^stale lock \(last heartbeat .*, pid \d+ on old-pod-7f9c\): /);
    const json = JSON.parse((await runCli(['status', '--out', out, '--json'])).stdout) as { state: string };
    expect(json.state).toBe('stale');
    const backup = await runCli(['backup', '--out', out, '--no-gallery'], env(s));
    expect(backup.code).toBe(0);
    expect(backup.stderr).toMatch(/^took over a stale lock of pid \d+ on old-pod-7f9c \(last heartbeat /);
    expect((await runCli(['status', '--out', out])).stdout).toMatch(/^done: /);
  });

  it('two live backups of one folder: the second is refused while the first runs', async () => {
    const s = await sim({ assets: 4, fixedSizes: 2_000_000, cdnLinkBytesPerSecond: 1_000_000 });
    const out = await tempDir();
    const first = spawnCli(['backup', '--out', out, '-q', '--no-previews'], env(s));
    try {
      // The first holds the lock once its lock file is there.
      for (let i = 0; i < 200; i++) {
        if (await fs.stat(path.join(out, LOCK_NAME)).catch(() => undefined)) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const second = await runCli(['backup', '--out', out, '-q'], env(s));
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/Another runway-backup \(pid \d+\) is writing/);
    } finally {
      first.kill('SIGINT');
      await new Promise((resolve) => first.on('close', resolve));
    }
  });
});
