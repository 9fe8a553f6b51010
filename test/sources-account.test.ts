import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BackupEvent, backup } from '../src/run/backup.js';
import { listFiles, readManifest, sha256OfFile } from './helpers/backup-check.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

describe('an account past every window (issue 9, "Done when")', () => {
  it('2,400 videos: everything either window reaches, byte-identical; the rest reported; a re-run fetches nothing', async () => {
    // One task per video, a FAILED task every 20th, a deleted artifact every 50th.
    const s = await sim({
      assets: 2400,
      mediaMix: { video: 1 },
      uploadShare: 0,
      failedTaskEvery: 20,
      deletedArtifactEvery: 50,
      fixedSizes: 1500,
    });
    const listed = s.assets();
    const succeeded = s.tasks().filter((t) => t.status === 'SUCCEEDED');
    expect(s.tasks().length - succeeded.length).toBeGreaterThanOrEqual(2400 / 20);
    expect(2400 - listed.length).toBe(48);
    // What each window can reach, from the simulator's own state: the newest 1,050 listed videos, and the
    // artifacts of the newest 2,000 SUCCEEDED tasks that were not deleted.
    const byListing = listed.slice(0, 1050).map((a) => a.assetId);
    const inTaskWindow = succeeded.slice(0, 2000).flatMap((t) => t.artifacts);
    const byTasks = inTaskWindow.filter((a) => !a.deleted).map((a) => a.assetId);
    const expected = new Set([...byListing, ...byTasks]);
    const outOfReach = listed.filter((a) => !expected.has(a.assetId));
    expect(outOfReach.length).toBeGreaterThan(300);

    const out = await tempDir();
    const options = {
      token: s.token,
      baseUrl: s.url,
      out,
      previews: false,
      concurrency: 16,
      backoffBaseMs: 5,
      timeoutMs: 5000,
    };
    const first = await backup(options);
    expect(first).toMatchObject({
      assetsSeen: expected.size,
      assetsComplete: expected.size,
      filesDownloaded: expected.size,
      filesFailed: 0,
      gone: [],
      skippedItems: [],
      artifactsSkipped: { deleted: inTaskWindow.filter((a) => a.deleted).length, directory: 0 },
    });
    expect(first.cappedWindows).toEqual([
      { account: undefined, window: 'video', seen: 1050 },
      { account: undefined, window: 'tasks', seen: 2000 },
    ]);
    // Every file once, none of them a deleted artifact's (the only files the CDN answers 404 for).
    expect(s.stats.cdnRequests).toBe(expected.size);
    expect(s.stats.cdnStatuses).toEqual({ 200: expected.size });

    const manifest = await readManifest(out);
    expect(new Set(Object.keys(manifest.assets))).toEqual(expected);
    const onDisk: string[] = ['manifest.json', 'SHA256SUMS'];
    for (const id of expected) {
      const view = s.asset(id)!;
      const entry = manifest.assets[id]!;
      expect(entry.status).toBe('complete');
      expect(entry.files).toHaveLength(1);
      const file = entry.files[0]!;
      const sha = await s.sha256(view.files[0]!);
      expect(file.sha256).toBe(sha);
      expect(await sha256OfFile(path.join(out, file.path)), file.path).toBe(sha);
      // Found through a task or the listing, an asset lands where the listing would put it.
      expect(file.path).toMatch(/^video\/\d{4}-\d{2}-\d{2}_.+_[0-9a-f]{8}\.mp4$/);
      onDisk.push(file.path);
    }
    expect(await listFiles(out)).toEqual(onDisk.sort());

    s.resetStats();
    const second = await backup(options);
    expect(second).toMatchObject({ filesDownloaded: 0, filesSkipped: expected.size, bytesDownloaded: 0 });
    expect(s.stats.cdnRequests).toBe(0);
    expect(second.cappedWindows).toEqual(first.cappedWindows);
  }, 60_000);

  it('an asset found only through a task whose URL expired gets a fresh one from its task', async () => {
    const s = await sim({ assets: 1060, mediaMix: { video: 1 }, uploadShare: 0, fixedSizes: 300 });
    const out = await tempDir();
    const options = {
      token: s.token,
      baseUrl: s.url,
      out,
      previews: false,
      backoffBaseMs: 5,
      timeoutMs: 5000,
    };
    // The listing's 1,050 first, without the task history.
    expect(await backup({ ...options, concurrency: 16, taskHistory: 'never' })).toMatchObject({
      filesDownloaded: 1050,
    });
    s.resetStats();
    let expired = false;
    const fromTasks: string[] = [];
    const onEvent = (e: BackupEvent): void => {
      if (e.type === 'asset' && e.asset.source === 'tasks') {
        fromTasks.push(e.asset.assetId);
        // Before the first task-found file is requested: every one of their listed URLs is now stale.
        if (!expired) {
          expired = true;
          s.expireAllUrls();
        }
      }
    };
    const summary = await backup({ ...options, concurrency: 1, onEvent });
    expect(summary).toMatchObject({ filesDownloaded: 10, filesSkipped: 1050, filesFailed: 0, gone: [] });
    expect(fromTasks).toHaveLength(10);
    // Ten URLs were refused as expired, and each was renewed through its own task.
    expect(s.stats.status403).toBe(10);
    const singles = s.stats.taskQueries.filter((q) => q.startsWith('task/'));
    expect(singles.sort()).toEqual(
      fromTasks.map((id) => `task/${encodeURIComponent(s.rawAsset(id)!.taskId as string)}`).sort(),
    );
    const manifest = await readManifest(out);
    for (const id of fromTasks) {
      const file = manifest.assets[id]!.files[0]!;
      expect(await sha256OfFile(path.join(out, file.path))).toBe(await s.sha256(s.asset(id)!.files[0]!));
    }
  });
});
