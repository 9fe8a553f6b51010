/**
 * Issue 17, items 12 and 14: a `--metadata` sidecar never overwrites a file that is not ours, and a deleted sidecar
 * is noticed by `verify` and written again by a backup.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/run/backup.js';
import { readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

describe('metadata sidecars', () => {
  it('a file of the user’s at <stem>.json is moved to <stem>.conflict-1.json, ours is rewritten in place', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    await backup({ token: s.token, baseUrl: s.url, out, metadata: true });
    const [first, second] = Object.values((await readManifest(out)).assets);
    const theirs = first!.sidecar!;
    const ours = second!.sidecar!;
    // Not ours: the user's notes where a sidecar goes. Ours, edited: the same asset's fields, older.
    await fs.writeFile(path.join(out, theirs), '{"my": "notes"}\n');
    const older = JSON.parse(await fs.readFile(path.join(out, ours), 'utf8'));
    await fs.writeFile(path.join(out, ours), JSON.stringify({ ...older, name: 'an older name' }));

    const run = await runCli(['backup', '--out', out, '--metadata'], env);
    expect(run.code, run.stderr).toBe(0);
    const aside = theirs.replace(/\.json$/, '.conflict-1.json');
    expect(await fs.readFile(path.join(out, aside), 'utf8')).toBe('{"my": "notes"}\n');
    expect(run.stderr).toContain(`kept a different file that stood at ${theirs} as ${aside}`);
    expect(JSON.parse(await fs.readFile(path.join(out, theirs), 'utf8')).assetId).toBe(first!.assetId);
    expect(JSON.parse(await fs.readFile(path.join(out, ours), 'utf8'))).toEqual(older);
    expect(
      await fs.access(path.join(out, ours.replace(/\.json$/, '.conflict-1.json'))).catch(() => 'none'),
    ).toBe('none');
    const verify = await runCli(['verify', '--out', out, '--json']);
    expect(JSON.parse(verify.stdout).setAside).toEqual([aside]);
  });
});
