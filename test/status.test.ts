import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunwayBackupError, withoutToken } from '../src/errors.js';
import { EXIT, exitCodeFor } from '../src/exit-codes.js';
import {
  describeError,
  outcomeOf,
  outcomeOfError,
  RUN_RECORD_NAME,
  type RunRecord,
} from '../src/report/run-record.js';
import { backup } from '../src/run/backup.js';
import { acquireLock, readLockHolder } from '../src/store/lock.js';
import { runCli } from './helpers/cli.js';
import { deadPid } from './helpers/pid.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

async function record(out: string): Promise<RunRecord> {
  return JSON.parse(await fs.readFile(path.join(out, RUN_RECORD_NAME), 'utf8')) as RunRecord;
}

/** The record of a run this process has going. */
function runningHere(): RunRecord {
  return {
    version: 1,
    tool: 'runway-backup',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    outcome: 'running',
  };
}

describe('runway-backup status (built CLI)', () => {
  it('says a done run in one line, exit 0; --json carries the summary', async () => {
    const s = await sim({ assets: 12 });
    const out = await tempDir();
    expect((await runCli(['status', '--out', out])).code).toBe(2);
    const backup = await runCli(['backup', '--out', out, '--quiet'], env(s));
    expect(backup.code).toBe(0);
    const rec = await record(out);
    expect(rec.outcome).toBe('done');
    expect(rec.summary?.assetsSeen).toBe(12);
    expect(Date.parse(rec.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(rec.startedAt));

    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(0);
    expect(status.stdout.trim().split('\n')).toHaveLength(1);
    expect(status.stdout).toMatch(/^done: the run of .* 12 assets, \d+ files downloaded .* 0 failed\n$/);

    const json = await runCli(['status', '--out', out, '--json']);
    const parsed = JSON.parse(json.stdout) as { state: string; exitCode: number; last: RunRecord };
    expect(parsed).toMatchObject({ state: 'done', exitCode: 0, lockHolder: null });
    expect(parsed.last.summary?.filesFailed).toBe(0);
  });

  it('names failed files, and says a killed run did not finish (exit 1)', async () => {
    const s = await sim({ assets: 6, cdnFaults: { status5xx: 1, maxPerFile: 100 } });
    const out = await tempDir();
    const backup = await runCli(['backup', '--out', out, '--quiet', '--retries', '0'], env(s));
    expect(backup.code).toBe(1);
    const failed = await runCli(['status', '--out', out]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^some files failed: /);
    const failures = (await record(out)).summary?.failures ?? [];
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(failed.stderr).toContain(`failed: ${f.path}`);

    // What kill -9 leaves: a `running` record whose process is gone, the lock file still there.
    const pid = await deadPid();
    const killed: RunRecord = { ...(await record(out)), pid, outcome: 'running', endedAt: undefined };
    await fs.writeFile(path.join(out, RUN_RECORD_NAME), JSON.stringify(killed));
    await fs.writeFile(path.join(out, '.runway-backup.lock'), `${pid}\n`);
    const status = await runCli(['status', '--out', out, '--json']);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'unfinished', lockHolder: null });
    expect((await runCli(['status', '--out', out])).stdout).toMatch(/^did not finish: .*\(pid \d+\)/);
  });

  it('while a run holds the lock, says so and reports the run before it', async () => {
    const out = await tempDir();
    const before: RunRecord = {
      version: 1,
      tool: 'runway-backup',
      pid: await deadPid(),
      startedAt: '2026-11-29T03:00:00.000Z',
      endedAt: '2026-11-29T03:10:00.000Z',
      outcome: 'done',
      summary: { assetsSeen: 5, filesDownloaded: 2, bytesDownloaded: 2000, filesSkipped: 3, filesFailed: 0 },
    };
    const now: RunRecord = { ...runningHere(), previous: before };
    await fs.writeFile(path.join(out, RUN_RECORD_NAME), JSON.stringify(now));
    await fs.writeFile(path.join(out, '.runway-backup.lock'), `${process.pid}\n`);
    const status = await runCli(['status', '--out', out]);
    expect(status.stdout).toMatch(
      new RegExp(`^running: a backup \\(pid ${process.pid}\\) started .*; the run before: done: .*5 assets`),
    );
    expect(status.code).toBe(0);
  });

  it('a backup refused because another run holds the folder leaves that run’s record as it is', async () => {
    const s = await sim({ assets: 2 });
    const out = await tempDir();
    const release = await acquireLock(out);
    try {
      const running = runningHere();
      await fs.writeFile(path.join(out, RUN_RECORD_NAME), JSON.stringify(running));
      const second = await runCli(['backup', '--out', out, '--quiet'], env(s));
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/another runway-backup/i);
      expect(await record(out)).toEqual(running);
    } finally {
      await release();
    }
  });

  it('backup() calls onLocked once it holds the lock and before any listing request; never for a dry run', async () => {
    const s = await sim({ assets: 2 });
    const out = await tempDir();
    const seen: { holder: unknown; requests: number }[] = [];
    await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      concurrency: 2,
      onLocked: async () => {
        seen.push({
          holder: await readLockHolder(out),
          requests: s.stats.listRequests + s.stats.cdnRequests,
        });
      },
    });
    expect(seen).toEqual([{ holder: { pid: process.pid }, requests: 0 }]);
    await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      dryRun: true,
      onLocked: () => void seen.push(seen[0]!),
    });
    expect(seen).toHaveLength(1);
    // A held folder: refused before the hook runs.
    const release = await acquireLock(out);
    try {
      await expect(
        backup({ token: s.token, baseUrl: s.url, out, onLocked: () => void seen.push(seen[0]!) }),
      ).rejects.toMatchObject({ code: 'ERR_USAGE' });
    } finally {
      await release();
    }
    expect(seen).toHaveLength(1);
    // A hook that fails ends the run with its error, and the lock is free again.
    await expect(
      backup({
        token: s.token,
        baseUrl: s.url,
        out,
        onLocked: () => {
          throw new Error('no record');
        },
      }),
    ).rejects.toThrow('no record');
    expect(await readLockHolder(out)).toBeUndefined();
  });

  it('records a refused run with the API error, never the token (exit 1)', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    const token = 'wrong-token-0123456789';
    const backup = await runCli(['backup', '--out', out, '--quiet'], { ...env(s), USEAPI_TOKEN: token });
    expect(backup.code).toBe(3);
    const text = await fs.readFile(path.join(out, RUN_RECORD_NAME), 'utf8');
    expect(text).not.toContain(token);
    expect(JSON.parse(text)).toMatchObject({ outcome: 'refused', error: { code: 'ERR_API_UNAUTHORIZED' } });
    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^refused: the run of .* stopped: .*\(ERR_API_UNAUTHORIZED\)\n$/);
  });

  it('refuses unknown flags in one line, exit 2', async () => {
    const status = await runCli(['status', '--bogus']);
    expect(status.code).toBe(2);
    expect(status.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the outcome a summary stands for', () => {
  const base = { interrupted: false, filesFailed: 0, failedAccounts: [], incompleteWindows: [] };
  it('is done only when nothing was missed', () => {
    expect(outcomeOf(base)).toBe('done');
    expect(outcomeOf({ ...base, filesFailed: 1 })).toBe('failed');
    expect(outcomeOf({ ...base, interrupted: true, filesFailed: 1 })).toBe('interrupted');
  });
  it('an account the API refused, or a listing cut short, is not "done"', () => {
    const refused = { account: 'b@x.io', code: 'ERR_API_BAD_REQUEST', reason: 'not configured' };
    expect(outcomeOf({ ...base, failedAccounts: [refused] })).toBe('failed');
    const cut = { account: undefined, window: 'all' as const, seen: 900, requests: 200 };
    expect(outcomeOf({ ...base, incompleteWindows: [cut] })).toBe('failed');
  });
});

describe('the outcome an error stands for', () => {
  it('follows the exit codes: the command line, the config and the API refusing are "refused"; trouble is "error"', () => {
    const outcome = (code: string) => outcomeOfError(new RunwayBackupError(code, 'x'));
    for (const code of ['ERR_USAGE', 'ERR_CONFIG', 'ERR_API_UNAUTHORIZED', 'ERR_API_PAYMENT_REQUIRED']) {
      expect(outcome(code), code).toBe('refused');
      expect(exitCodeFor(new RunwayBackupError(code, 'x')), code).toBeOneOf([EXIT.usage, EXIT.apiRefused]);
    }
    for (const code of [
      'ERR_API_BAD_REQUEST',
      'ERR_API_FORBIDDEN',
      'ERR_API_ACCOUNT_ERROR',
      'ERR_API_STATUS',
    ]) {
      expect(outcome(code), code).toBe('refused');
    }
    const trouble = [
      'ERR_API_RATE_LIMITED',
      'ERR_API_SERVER',
      'ERR_API_MALFORMED',
      'ERR_NETWORK',
      'ERR_DISK',
    ];
    for (const code of [...trouble, 'ERR_MANIFEST_CORRUPT', 'ERR_SOMETHING_NEW']) {
      expect(outcome(code), code).toBe('error');
    }
    expect(outcome('ERR_ABORTED')).toBe('interrupted');
    expect(outcomeOfError(new Error('boom'))).toBe('error');
  });

  it('its message never carries the token', () => {
    const token = 'tok-0123456789';
    const error = new RunwayBackupError('ERR_API_UNAUTHORIZED', `Bearer ${token} was refused\nsecond line`);
    expect(describeError(error, token)).toEqual({
      code: 'ERR_API_UNAUTHORIZED',
      message: 'Bearer *** was refused',
    });
    expect(withoutToken(`a ${token} b ${token}`, token)).toBe('a *** b ***');
    expect(withoutToken('abc', 'ab')).toBe('abc');
  });
});

describe('bad input writes nothing', () => {
  it('a base URL with credentials is refused before the output folder or a run record exists', async () => {
    const out = path.join(await tempDir(), 'never');
    const result = await runCli(['backup', '--out', out, '--base-url', 'http://user:pw@127.0.0.1:9'], {
      USEAPI_TOKEN: 'sim-token',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/must not carry credentials/);
    await expect(fs.stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
