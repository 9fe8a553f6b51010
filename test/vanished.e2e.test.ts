/** Issue 17, item 7: a recorded file that vanished from disk is named when a backup fetches it again. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/run/backup.js';
import { expectBackupMatches, readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

describe('vanished files', () => {
  it('a recorded file deleted by hand is named on stderr and in --json `vanished`, then fetched again', async () => {
    const s = await sim({ assets: 4 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const victim = Object.values((await readManifest(out)).assets)[1]!.files[0]!.path;
    await fs.rm(path.join(out, victim));
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };

    const run = await runCli(['backup', '--out', out, '--no-previews', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`missing since it was backed up: ${victim}; fetching it again`);
    const summary = JSON.parse(run.stdout);
    expect(summary.vanished.map((v: { path: string }) => v.path)).toEqual([victim]);
    expect(summary.damaged).toEqual([]);
    expect(summary.filesDownloaded).toBe(1);
    await expectBackupMatches(s, out, { previews: false });

    // Said once: the next run finds it in place and says nothing about it.
    const quiet = await runCli(['backup', '--out', out, '--no-previews', '--json'], env);
    expect(JSON.parse(quiet.stdout).vanished).toEqual([]);
    expect(quiet.stderr).not.toContain('missing since it was backed up');
  });
});
