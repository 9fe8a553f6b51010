// The generation record is read the gentle way and never twice: the task listing in pages of 1,000, by id only
// past its window, nothing on a no-op re-run; a task that cannot be read is marked missing and tried again.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/run/backup.js';
import { Manifest } from '../src/store/manifest.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const quick = { backoffBaseMs: 5, previews: false } as const;

describe('generation records', () => {
  it('a 1,300-asset account: the first run reads tasks in at most three listing requests, a re-run none', async () => {
    const s = await sim({ assets: 1300, fixedSizes: 200, seed: 2 });
    const out = await tempDir();
    const first = await backup({ token: s.token, baseUrl: s.url, out, ...quick });
    const listing = s.stats.taskQueries;
    expect(listing.length).toBeGreaterThan(0);
    expect(listing.length).toBeLessThanOrEqual(3);
    expect(listing.every((q) => /^offset=\d+&limit=1000&statuses=SUCCEEDED$/.test(q))).toBe(true);
    const m = await Manifest.load(out);
    await m.close();
    const generated = Object.values(m.data.assets).filter((a) => a.taskId);
    expect(first.recordsKept).toBe(generated.length);
    for (const entry of generated) {
      const task = s.rawTask(entry.taskId as string) as {
        taskType: string;
        options: Record<string, unknown>;
      };
      expect(entry.generation).toMatchObject({ state: 'kept', taskType: task.taskType });
      expect(entry.generation?.options?.text_prompt).toBe(task.options.text_prompt);
      expect(entry.generation?.options?.seed).toBe(task.options.seed);
      // No signed URL is kept: a source image is the assetId it points at.
      expect(JSON.stringify(entry.generation)).not.toMatch(/https?:\/\/[^"]*\?/);
      if (task.options.init_image) expect(entry.generation?.options?.init_image).toMatch(/-asset:/);
    }
    const uploads = Object.values(m.data.assets).filter((a) => a.isUserUpload);
    expect(uploads.length).toBeGreaterThan(0);
    for (const upload of uploads) expect(upload.generation).toBeUndefined();

    s.resetStats();
    const again = await backup({ token: s.token, baseUrl: s.url, out, ...quick });
    expect(again.filesDownloaded).toBe(0);
    expect(again.recordsKept).toBe(0);
    expect(s.stats.taskQueries).toEqual([]);
    expect(s.stats.singleRequests).toBe(0);

    // New generations on top of a long history: their tasks are on the first page of 1,000, and the walk stops
    // there. (The page after it was asked for ahead and never read: a request and 2 MB of JSON in vain.)
    s.addAssets(5);
    s.resetStats();
    const third = await backup({ token: s.token, baseUrl: s.url, out, ...quick });
    expect(third.filesDownloaded).toBeGreaterThan(0);
    expect(third.recordsKept).toBeGreaterThan(0);
    expect(third.recordsMissing).toBe(0);
    expect(s.stats.taskQueries).toEqual(['offset=0&limit=1000&statuses=SUCCEEDED']);
  }, 60_000);

  it('reads by id only the tasks past the 2,000-task window; one that cannot be read is missing, tried again', async () => {
    const s = await sim({ assets: 300, discardedTakes: 8, fixedSizes: 200, seed: 5 });
    // The oldest generated asset's task, past the window, is deleted on Runway: it cannot be read any more.
    const oldest = [...s.assets()].reverse().find((a) => s.rawAsset(a.assetId)?.taskId);
    const lostTask = String(s.rawAsset(oldest?.assetId ?? '')?.taskId);
    s.deleteTask(lostTask);
    const out = await tempDir();
    const first = await backup({ token: s.token, baseUrl: s.url, out, ...quick });
    const byId = s.stats.taskQueries.filter((q) => q.startsWith('task/'));
    const listed = s.stats.taskQueries.filter((q) => !q.startsWith('task/'));
    expect(listed).toEqual([
      'offset=0&limit=1000&statuses=SUCCEEDED',
      'offset=999&limit=1000&statuses=SUCCEEDED',
      'offset=1000&limit=1000&statuses=SUCCEEDED',
    ]);
    expect(byId.length).toBeGreaterThan(5);
    expect(first.recordsMissing).toBe(1);
    expect(first.filesFailed).toBe(0);
    const m = await Manifest.load(out);
    await m.close();
    expect(m.get(oldest?.assetId ?? '')?.generation).toMatchObject({ state: 'missing', taskId: lostTask });
    expect(m.get(oldest?.assetId ?? '')?.status).toBe('complete');

    s.resetStats();
    const second = await backup({ token: s.token, baseUrl: s.url, out, ...quick });
    // Only the missing one is asked again, by id (it lies past the window): nothing else.
    expect(second.recordsMissing).toBe(1);
    expect(s.stats.taskQueries.filter((q) => q.startsWith('task/'))).toEqual([
      `task/${encodeURIComponent(lostTask)}`,
    ]);
  }, 60_000);

  it('sha256sum -c SHA256SUMS passes after an interrupted backup and after its resume', async () => {
    const s = await sim({ assets: 80, fixedSizes: 4000, seed: 9, cdnConnectionBytesPerSecond: 200_000 });
    const out = await tempDir();
    const controller = new AbortController();
    let done = 0;
    const cut = await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      ...quick,
      concurrency: 2,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'file-done' && ++done === 10) controller.abort();
      },
    });
    expect(cut.interrupted).toBe(true);
    const check = () =>
      spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
    const lines = (await fs.readFile(path.join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThan(80);
    expect(check().status).toBe(0);
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const resumed = await backup({ token: s.token, baseUrl: s.url, out, ...quick });
    expect(resumed.filesFailed).toBe(0);
    expect((await fs.readFile(path.join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n')).toHaveLength(80);
    expect(check().status).toBe(0);
  }, 60_000);
});
