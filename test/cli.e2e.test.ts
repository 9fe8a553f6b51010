import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackupSummary } from '../src/run/backup.js';
import { expectBackupMatches, listFiles, readManifest, waitForPart } from './helpers/backup-check.js';
import { finished, runCli, spawnCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

async function bytesOnDisk(out: string): Promise<number> {
  let total = 0;
  for (const f of await listFiles(out)) {
    if (f === 'manifest.json' || f.endsWith('.json') || f.startsWith('.')) continue;
    total += (await fs.stat(path.join(out, f))).size;
  }
  return total;
}

describe('runway-backup (built CLI, child process, simulator over real sockets)', () => {
  it('backup is byte-identical; a re-run downloads zero bytes', async () => {
    const s = await sim({ assets: 60 });
    const out = await tempDir();
    const first = await runCli(['backup', '--out', out, '--json'], env(s));
    expect(first.stderr).toMatch(/Done in .*: 60 assets/);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout) as BackupSummary;
    const { files } = await expectBackupMatches(s, out);
    expect(summary).toMatchObject({
      assetsSeen: 60,
      filesDownloaded: files,
      filesFailed: 0,
      interrupted: false,
    });
    s.resetStats();
    const second = await runCli(['backup', '--out', out, '--json'], env(s));
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      filesDownloaded: 0,
      bytesDownloaded: 0,
      filesSkipped: files,
    });
    expect(s.stats.cdnRequests).toBe(0);
  });

  it('--media-type video --no-previews downloads exactly the video files', async () => {
    const s = await sim({ assets: 60 });
    const out = await tempDir();
    const result = await runCli(
      ['backup', '--out', out, '--media-type', 'video', '--no-previews', '--quiet'],
      env(s),
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    // A real run lists nothing on stdout: the path list is what a dry run prints.
    expect(result.stdout).toBe('');
    await expectBackupMatches(s, out, { types: ['video'], previews: false });
    const own = ['manifest.json', 'index.html', 'SHA256SUMS', '.runway-backup-status.json'];
    const files = (await listFiles(out)).filter((f) => !own.includes(f));
    expect(files.every((f) => f.startsWith('video/') && f.endsWith('.mp4') && !f.includes('.preview-'))).toBe(
      true,
    );
  });

  it('kill -9 mid-run, then a re-run ends byte-identical and fetches little more than what was missing', async () => {
    const s = await sim({
      assets: 30,
      mainSize: { min: 300_000, max: 600_000 },
      cdnBytesPerSecond: 1_500_000,
    });
    const total = s.assets().reduce((n, a) => n + a.files.reduce((m, f) => m + f.size, 0), 0);
    const out = await tempDir();
    const child = spawnCli(['backup', '--out', out, '--quiet'], env(s));
    const done = finished(child);
    // Wait until real progress is on disk, then kill without warning.
    await expect
      .poll(async () => bytesOnDisk(out).catch(() => 0), { timeout: 20_000, interval: 50 })
      .toBeGreaterThan(total / 3);
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const kept = await bytesOnDisk(out); // finished files and .part files
    expect(kept).toBeLessThan(total);
    s.resetStats();
    const rerun = await runCli(['backup', '--out', out, '--json'], env(s));
    expect(rerun.code).toBe(0);
    await expectBackupMatches(s, out);
    // Range continuation: the second run fetches what was missing, plus at most a few files started over
    // (a file killed before its validator was saved restarts from zero).
    const missing = total - kept;
    expect(s.stats.cdnBytes).toBeGreaterThanOrEqual(missing);
    expect(s.stats.cdnBytes).toBeLessThanOrEqual(missing + 4 * 620_000);
  });

  it('SIGINT exits 130 with a parseable manifest and keeps .part files; the next run completes', async () => {
    const s = await sim({ assets: 20, mainSize: { min: 400_000, max: 600_000 }, cdnBytesPerSecond: 500_000 });
    const out = await tempDir();
    const child = spawnCli(['backup', '--out', out], env(s));
    const done = finished(child);
    await waitForPart(out);
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted/i);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await readManifest(out);
    expect((await listFiles(out)).some((f) => f.endsWith('.part'))).toBe(true);
    // The slow CDN was only there to catch the run mid-transfer; the resume need not crawl.
    s.configure({ cdnBytesPerSecond: undefined });
    const rerun = await runCli(['backup', '--out', out, '--quiet'], env(s));
    expect(rerun.code).toBe(0);
    await expectBackupMatches(s, out);
  });

  it('a second Ctrl-C exits 130 at once, and the next run still completes', async () => {
    const s = await sim({ assets: 20, mainSize: { min: 400_000, max: 600_000 }, cdnBytesPerSecond: 200_000 });
    const out = await tempDir();
    const child = spawnCli(['backup', '--out', out], env(s));
    const done = finished(child);
    await waitForPart(out);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    // The slow CDN was only there to catch the run mid-transfer; the resume need not crawl.
    s.configure({ cdnBytesPerSecond: undefined });
    const rerun = await runCli(['backup', '--out', out, '--quiet'], env(s));
    expect(rerun.code).toBe(0);
    await expectBackupMatches(s, out);
  });

  it('a bad token exits 3 with one line and without printing the token', async () => {
    const s = await sim({ assets: 5 });
    const out = await tempDir();
    const token = 'wrong-TOKEN-d1st1nct1ve';
    for (const args of [['backup', '--out', out], ['list']]) {
      const result = await runCli(args, { USEAPI_TOKEN: token, USEAPI_BASE_URL: s.url });
      expect(result.code).toBe(3);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/401 Unauthorized/);
      expect(result.stdout + result.stderr).not.toContain(token);
    }
    for (const f of await listFiles(out))
      expect(await fs.readFile(path.join(out, f), 'utf8')).not.toContain(token);
  });

  it('list prints a table, JSON lines with --json, and a summary on stderr', async () => {
    const s = await sim({ assets: 55 });
    const table = await runCli(['list'], env(s));
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID\s+TYPE\s+FROM\s+CREATED\s+SIZE\s+NAME$/);
    expect(rows).toHaveLength(56);
    expect(table.stderr).toMatch(/^55 assets \(\d+ \w+/);
    expect(table.stderr).toMatch(/window not capped/);
    const json = await runCli(['list', '--json', '--media-type', 'image'], env(s));
    const items = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { assetId: string; mediaType: string });
    expect(items.map((i) => i.assetId)).toEqual(
      s
        .assets()
        .filter((a) => a.mediaType === 'image')
        .map((a) => a.assetId),
    );
  });

  it.each([
    [['backup', '--concurrency', '0'], /`--concurrency` to be "auto" or an integer from 1 to 32/],
    [['backup', '--concurrency', 'lots'], /`--concurrency`/],
    [['backup', '--media-type', 'gif'], /`--media-type`/],
    [['backup', '--email', 'not-an-email'], /`--email`/],
    [['backup', '--bogus'], /Unknown option '--bogus'/],
    [['backup', '--config', '/nonexistent.json'], /Cannot read config file/],
    [['backup', '--base-url', 'ftp://x'], /base-url/],
    [['frobnicate'], /Unknown command "frobnicate"/],
  ])('bad usage %j exits 2 with one clear line', async (args, message) => {
    const result = await runCli(args, { USEAPI_TOKEN: 'tok' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('a missing token exits 2 and says how to set it', async () => {
    const result = await runCli(['backup', '--out', await tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/USEAPI_TOKEN/);
  });

  it('an unreachable host exits 4 with one line (with -q: the retry notices are progress, item 11)', async () => {
    const result = await runCli(['list', '-q', '--base-url', 'http://127.0.0.1:9'], { USEAPI_TOKEN: 'tok' });
    expect(result.code).toBe(4);
    expect(result.stderr.trim()).toBe('runway-backup: Could not reach 127.0.0.1:9: ECONNREFUSED');
  }, 60_000);

  it('--help lists every command and the exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatchSnapshot();
  });
});
