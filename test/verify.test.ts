import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup.js';
import { verifyBackup } from '../src/verify.js';
import { expectBackupMatches, readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
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
    expect(full.untracked).toContain('notes.txt');
    // Both set-aside copies (the truncated one from the quick run, the flipped one now) are kept.
    expect(full.untracked.filter((u) => u.includes('.damaged-')).length).toBe(2);
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
});
