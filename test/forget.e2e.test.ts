// `forget FILE|ASSET_ID` and the config's `exclude` (built CLI; run `npm run build` first): the asset is never
// fetched again, list and the dry run say so, verify does not miss its files, its files stay, --undo wants it again.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/run/backup.js';
import { Manifest } from '../src/store/manifest.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

async function manifestOf(out: string): Promise<Manifest> {
  const manifest = await Manifest.load(out);
  await manifest.close();
  return manifest;
}

describe('forget', () => {
  it('forgets by file, keeps the files, is never fetched again, and --undo wants it again', async () => {
    const s = await sim({ assets: 12, fixedSizes: 64, uploadShare: 0 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out });
    const entry = Object.values((await manifestOf(out)).data.assets).find((e) => e.files.length > 1);
    const [main, preview] = entry?.files ?? [];
    expect(main && preview).toBeTruthy();

    // Any of its files names it: here a preview, relative to --out.
    const forgot = await runCli(['forget', preview?.path ?? '', '--out', out]);
    expect(forgot.code, forgot.stderr).toBe(0);
    expect(forgot.stdout).toContain('forgotten:');
    expect(forgot.stdout).toContain('its files stay where they are');
    expect((await manifestOf(out)).forgotten(entry?.assetId ?? '')?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(existsSync(path.join(out, main?.path ?? ''))).toBe(true);

    const again = await runCli(['forget', path.join(out, main?.path ?? ''), '--out', out]);
    expect(again.stdout).toContain('was already forgotten on');

    const list = await runCli(['list', '--out', out], env(s));
    expect(list.code).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.includes('(forgotten'));
    expect(row).toContain('not backed up');
    expect(list.stdout.split('\n').filter((l) => l.includes('(forgotten'))).toHaveLength(1);
    const json = await runCli(['list', '--out', out, '--json'], env(s));
    const marked = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { assetId: string; forgotten?: string })
      .filter((a) => a.forgotten);
    expect(marked.map((a) => a.assetId)).toEqual([entry?.assetId]);

    // Deleted by the user: not missing for verify, not fetched by a backup, said by a dry run.
    for (const file of entry?.files ?? []) await fs.rm(path.join(out, file.path));
    const verify = await runCli(['verify', '--out', out, '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ missing: [], healthy: true, notWanted: 2 });
    const dry = await runCli(['backup', '--out', out, '--dry-run'], env(s));
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe('');
    expect(dry.stderr).toContain(
      `not fetched (forgotten ${new Date().toISOString().slice(0, 10)}): ${main?.path}`,
    );
    const run = await runCli(['backup', '--out', out, '--json'], env(s));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      filesDownloaded: 0,
      forgotten: [{ assetId: entry?.assetId, reason: 'forgotten', path: main?.path }],
    });
    expect(existsSync(path.join(out, main?.path ?? ''))).toBe(false);

    // --undo, by the 8 characters of its file names.
    const id8 = /_([0-9a-f]{8})\./.exec(main?.path ?? '')?.[1] ?? '';
    const undo = await runCli(['forget', id8, '--undo', '--out', out]);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toContain('wanted again');
    expect((await manifestOf(out)).forgotten(entry?.assetId ?? '')).toBeUndefined();
    const back = await runCli(['backup', '--out', out, '--json'], env(s));
    expect(JSON.parse(back.stdout)).toMatchObject({ filesDownloaded: 2, forgotten: [] });
    expect(existsSync(path.join(out, main?.path ?? ''))).toBe(true);
  }, 60_000);

  it('an exclude list in the config is never fetched, and said so', async () => {
    const s = await sim({ assets: 6, fixedSizes: 64, uploadShare: 0 });
    const out = await tempDir();
    const [skip] = s.assets();
    const config = path.join(out, 'downloads.json');
    await fs.writeFile(config, JSON.stringify({ out: '.', exclude: [skip?.assetId] }));
    const run = await runCli(['backup', '--config', config, '--json'], env(s));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      assetsSeen: 5,
      forgotten: [{ assetId: skip?.assetId, reason: 'excluded' }],
    });
    expect(Object.keys((await manifestOf(out)).data.assets)).not.toContain(skip?.assetId);
    const list = await runCli(['list', '--config', config], env(s));
    expect(list.stdout.split('\n').filter((l) => l.includes('(excluded by the config'))).toHaveLength(1);
    const verify = await runCli(['verify', '--config', config, '--json']);
    expect(verify.code).toBe(0);
  }, 60_000);

  it.each([
    [['forget'], /needs one FILE or ASSET_ID/],
    [['forget', 'a', 'b'], /takes one FILE or ASSET_ID, got 2: "a" "b"/],
    [['forget', 'video/nothing-here.mp4'], /"video\/nothing-here.mp4" is not a file of the backup/],
    [['forget', '/etc/passwd'], /"\/etc\/passwd" is not inside the backup folder/],
  ])('%j is one usage line (exit 2) and changes nothing', async (args, message) => {
    const s = await sim({ assets: 2, fixedSizes: 64 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out });
    const before = await fs.readFile(path.join(out, 'manifest.json'), 'utf8');
    const result = await runCli([...args, '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).toBe(before);
    expect(existsSync(path.join(out, 'manifest.journal'))).toBe(false);
  });

  it('refuses a folder that holds no backup, and creates nothing there', async () => {
    const out = path.join(await tempDir(), 'typo');
    const result = await runCli(['forget', 'abcdef12', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/No backup in .*typo/);
    expect(existsSync(out)).toBe(false);
  });
});
