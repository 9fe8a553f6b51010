import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyBackup } from '../src/report/verify.js';
import { backup } from '../src/run/backup.js';
import { repair } from '../src/run/repair.js';
import type { ManifestData } from '../src/store/manifest.js';
import { expectBackupMatches, listFiles, readManifest, sha256OfFile } from './helpers/backup-check.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

afterEach(() => {
  nock.cleanAll();
});

/** The manifest's records as journal lines: what a first backup killed after its last file leaves. */
async function journalOf(data: ManifestData, ids: string[]): Promise<string> {
  const lines: string[] = [];
  for (const id of ids) {
    const { files, ...entry } = data.assets[id]!;
    lines.push(JSON.stringify({ op: 'asset', entry }));
    for (const file of files) lines.push(JSON.stringify({ op: 'file', assetId: id, file }));
  }
  return `${lines.join('\n')}\n`;
}

/** `sha256sum`'s format for every recorded file. */
function sha256sums(data: ManifestData): string {
  return Object.values(data.assets)
    .flatMap((e) => e.files.map((f) => `${f.sha256}  ${f.path}\n`))
    .join('');
}

async function backedUp(assets = 24) {
  const s = await sim({ assets });
  const out = await tempDir();
  await backup({ token: s.token, baseUrl: s.url, out });
  // As a backup made before SHA256SUMS existed: what the listing and the files alone can prove. (With the
  // SHA256SUMS a backup now writes, see the test below.)
  await fs.rm(path.join(out, 'SHA256SUMS'), { force: true });
  const data = await readManifest(out);
  const files = Object.values(data.assets).reduce((n, e) => n + e.files.length, 0);
  return { s, out, data, files };
}

