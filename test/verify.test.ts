import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyBackup } from '../src/report/verify.js';
import { backup } from '../src/run/backup.js';
import { expectBackupMatches, readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { deadPid } from './helpers/pid.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

describe('verify', () => {
  it('finds missing, corrupt, truncated, unfinished and untracked files; backup then re-fetches exactly those', async () => {
    const s = await sim({ assets: 12 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out });
    const entries = Object.values((await readManifest(out)).assets);
    const [gone, flipped, cut] = entries.map((e) => e.files[0]!.path);
    await fs.rm(path.join(out, gone!));
    const flippedFile = path.join(out, flipped!);
    const bytes = await fs.readFile(flippedFile);
    bytes[100] = bytes[100]! ^ 0xff; // same size, one bit pattern changed: only sha256 can tell
    await fs.writeFile(flippedFile, bytes);
    await fs.truncate(path.join(out, cut!), 5);
    await fs.writeFile(path.join(out, 'notes.txt'), 'mine');
    await fs.writeFile(path.join(out, 'video', 'stale.mp4.part'), 'x');

    const quick = await runCli(['verify', '--out', out, '--quick', '--json']);
    expect(quick.code).toBe(1);
    const quickReport = JSON.parse(quick.stdout);
    // Size-only checking cannot see the flipped bytes.
    expect(quickReport.missing.map((m: { path: string }) => m.path)).toEqual([gone]);
    expect(quickReport.corrupt.map((m: { path: string }) => m.path)).toEqual([cut]);

    // The quick run already demoted and set aside what it found; the full run finds the flipped file too.
    const full = await verifyBackup({ out });
    expect(full.corrupt.map((c) => c.path)).toEqual([flipped]);
    expect(full.corrupt[0]?.reason).toMatch(/sha256/);
    expect(full.corrupt[0]?.movedTo).toMatch(/\.damaged-1\.\w+$/);
    expect(full.untracked).toEqual(['notes.txt']);
    // Both set-aside copies (the truncated one from the quick run, the flipped one now) are kept, and reported
    // as what they are, not as untracked files.
    expect(full.setAside).toHaveLength(2);
    expect(full.setAside.every((u) => u.includes('.damaged-'))).toBe(true);
    expect(full.partials).toEqual(['video/stale.mp4.part']);

    s.resetStats();
    await fs.rm(path.join(out, 'video', 'stale.mp4.part'));
    const repaired = await backup({ token: s.token, baseUrl: s.url, out });
    expect(repaired.filesDownloaded).toBe(3);
    expect(s.stats.cdnRequests).toBe(3);
    const after = await runCli(['verify', '--out', out]);
    expect(after.code).toBe(0);
    expect(after.stderr).toMatch(/0 missing, 0 corrupt, 0 unfinished/);
    const aside = [...full.corrupt, ...quickReport.corrupt].map((c: { movedTo: string }) => c.movedTo);
    await expectBackupMatches(s, out, { extra: ['notes.txt', ...aside] });
  });

  it('temp files of an interrupted atomic write: verify passes over ours, a backup removes those of dead runs', async () => {
    const s = await sim({ assets: 2 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out });
    const dead = await deadPid();
    const ours = [
      `..runway-backup-status.json.${dead}.0badc0de.tmp`,
      `.index.html.${dead}.12345678.tmp`,
      `.manifest.json.${dead}.9abcdef0.tmp`,
    ];
    const live = `..runway-backup-status.json.${process.pid}.abcdef01.tmp`;
    const stranger = `.notes.txt.${dead}.0badc0de.tmp`;
    for (const name of [...ours, live, stranger]) await fs.writeFile(path.join(out, name), 'x');
    const report = await verifyBackup({ out });
    expect(report.untracked).toEqual([stranger]);
    // A run clears the leftovers of processes that are gone once it holds the lock (backup() itself, so the CLI and
    // library runs alike), and only ours.
    const run = await runCli(['backup', '--out', out, '--quiet'], {
      USEAPI_TOKEN: s.token,
      USEAPI_BASE_URL: s.url,
    });
    expect(run.code).toBe(0);
    const names = await fs.readdir(out);
    for (const name of ours) expect(names).not.toContain(name);
    expect(names).toContain(live);
    expect(names).toContain(stranger);
    // The library's backup(), which writes no run record, clears the run record's and the gallery's leftovers too.
    for (const name of ours) await fs.writeFile(path.join(out, name), 'x');
    await backup({ token: s.token, baseUrl: s.url, out });
    const after = await fs.readdir(out);
    for (const name of ours) expect(after).not.toContain(name);
    expect(after).toContain(live);
    expect(after).toContain(stranger);
  });

  it('a corrupt manifest is a usage error, kept as it was, and leaves no lock behind', async () => {
    const out = await tempDir();
    await fs.writeFile(path.join(out, 'manifest.json'), '{"version": 1, "assets": {');
    const result = await runCli(['verify', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/manifest\.json is not valid JSON; it was left untouched/);
    expect(await fs.readdir(out)).toEqual(['manifest.json']);
  });

  it('a folder without a backup is a usage error', async () => {
    const result = await runCli(['verify', '--out', await tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/No backup in .*: there is no manifest.json/);
  });

  it('item 1: what verify found missing or corrupt stays wanted: every later verify says so until a backup fetches it', async () => {
    const s = await sim({ assets: 8 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out });
    const [gone, flipped, cut] = Object.values((await readManifest(out)).assets).map((e) => e.files[0]!.path);
    await fs.rm(path.join(out, gone!));
    const bytes = await fs.readFile(path.join(out, flipped!));
    bytes[10] = bytes[10]! ^ 0xff;
    await fs.writeFile(path.join(out, flipped!), bytes);
    await fs.truncate(path.join(out, cut!), 3);

    const first = await runCli(['verify', '--out', out]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/3 files need fetching/);
    for (const second of [await runCli(['verify', '--out', out]), await runCli(['verify', '--out', out])]) {
      // The nightly verify after that: still not healthy, still naming the three files, on stdout.
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/3 files need fetching/);
      expect(second.stdout.match(/^needs fetching: /gm)).toHaveLength(3);
      expect(second.stdout).not.toMatch(/^untracked: /m);
      expect(second.stdout.match(/^set aside: .*\.damaged-1\./gm)).toHaveLength(2);
    }
    const json = JSON.parse((await runCli(['verify', '--out', out, '--json'])).stdout);
    expect(json.healthy).toBe(false);
    expect(json.needFetching).toBe(3);
    expect(json.wanted.map((w: { path: string }) => w.path).sort()).toEqual([gone, flipped, cut].sort());
    // isDone must not take a wanted file for done: the backup fetches exactly those three.
    const repaired = await backup({ token: s.token, baseUrl: s.url, out });
    expect(repaired.filesDownloaded).toBe(3);
    const after = await runCli(['verify', '--out', out, '--json']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ healthy: true, needFetching: 0, wanted: [] });
  });

  it('item 1: a backup that finds a recorded file damaged says so on stderr, and fetches it again', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const victim = Object.values((await readManifest(out)).assets)[0]!.files[0]!.path;
    await fs.truncate(path.join(out, victim), 7);
    const result = await runCli(['backup', '--out', out, '--no-previews'], {
      USEAPI_TOKEN: s.token,
      USEAPI_BASE_URL: s.url,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`damaged since it was backed up (wrong size): ${victim}; kept as`);
    expect(result.stderr).toMatch(/1 file downloaded/);
  });

  it('item 13: an output folder that is a file is one line, exit 2, for verify and backup', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, 'x');
    for (const args of [
      ['verify', '--out', file],
      ['backup', '--out', file],
      ['backup', '--out', path.join(file, 'sub')],
    ]) {
      const result = await runCli(args, { USEAPI_TOKEN: 'tok', USEAPI_BASE_URL: 'http://127.0.0.1:9' });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^runway-backup: .*a-file is a file, not a folder\n$/);
    }
  });
});
