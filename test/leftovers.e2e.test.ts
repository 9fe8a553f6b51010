/**
 * Issue 17, item 5: what no backup can resolve does not keep `verify` failing forever. A backup marks each missing
 * file it will not fetch (deleted on Runway, previews off) with the reason and removes the `.part` no wanted file
 * needs; `verify` says what a backup will and will not do.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/run/backup.js';
import { readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

describe('leftovers no backup can resolve', () => {
  it('--no-previews after an interrupted preview: the .part is removed, the missing preview marked, verify exit 0', async () => {
    const s = await sim({ assets: 3, mediaMix: { video: 1 } });
    const out = await tempDir();
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    await backup({ token: s.token, baseUrl: s.url, out });
    const entry = Object.values((await readManifest(out)).assets)[0]!;
    const preview = entry.files.find((f) => f.role === 'preview')!.path;
    await fs.rm(path.join(out, preview));
    await fs.writeFile(path.join(out, `${preview}.part`), 'half a preview');
    const before = await runCli(['verify', '--out', out, '--json']);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout).unfinished[0].action).toMatch(/a backup continues it/);

    const run = await runCli(['backup', '--out', out, '--no-previews', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).partsRemoved).toEqual([`${preview}.part`]);
    expect(run.stderr).toContain(`removed an unfinished download that no wanted file needs: ${preview}.part`);
    expect(existsSync(path.join(out, `${preview}.part`))).toBe(false);
    const record = (await readManifest(out)).assets[entry.assetId]!.files.find((f) => f.path === preview)!;
    expect(record).toMatchObject({
      status: 'missing',
      unfetchable: { reason: expect.stringMatching(/--no-previews/) },
    });

    const after = await runCli(['verify', '--out', out]);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toContain(
      `cannot be fetched: ${preview} (previews are not backed up (--no-previews)`,
    );
    const json = JSON.parse((await runCli(['verify', '--out', out, '--json'])).stdout);
    expect(json.unfetchable.map((u: { path: string }) => u.path)).toEqual([preview]);
    expect(json.healthy).toBe(false);

    // With previews again, the run wants the file: fetched, and the mark is gone.
    const again = await backup({ token: s.token, baseUrl: s.url, out });
    expect(again.filesDownloaded).toBe(1);
    const restored = (await readManifest(out)).assets[entry.assetId]!.files.find((f) => f.path === preview)!;
    expect(restored.status).toBe('done');
    expect(restored.unfetchable).toBeUndefined();
    expect((await runCli(['verify', '--out', out, '--json'])).code).toBe(0);
  });

  it('a missing file whose asset was deleted on Runway: marked after a complete listing, verify exit 0 and says why', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const entry = Object.values((await readManifest(out)).assets)[0]!;
    const main = entry.files[0]!.path;
    await fs.rm(path.join(out, main));
    expect((await runCli(['verify', '--out', out])).code).toBe(1);
    s.deleteAsset(entry.assetId);

    const run = await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    expect(run.filesFailed).toBe(0);
    const verify = await runCli(['verify', '--out', out, '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    const report = JSON.parse(verify.stdout);
    expect(report.unfetchable).toEqual([
      expect.objectContaining({ path: main, reason: expect.stringMatching(/^deleted on Runway/) }),
    ]);
    expect(report.wanted).toEqual([]);
    expect(report.needFetching).toBe(0);
  });
});
