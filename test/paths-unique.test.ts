/**
 * Issue 17, item 3: a path belongs to one asset forever. A new asset whose id shares its first 8 characters with a
 * backed-up one, or two assets with the same `id` and name, never share a path (nor a `.part`).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyBackup } from '../src/report/verify.js';
import { backup } from '../src/run/backup.js';
import { expectBackupMatches, listFiles, readManifest, sha256OfFile } from './helpers/backup-check.js';
import { type TestServer, withServer } from './helpers/server.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const fast = { backoffBaseMs: 5, retries: 2, timeoutMs: 5000 };
const servers: TestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

describe('paths are unique against the manifest', () => {
  it('a new asset sharing a backed-up one’s id prefix and name gets its own path; the old file stays put', async () => {
    const s = await sim({ assets: 3, mediaMix: { video: 1 } });
    const out = await tempDir();
    const run = () => backup({ token: s.token, baseUrl: s.url, out, ...fast });
    await run();
    const old = s.assets()[0]!;
    const before = await readManifest(out);
    const oldRecord = before.assets[old.assetId]!.files[0]!;
    const oldSha = await sha256OfFile(path.join(out, oldRecord.path));

    const [twin] = s.addAssets(1, undefined, { idPrefix: old.id.slice(0, 8), name: old.name ?? 'x' });
    expect(twin!.id.slice(0, 8)).toBe(old.id.slice(0, 8));
    const second = await run();
    expect(second.filesFailed).toBe(0);
    const after = await readManifest(out);
    // The backed-up asset's record and file are untouched: same path, same bytes, nothing moved aside.
    expect(after.assets[old.assetId]!.files[0]).toEqual(oldRecord);
    expect(await sha256OfFile(path.join(out, oldRecord.path))).toBe(oldSha);
    const twinPath = after.assets[twin!.assetId]!.files[0]!.path;
    expect(twinPath).not.toBe(oldRecord.path);
    expect((await listFiles(out)).filter((f) => /\.(conflict|damaged)-\d/.test(f))).toEqual([]);

    // And the next run finds both intact: nothing downloaded, nothing set aside, verify clean.
    s.resetStats();
    const third = await run();
    expect(third.filesDownloaded).toBe(0);
    expect(third.damaged).toEqual([]);
    expect(s.stats.cdnRequests).toBe(0);
    const report = await verifyBackup({ out });
    expect(report.healthy).toBe(true);
    await expectBackupMatches(s, out);
  });

  it('two assets with the same id and name in one run get two paths, each with its own bytes', async () => {
    const body = (n: number) => Buffer.alloc(40_000 + n, n);
    const item = (n: number, base: string) => ({
      assetId: `user:1-runwayml:a@b.c-asset:${n}`,
      // Exactly 8 characters: lengthening the id suffix cannot tell the two apart.
      id: 'deadbeef',
      name: 'same name',
      mediaType: 'video',
      createdAt: '2026-11-01T00:00:00.000Z',
      fileSize: body(n).length,
      url: `${base}/cdn/${n}.mp4`,
    });
    const server = await withServer((req, res) => {
      const url = req.url ?? '';
      const cdn = /^\/cdn\/(\d)\.mp4/.exec(url);
      if (cdn) {
        const bytes = body(Number(cdn[1]));
        res.writeHead(200, { 'content-length': bytes.length, etag: `"v${cdn[1]}"` }).end(bytes);
        return;
      }
      const offset = Number(new URL(url, 'http://x').searchParams.get('offset') ?? 0);
      const items = offset === 0 ? [item(1, server.url), item(2, server.url)] : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(items));
    });
    servers.push(server);
    const out = await tempDir();
    const summary = await backup({ token: 't', baseUrl: server.url, out, ...fast, taskHistory: 'never' });
    expect(summary.failures).toEqual([]);
    expect(summary.filesDownloaded).toBe(2);
    const manifest = await readManifest(out);
    const paths = [1, 2].map((n) => manifest.assets[`user:1-runwayml:a@b.c-asset:${n}`]!.files[0]!.path);
    expect(new Set(paths).size).toBe(2);
    for (const [i, p] of paths.entries()) {
      const expected = createHash('sha256')
        .update(body(i + 1))
        .digest('hex');
      expect(await sha256OfFile(path.join(out, p))).toBe(expected);
    }
    expect((await fs.readdir(path.join(out, 'video'))).sort()).toEqual(
      [...paths.map((p) => path.basename(p))].sort(),
    );
  });
});
