// From a backup alone: `show` tells how a generated video was made, as the simulator's task says; an asset
// deleted on Runway between two runs keeps its files and is counted (summary, --json, status, run record); one
// that slid out of a capped window is out of reach; a third run looks neither up again; SHA256SUMS checks it all.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const sha = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

function sha256sumCheck(out: string): { status: number | null; output: string } {
  const run = spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('generation record, fate on Runway and SHA256SUMS (built CLI)', () => {
  it('show, deleted on Runway kept, out of reach, no second lookup, sha256sum -c', async () => {
    const s = await sim({
      assets: 1070,
      mediaMix: { video: 1 },
      fixedSizes: { main: 300, preview: 100 },
      seed: 11,
    });
    const out = await tempDir();
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    const args = [
      'backup',
      '--out',
      out,
      '--media-type',
      'video',
      '--task-history',
      'never',
      '--no-previews',
    ];
    const first = await runCli([...args, '--json', '--quiet'], env);
    expect(first.code, first.stderr).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one.deletedOnRunway).toBe(0);
    expect(one.checksumsWritten).toBe(true);
    expect(sha256sumCheck(out).status).toBe(0);

    // show, offline: the simulator is not asked anything.
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    const generated = Object.values(
      manifest.assets as Record<string, { assetId: string; taskId?: string; files: { path: string }[] }>,
    ).filter((a) => a.taskId);
    // Every generated asset has its record; uploads have none.
    expect(generated.length).toBeGreaterThan(800);
    expect(one.recordsKept).toBe(generated.length);
    const victim = generated[3]!;
    const task = s.rawTask(victim.taskId!) as {
      taskType: string;
      options: { text_prompt: string; seed: number };
    };
    s.resetStats();
    const shown = await runCli(['show', path.join(out, victim.files[0]!.path), '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const record = JSON.parse(shown.stdout);
    expect(record).toMatchObject({
      assetId: victim.assetId,
      prompt: task.options.text_prompt,
      seed: task.options.seed,
      model: task.taskType,
      generation: 'kept',
      onRunway: { state: 'present' },
    });
    const human = await runCli(['show', victim.assetId, '--out', out]);
    expect(human.stdout).toContain(`prompt      ${task.options.text_prompt}`);
    expect(human.stdout).toContain(`seed        ${task.options.seed}`);
    expect(human.stdout).toContain(`model       ${task.taskType}`);
    expect(s.stats.listRequests + s.stats.singleRequests + s.stats.taskQueries.length).toBe(0);

    // Runway deletes one and three new generations arrive: the window moves by two, so the two oldest slide out.
    const before = await Promise.all(victim.files.map((f) => sha(path.join(out, f.path))));
    const del = await fetch(`${s.url}/v1/runwayml/assets/${encodeURIComponent(victim.assetId)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${s.token}` },
    });
    expect(del.status).toBe(200);
    s.addAssets(3);
    const second = await runCli([...args, '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    const two = JSON.parse(second.stdout);
    expect(two).toMatchObject({ deletedOnRunway: 1, outOfReach: 2, fateLookups: 3 });
    expect(second.stderr).toMatch(/^1 asset deleted on Runway, kept here$/m);
    expect(await Promise.all(victim.files.map((f) => sha(path.join(out, f.path))))).toEqual(before);
    const status = await runCli(['status', '--out', out, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ deletedOnRunway: 1, outOfReach: 2 });
    expect(JSON.parse(status.stdout).last.summary.deletedOnRunway).toBe(1);
    expect((await runCli(['status', '--out', out])).stdout).toContain('1 asset deleted on Runway, kept here');
    const after = JSON.parse((await runCli(['show', victim.assetId, '--out', out, '--json'])).stdout);
    expect(after.onRunway.state).toBe('deleted');
    expect(sha256sumCheck(out).status).toBe(0);

    // A third run looks neither up again, and reads no task.
    s.resetStats();
    const third = await runCli([...args, '--json', '--quiet'], env);
    expect(JSON.parse(third.stdout)).toMatchObject({ deletedOnRunway: 1, outOfReach: 2, fateLookups: 0 });
    expect(s.stats.singleRequests).toBe(0);
    expect(s.stats.taskQueries).toEqual([]);

    // A file changed by hand fails the check.
    await fs.appendFile(path.join(out, generated[10]!.files[0]!.path), 'x');
    const broken = sha256sumCheck(out);
    expect(broken.status).not.toBe(0);
    expect(broken.output).toContain(generated[10]!.files[0]!.path);
  }, 120_000);

  it('show refuses what is not in the backup: one line, exit 2', async () => {
    const out = await tempDir();
    const none = await runCli(['show', 'abc', '--out', out]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/No backup in/);
    const missing = await runCli(['show']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Expected a FILE/);
  });
});
