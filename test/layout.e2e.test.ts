// Layout templates end to end (issue 19, items 1 and 2), with the built CLI against the simulator: a backup under
// `--layout` puts every file under its asset's year and month; going back to the default layout moves every file
// back without one CDN request, sha256 unchanged, verify clean; and kill -9 at any instant of the moves, then a
// run, leaves every file exactly once at its new path.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAsset } from '../src/api/parse.js';
import type { Simulator } from '../src/simulator/index.js';
import { assetPaths } from '../src/store/layout.js';
import type { ManifestData } from '../src/store/manifest.js';
import { expectBackupMatches, readManifest, sha256OfFile } from './helpers/backup-check.js';
import { finished, runCli, spawnCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const BY_MONTH = '{year}/{month}/{name}_{id8}.{ext}';

async function backupWith(s: Simulator, out: string, extra: string[] = []) {
  const result = await runCli(['backup', '--out', out, '--json', '--quiet', '--no-gallery', ...extra], {
    USEAPI_TOKEN: s.token,
    USEAPI_BASE_URL: s.url,
  });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { filesDownloaded: number; moved: { from: string; to: string }[] };
}

async function hashes(out: string, manifest: ManifestData): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const entry of Object.values(manifest.assets)) {
    for (const f of entry.files)
      map.set(`${entry.assetId} ${f.role}-${f.index}`, await sha256OfFile(path.join(out, f.path)));
  }
  return map;
}

describe('--layout', () => {
  it('places files by month; the default layout moves them back without a download', async () => {
    const s = await sim({ assets: 30 });
    const out = path.join(await tempDir(), 'out');
    const first = await backupWith(s, out, ['--layout', BY_MONTH]);
    expect(first.moved).toEqual([]);
    const manifest = await readManifest(out);
    for (const a of s.assets()) {
      const [year, month] = a.createdAt.slice(0, 7).split('-');
      for (const f of manifest.assets[a.assetId]!.files)
        expect(f.path.startsWith(`${year}/${month}/`), f.path).toBe(true);
    }
    await expectBackupMatches(s, out);
    const before = await hashes(out, manifest);

    const cdnBefore = s.stats.cdnRequests;
    const second = await backupWith(s, out);
    expect(s.stats.cdnRequests - cdnBefore).toBe(0);
    expect(second.filesDownloaded).toBe(0);
    expect(second.moved.length).toBe(before.size);
    const back = await readManifest(out);
    for (const a of s.assets()) {
      const parsed = parseAsset(s.rawAsset(a.assetId), 0);
      if (!parsed.ok) throw new Error(`the simulator's asset ${a.assetId} does not parse`);
      expect(back.assets[a.assetId]!.files[0]!.path).toBe(assetPaths(parsed.asset).main);
    }
    expect(await hashes(out, back)).toEqual(before);
    await expectBackupMatches(s, out);
    // The month folders it left empty are gone.
    expect((await fs.readdir(out)).filter((d) => /^\d{4}$/.test(d))).toEqual([]);
    const verify = await runCli(['verify', '--out', out]);
    expect(verify.code, verify.stdout).toBe(0);
    // A third run has nothing to move.
    expect((await backupWith(s, out)).moved).toEqual([]);
  }, 60_000);

  it('--dry-run lists the moves and moves nothing', async () => {
    const s = await sim({ assets: 5 });
    const out = path.join(await tempDir(), 'out');
    await backupWith(s, out);
    const before = await readManifest(out);
    const dry = await backupWith(s, out, ['--layout', BY_MONTH, '--dry-run']);
    expect(dry.moved.length).toBeGreaterThan(0);
    const after = await readManifest(out);
    expect(after.assets).toEqual(before.assets);
    for (const m of dry.moved) await expect(fs.stat(path.join(out, m.from))).resolves.toBeTruthy();
  }, 30_000);

  it('kill -9 during the moves, then a run: every file exactly once at its new path, nothing downloaded', async () => {
    const s = await sim({ assets: 400, fixedSizes: { main: 2000, preview: 500 } });
    const out = path.join(await tempDir(), 'out');
    await backupWith(s, out);
    const before = await hashes(out, await readManifest(out));
    const cdnBefore = s.stats.cdnRequests;
    // Fixed instants, spread over start-up and the moves; alternating layouts so that every run has moves to make.
    const instants = [180, 260, 340, 420, 520, 640];
    let kills = 0;
    for (const [i, ms] of instants.entries()) {
      const layout = i % 2 === 0 ? BY_MONTH : '{mediaType}/{year}/{name}_{id8}.{ext}';
      const child = spawnCli(['backup', '--out', out, '--quiet', '--no-gallery', '--layout', layout], {
        USEAPI_TOKEN: s.token,
        USEAPI_BASE_URL: s.url,
      });
      const done = finished(child);
      await new Promise((r) => setTimeout(r, ms));
      child.kill('SIGKILL');
      if ((await done).signal === 'SIGKILL') kills++;
    }
    console.log(`layout moves: ${kills} of ${instants.length} runs killed before they ended`);
    await backupWith(s, out, ['--layout', BY_MONTH]);
    expect(s.stats.cdnRequests - cdnBefore).toBe(0);
    const manifest = await readManifest(out);
    for (const entry of Object.values(manifest.assets)) {
      expect(entry.moves).toBeUndefined();
      for (const f of entry.files) expect(f.path, f.path).toMatch(/^\d{4}\/\d{2}\//);
    }
    expect(await hashes(out, manifest)).toEqual(before);
    await expectBackupMatches(s, out);
  }, 120_000);
});