describe('repair', () => {
  it('with the SHA256SUMS the backup wrote, a lost manifest is proven by it, with or without a token', async () => {
    const s = await sim({ assets: 12 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out });
    const data = await readManifest(out);
    const files = Object.values(data.assets).reduce((n, e) => n + e.files.length, 0);
    await fs.rm(path.join(out, 'manifest.json'));
    await fs.rm(path.join(out, 'manifest.journal'), { force: true });
    const report = await repair({ out, token: s.token, baseUrl: s.url });
    expect(report).toMatchObject({
      proven: { sha256sums: files },
      provenFiles: files,
      unproven: [],
      complete: true,
    });
    const again = await backup({ token: s.token, baseUrl: s.url, out });
    expect(again.filesDownloaded).toBe(0);
  });

  it('rebuilds a corrupt manifest from the listing: every file matched by path and size and hashed; the broken one is kept; the next backup downloads nothing', async () => {
    const { s, out, data, files } = await backedUp();
    await fs.writeFile(path.join(out, 'manifest.json'), '{"version": 1, "assets": {');
    const report = await repair({ out, token: s.token, baseUrl: s.url });
    expect(report).toMatchObject({
      manifest: 'broken',
      setAside: 'manifest.json.broken-1',
      listed: true,
      assetsListed: 24,
      proven: { manifest: 0, journal: 0, sha256sums: 0, api: files },
      provenFiles: files,
      recorded: files,
      unproven: [],
      complete: true,
    });
    expect(await fs.readFile(path.join(out, 'manifest.json.broken-1'), 'utf8')).toBe(
      '{"version": 1, "assets": {',
    );
    const rebuilt = await readManifest(out);
    for (const [id, entry] of Object.entries(data.assets)) {
      expect(rebuilt.assets[id]?.status).toBe('complete');
      expect(rebuilt.assets[id]?.files.map((f) => [f.path, f.bytes, f.sha256])).toEqual(
        entry.files.map((f) => [f.path, f.bytes, f.sha256]),
      );
    }
    expect(await listFiles(out)).not.toContain('manifest.journal');
    s.resetStats();
    const again = await backup({ token: s.token, baseUrl: s.url, out });
    expect(again).toMatchObject({ filesDownloaded: 0, bytesDownloaded: 0, filesSkipped: files });
    expect(s.stats.cdnRequests).toBe(0);
    expect((await verifyBackup({ out })).healthy).toBe(true);
  });

  it('without a token, rebuilds from the journal alone', async () => {
    const { s, out, data, files } = await backedUp();
    await fs.writeFile(path.join(out, 'manifest.journal'), await journalOf(data, Object.keys(data.assets)));
    await fs.writeFile(path.join(out, 'manifest.json'), 'not json');
    const report = await repair({ out });
    expect(report).toMatchObject({
      listed: false,
      proven: { journal: files, api: 0 },
      recorded: 0,
      unproven: [],
      complete: true,
    });
    s.resetStats();
    await backup({ token: s.token, baseUrl: s.url, out });
    expect(s.stats.cdnRequests).toBe(0);
    await expectBackupMatches(s, out, { extra: ['manifest.json.broken-1'] });
  });

  it('without a token: records what the journal proves, says which other files SHA256SUMS proves intact or not; the next backup adopts the intact ones and never overwrites', async () => {
    const { s, out, data, files } = await backedUp();
    const ids = Object.keys(data.assets);
    const half = ids.slice(0, 12);
    const halfFiles = half.reduce((n, id) => n + data.assets[id]!.files.length, 0);
    await fs.writeFile(path.join(out, 'manifest.journal'), await journalOf(data, half));
    await fs.writeFile(path.join(out, 'SHA256SUMS'), sha256sums(data));
    await fs.rm(path.join(out, 'manifest.json'));
    // One unrecorded file changed since SHA256SUMS was written, same size.
    const changed = data.assets[ids[20]!]!.files[0]!;
    const bytes = await fs.readFile(path.join(out, changed.path));
    bytes[10] = bytes[10]! ^ 0xff;
    await fs.writeFile(path.join(out, changed.path), bytes);

    const report = await repair({ out });
    expect(report.proven).toEqual({ manifest: 0, journal: halfFiles, sha256sums: 0, api: 0 });
    expect(report.complete).toBe(false);
    expect(report.unproven).toHaveLength(files - halfFiles);
    expect(report.unproven.filter((u) => u.kind === 'sha256').map((u) => u.path)).toEqual([changed.path]);
    expect(report.intactUnmatched).toBe(files - halfFiles - 1);
    expect(report.unproven.filter((u) => u.kind === 'no-token')).toHaveLength(files - halfFiles - 1);
    expect(Object.keys((await readManifest(out)).assets).sort()).toEqual([...half].sort());

    s.resetStats();
    const next = await backup({ token: s.token, baseUrl: s.url, out });
    expect(next).toMatchObject({
      filesSkipped: halfFiles,
      filesDownloaded: files - halfFiles,
      filesFailed: 0,
    });
    // The changed file was kept aside, not overwritten; every other file is the one that was there.
    const conflict = changed.path.replace(/(\.\w+)$/, '.conflict-1$1');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      await sha256OfFile(path.join(out, conflict)),
    );
    await expectBackupMatches(s, out, { extra: [conflict] });
    expect((await verifyBackup({ out })).healthy).toBe(true);
  });

  it("with a token, a file of the wrong size or at no asset's path is kept and reported, not recorded; a readable manifest stays the base", async () => {
    const { s, out, data, files } = await backedUp(10);
    const [first, second] = Object.values(data.assets);
    // The manifest loses two assets (as if a backup had been restored from an older copy of it).
    const older = structuredClone(data);
    delete older.assets[first!.assetId];
    delete older.assets[second!.assetId];
    await fs.writeFile(path.join(out, 'manifest.json'), JSON.stringify(older));
    await fs.truncate(path.join(out, first!.files[0]!.path), 7);
    const stray = 'video/2026-01-01_not ours_abcdef12.mp4';
    await fs.writeFile(path.join(out, stray), 'x');
    await fs.writeFile(path.join(out, 'notes.txt'), 'mine');

    const report = await repair({ out, token: s.token, baseUrl: s.url });
    const restored = first!.files.length - 1 + second!.files.length;
    expect(report.manifest).toBe('readable');
    expect(report.proven).toEqual({
      manifest: files - first!.files.length - second!.files.length,
      journal: 0,
      sha256sums: 0,
      api: restored,
    });
    expect(report.unproven.map((u) => [u.kind, u.path])).toEqual(
      [
        ['size', first!.files[0]!.path],
        ['unmatched', stray],
      ].sort((a, b) => (a[1]! < b[1]! ? -1 : 1)),
    );
    expect(report.unproven.find((u) => u.kind === 'size')?.reason).toBe(
      `7 bytes, the API says ${first!.files[0]!.bytes}`,
    );
    expect(report.complete).toBe(false);
    const rebuilt = await readManifest(out);
    expect(rebuilt.assets[first!.assetId]?.status).toBe('partial');
    expect(rebuilt.assets[first!.assetId]?.files.some((f) => f.role === 'main')).toBe(false);
    expect(rebuilt.assets[second!.assetId]?.status).toBe('complete');
    expect(await fs.readFile(path.join(out, stray), 'utf8')).toBe('x');
    expect(await fs.stat(path.join(out, first!.files[0]!.path))).toMatchObject({ size: 7 });
  });

  it('--dry-run reports the same and writes, renames and locks nothing', async () => {
    const { s, out, files } = await backedUp(6);
    await fs.writeFile(path.join(out, 'manifest.json'), '[');
    const before = await listFiles(out);
    const report = await repair({ out, token: s.token, baseUrl: s.url, dryRun: true });
    expect(report).toMatchObject({
      dryRun: true,
      manifest: 'broken',
      setAside: null,
      recorded: files,
      complete: true,
    });
    expect(await listFiles(out)).toEqual(before);
    expect(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).toBe('[');
  });

  it('an API that refuses the listing (nock: 401) leaves the folder untouched', async () => {
    const out = await tempDir();
    await fs.mkdir(path.join(out, 'video'));
    await fs.writeFile(path.join(out, 'video', '2026-01-01_clip_0a1b2c3d.mp4'), 'x');
    await fs.writeFile(path.join(out, 'manifest.json'), '{');
    const scope = nock('https://api.example.test')
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(401, { error: 'Unauthorized' });
    await expect(
      repair({ out, token: 'user:bad-token', baseUrl: 'https://api.example.test', retries: 0 }),
    ).rejects.toMatchObject({ code: 'ERR_API_UNAUTHORIZED' });
    expect(scope.isDone()).toBe(true);
    expect(await listFiles(out)).toEqual(['manifest.json', 'video/2026-01-01_clip_0a1b2c3d.mp4']);
  });

  it('refuses a folder with nothing to rebuild from, and a manifest of a newer version', async () => {
    const out = await tempDir();
    await expect(repair({ out })).rejects.toMatchObject({ code: 'ERR_USAGE', message: /No backup in/ });
    await expect(repair({ out: path.join(out, 'nope') })).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await fs.writeFile(path.join(out, 'manifest.json'), JSON.stringify({ version: 99, assets: {} }));
    await expect(repair({ out })).rejects.toMatchObject({
      code: 'ERR_USAGE',
      message: /newer runway-backup/,
    });
    expect(await listFiles(out)).toEqual(['manifest.json']);
  });
});
