import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFUSAL_NAME } from '../src/report/refusal.js';
import { RUN_RECORD_NAME, type RunRecord } from '../src/report/run-record.js';
import { acquireLock } from '../src/store/lock.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

async function record(out: string): Promise<RunRecord> {
  return JSON.parse(await fs.readFile(path.join(out, RUN_RECORD_NAME), 'utf8')) as RunRecord;
}

describe('issue 20, item 1: status is never silent', () => {
  it('a nightly run refused for want of a token is recorded: status says refused (exit 1), not last night’s done', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    expect((await runCli(['backup', '--out', out, '-q'], env(s))).code).toBe(0);
    const refused = await runCli(['backup', '--out', out, '-q'], { USEAPI_BASE_URL: s.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^runway-backup: No API token/);
    const rec = await record(out);
    expect(rec).toMatchObject({ outcome: 'refused', error: { code: 'ERR_USAGE' } });
    // The run before is kept, with its summary, for the standing conditions.
    expect(rec.previous?.outcome).toBe('done');
    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^refused: .*No API token.*\(ERR_USAGE\)\n$/);
    expect(status.stderr).toBe('');
  });

  it('a bad config file is recorded in the folder --out names; a bad flag in the folder that exists', async () => {
    const out = await tempDir();
    const config = path.join(out, 'bad.json');
    await fs.writeFile(config, '{"mediatypes": ["video"]}');
    const bad = await runCli(['backup', '--out', out, '--config', config], { USEAPI_TOKEN: 'tok-1234' });
    expect(bad.code).toBe(2);
    expect(await record(out)).toMatchObject({ outcome: 'refused', error: { code: 'ERR_CONFIG' } });
    const flag = await runCli(['backup', '--out', out, '--concurrency', 'many'], {
      USEAPI_TOKEN: 'tok-1234',
    });
    expect(flag.code).toBe(2);
    const rec = await record(out);
    expect(rec.error?.message).toMatch(/concurrency/);
    expect(JSON.stringify(rec)).not.toContain('tok-1234');
    // A folder that does not exist is not created for a refused run.
    const missing = path.join(out, 'not-yet');
    expect((await runCli(['backup', '--out', missing], {})).code).toBe(2);
    await expect(fs.stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refused because the lock is held: the holder’s record stays, the refusal is noted and shown', async () => {
    const s = await sim({ assets: 2 });
    const out = await tempDir();
    const release = await acquireLock(out);
    try {
      const running: RunRecord = {
        version: 1,
        tool: 'runway-backup',
        pid: process.pid,
        startedAt: new Date(Date.now() - 1000).toISOString(),
        outcome: 'running',
      };
      await fs.writeFile(path.join(out, RUN_RECORD_NAME), JSON.stringify(running));
      const second = await runCli(['backup', '--out', out, '-q'], env(s));
      expect(second.code).toBe(2);
      expect(await record(out)).toEqual(running);
      const note = JSON.parse(await fs.readFile(path.join(out, REFUSAL_NAME), 'utf8')) as {
        error: { message: string };
      };
      expect(note.error.message).toMatch(/Another runway-backup/);
      const status = await runCli(['status', '--out', out]);
      expect(status.stdout).toMatch(/^running: .*a backup was refused .*Another runway-backup/);
    } finally {
      await release();
    }
    // Nobody runs now, and the refusal is the latest word.
    const after = await runCli(['status', '--out', out, '--json']);
    expect(JSON.parse(after.stdout)).toMatchObject({ state: 'refused', exitCode: 1 });
  });
});

describe('issue 20, item 1: status is never noisy', () => {
  it('a capped window said once: the next quiet run is silent, status puts it on stdout (exit 0)', async () => {
    const s = await sim({ assets: 1060, mediaMix: { video: 1 }, uploadShare: 0, fixedSizes: 10 });
    const out = await tempDir();
    const args = ['backup', '--out', out, '-q', '--no-previews', '--task-history', 'never', '--no-gallery'];
    const first = await runCli(args, env(s));
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/warning: the video window is capped/);
    const second = await runCli(args, env(s));
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
    expect((await record(out)).summary?.cappedWindows).toEqual([{ window: 'video', seen: 1050 }]);
    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^done: .*\n {2}listing capped: video, 1050 seen\n$/);
    expect(status.stderr).toBe('');
  }, 120_000);

  it('status names each failed file once, on stderr, and nothing else there', async () => {
    const s = await sim({ assets: 4, cdnFaults: { status5xx: 1, maxPerFile: 100 } });
    const out = await tempDir();
    expect((await runCli(['backup', '--out', out, '-q', '--retries', '0'], env(s))).code).toBe(1);
    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(1);
    const failures = (await record(out)).summary?.failures ?? [];
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(status.stderr.split(`failed: ${f.path}:`)).toHaveLength(2);
    expect(status.stdout.split('\n')[0]).toMatch(/^some files failed: /);
    expect(status.stderr.trim().split('\n')).toHaveLength(failures.length);
  });
});
