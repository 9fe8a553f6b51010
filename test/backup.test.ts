import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AssetsClient } from '../src/api/client.js';
import { ApiError } from '../src/errors.js';
import { type BackupEvent, type BackupOptions, backup } from '../src/run/backup.js';
import type { Simulator } from '../src/simulator/index.js';
import { expectBackupMatches, listFiles, readManifest } from './helpers/backup-check.js';
import { sim, simClient } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const fast = { backoffBaseMs: 5, retries: 6, timeoutMs: 2000 };

/** backup() of the simulator's account into `out`, with quick retries; `extra` adds or overrides options. */
function runBackup(s: Simulator, out: string, extra: Partial<BackupOptions> = {}) {
  return backup({ token: s.token, baseUrl: s.url, out, ...fast, ...extra });
}

/** Expires every URL handed out so far once the first file is done: the rest must be refreshed. */
/**
 * Expires every URL the simulator handed out as soon as the first asset is planned, before any of its requests can
 * reach the (in-process) server: every download then meets an expired URL. (Expiring after the first file was done
 * raced with the lanes: on a loaded machine the first file's fsync outlasted every other small download, and
 * nothing was ever refused.)
 */
function expireOnFirstAsset(s: Simulator): (e: BackupEvent) => void {
  let expired = false;
  return (e) => {
    if (e.type === 'asset' && !expired) {
      expired = true;
      s.expireAllUrls();
    }
  };
}

describe('backup()', () => {
  it('backs up every file byte-identical; a re-run downloads nothing', async () => {
    const s = await sim({ assets: 75 });
    const out = await tempDir();
    const first = await runBackup(s, out);
    const { files } = await expectBackupMatches(s, out);
    expect(first).toMatchObject({
      assetsSeen: 75,
      assetsComplete: 75,
      filesDownloaded: files,
      filesFailed: 0,
    });
    s.resetStats();
    const before = await fs.stat(path.join(out, 'manifest.json'));
    const second = await runBackup(s, out);
    expect(second).toMatchObject({ filesDownloaded: 0, filesSkipped: files, bytesDownloaded: 0 });
    expect(s.stats.cdnRequests).toBe(0);
    // Nothing changed, so nothing was written: the manifest is the same file, untouched.
    const after = await fs.stat(path.join(out, 'manifest.json'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('filters by media type and skips previews on request', async () => {
    const s = await sim({ assets: 60 });
    const out = await tempDir();
    const summary = await runBackup(s, out, {
      mediaTypes: ['video'],
      previews: false,
    });
    await expectBackupMatches(s, out, { types: ['video'], previews: false });
    expect(summary.filesDownloaded).toBe(s.assets().filter((a) => a.mediaType === 'video').length);
    expect(s.stats.listQueries.every((q) => q.includes('mediaType=video'))).toBe(true);
  });

  it('two media types walk two filtered windows', async () => {
    const s = await sim({ assets: 60 });
    const out = await tempDir();
    await runBackup(s, out, { mediaTypes: ['image', 'audio'] });
    await expectBackupMatches(s, out, { types: ['image', 'audio'] });
  });

  it('several accounts each get their own folder', async () => {
    const s = await sim({ assets: 20, accounts: ['a@x.io', 'b@x.io'] });
    const out = await tempDir();
    await runBackup(s, out, { accounts: ['a@x.io', 'b@x.io'] });
    const files = await listFiles(out);
    expect(files.filter((f) => f.startsWith('a@x.io/')).length).toBeGreaterThan(20);
    expect(files.filter((f) => f.startsWith('b@x.io/')).length).toBeGreaterThan(20);
    const manifest = await readManifest(out);
    expect(Object.keys(manifest.assets)).toHaveLength(40);
  });

  it('resumes after the files changed on disk: a missing or truncated file is fetched again', async () => {
    const s = await sim({ assets: 10 });
    const out = await tempDir();
    await runBackup(s, out);
    const manifest = await readManifest(out);
    const [a, b] = Object.values(manifest.assets);
    await fs.rm(path.join(out, a!.files[0]!.path));
    await fs.truncate(path.join(out, b!.files[0]!.path), 10);
    const damaged: string[] = [];
    const summary = await runBackup(s, out, {
      onEvent: (e) => {
        if (e.type === 'file-damaged') damaged.push(e.movedTo);
      },
    });
    expect(summary.filesDownloaded).toBe(2);
    // The damaged copy is kept aside, never silently overwritten.
    const aside = b!.files[0]!.path.replace(/(\.[a-z0-9]+)$/, '.damaged-1$1');
    expect(damaged).toEqual([aside]);
    expect((await fs.stat(path.join(out, aside))).size).toBe(10);
    await expectBackupMatches(s, out, { extra: [aside] });
  });

  it('survives resets, short bodies, 5xx, 429 and stalls on the CDN', async () => {
    const s = await sim({
      assets: 40,
      cdnFaults: { reset: 0.2, short: 0.2, status5xx: 0.1, stall: 0.05, stallMs: 5000, maxPerFile: 2 },
      cdnRateLimit: { every: 30, burst: 3, retryAfterSeconds: 0 },
    });
    const out = await tempDir();
    // At most two injected faults per file plus the 429 bursts: a budget of 10 attempts is never spent by them
    // alone. The idle timeout is well above any pause a loaded machine makes (500 ms once timed out a healthy
    // response under the full suite and failed the file by chance) and well below the 5 s stall it must catch.
    const summary = await runBackup(s, out, {
      concurrency: 6,
      timeoutMs: 1500,
      retries: 10,
    });
    expect(summary.filesFailed).toBe(0);
    expect(s.stats.faultsInjected).toBeGreaterThan(5);
    await expectBackupMatches(s, out);
  });

  it('expired URLs are refreshed through the single-asset endpoint', async () => {
    const s = await sim({ assets: 12, listLatencyMs: 50 });
    const out = await tempDir();
    const summary = await runBackup(s, out, {
      concurrency: 1,
      onEvent: expireOnFirstAsset(s),
    });
    expect(summary.filesFailed).toBe(0);
    expect(s.stats.status403).toBeGreaterThan(0);
    expect(s.stats.singleRequests).toBeGreaterThan(0);
    await expectBackupMatches(s, out);
  });

  it('when the single-asset endpoint fails, fresh URLs come from one shared re-listing', async () => {
    const s = await sim({ assets: 12 });
    const out = await tempDir();
    const real = simClient(s, { retries: 0 });
    let singleCalls = 0;
    // The same client, except that its single-asset lookups fail the way an outage would.
    const client: AssetsClient = {
      listPage: (params) => real.listPage(params),
      getAsset: async () => {
        singleCalls++;
        throw new ApiError(503, 'single-asset endpoint unavailable');
      },
      gate: real.gate,
      get requestCount() {
        return real.requestCount;
      },
      close: () => real.close(),
    };
    const summary = await runBackup(s, out, {
      client,
      concurrency: 1,
      onEvent: expireOnFirstAsset(s),
    });
    expect(summary.filesFailed).toBe(0);
    expect(singleCalls).toBeGreaterThan(1);
    // One re-listing served every refresh (it is reused for a minute), not one listing per file.
    expect(s.stats.listRequests).toBeLessThanOrEqual(2);
    await expectBackupMatches(s, out);
  });

  it('when the listing fails mid-run, nothing touches the folder after backup() has returned', async () => {
    const s = await sim({ assets: 120, cdnBytesPerSecond: 400_000 });
    const out = await tempDir();
    const real = simClient(s, { retries: 0 });
    const client: AssetsClient = {
      // The first page works; the next one is refused, while downloads of the first page are queued and running.
      listPage: async (params) => {
        if (params.offset > 0) throw new ApiError(401, 'the API refused the token (401 Unauthorized)');
        return real.listPage(params);
      },
      getAsset: (id, params) => real.getAsset(id, params),
      gate: real.gate,
      get requestCount() {
        return real.requestCount;
      },
      close: () => real.close(),
    };
    await expect(runBackup(s, out, { client, concurrency: 2 })).rejects.toMatchObject({
      code: 'ERR_API_UNAUTHORIZED',
    });
    const right = await listFiles(out);
    await new Promise((r) => setTimeout(r, 300));
    expect(await listFiles(out)).toEqual(right);
    expect(right).not.toContain('.runway-backup.lock');
    // The journal was folded into manifest.json, and no late worker wrote a new one.
    expect(right).not.toContain('manifest.journal');
    await readManifest(out);
  });

  it('an asset deleted between listing and download is reported, not fatal', async () => {
    const s = await sim({ assets: 8 });
    const out = await tempDir();
    const victim = s.assets()[5]!;
    let deleted = false;
    const summary = await runBackup(s, out, {
      concurrency: 1,
      onEvent: (e) => {
        if (e.type === 'asset' && !deleted) {
          deleted = true;
          s.deleteAsset(victim.assetId);
        }
      },
    });
    expect(summary.filesFailed).toBe(0);
    expect(summary.gone.map((g) => g.assetId)).toEqual([victim.assetId]);
    expect(summary.assetsComplete).toBe(7);
  });

  it('a file its asset no longer lists is gone, not failed, and its refresh is not retried', async () => {
    const s = await sim({ assets: 4 });
    const out = await tempDir();
    const client = simClient(s);
    // Asked again (to refresh an expired URL), the API lists each asset without its previews.
    let lookups = 0;
    const previewsDropped = new Proxy(client, {
      get(target, key) {
        if (key === 'getAsset') {
          return async (...args: Parameters<AssetsClient['getAsset']>) => {
            lookups++;
            return { ...(await target.getAsset(...args)), previewUrls: [] };
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const events: BackupEvent[] = [];
    const expire = expireOnFirstAsset(s);
    const summary = await runBackup(s, out, {
      client: previewsDropped,
      concurrency: 1,
      onEvent: (e) => {
        events.push(e);
        expire(e);
      },
    });
    const previews = s.assets().flatMap((a) => a.files.filter((f) => f.role === 'preview'));
    expect(previews.length).toBeGreaterThan(0);
    expect(summary.filesFailed).toBe(0);
    expect(summary.gone.length).toBeGreaterThan(0);
    for (const g of summary.gone) expect(g.path).toMatch(/\.preview-\d+\./);
    // Every main file was still fetched, through its fresh URL.
    const mains = events.filter((e) => e.type === 'file-done' && e.file.role === 'main');
    expect(mains).toHaveLength(4);
    // Nothing was retried: a file that is no longer listed is known gone at the first refresh.
    expect(events.filter((e) => e.type === 'retry')).toEqual([]);
    expect(lookups).toBeGreaterThan(0);
    client.close();
  });

  it('dry run writes nothing and lists what it would fetch', async () => {
    const s = await sim({ assets: 10 });
    const out = path.join(await tempDir(), 'never');
    const planned: string[] = [];
    const summary = await runBackup(s, out, {
      dryRun: true,
      onEvent: (e: BackupEvent) => {
        if (e.type === 'file-planned') planned.push(e.file.path);
      },
    });
    expect(summary.filesPlanned).toBe(planned.length);
    expect(planned.length).toBe(s.assets().reduce((n, a) => n + a.files.length, 0));
    await expect(fs.stat(out)).rejects.toThrow();
    expect(s.stats.cdnRequests).toBe(0);
  });

  it('hostile names never escape the output folder', async () => {
    const s = await sim({ assets: 40, hostileNames: true });
    const parent = await tempDir();
    const out = path.join(parent, 'out');
    await runBackup(s, out, { metadata: true });
    expect(await listFiles(parent)).toEqual((await listFiles(out)).map((f) => `out/${f}`));
    await expectBackupMatches(s, out);
  });

  it('metadata sidecars carry the API fields without any URL', async () => {
    const s = await sim({ assets: 5 });
    const out = await tempDir();
    await runBackup(s, out, { metadata: true });
    const manifest = await readManifest(out);
    for (const entry of Object.values(manifest.assets)) {
      const text = await fs.readFile(path.join(out, entry.sidecar!), 'utf8');
      expect(text).not.toMatch(/https?:\/\//);
      expect(text).not.toContain('Signature');
      expect(JSON.parse(text)).toMatchObject({ assetId: entry.assetId, name: entry.name });
    }
    // A re-run with unchanged metadata rewrites no sidecar.
    const sidecar = path.join(out, Object.values(manifest.assets)[0]!.sidecar!);
    const before = await fs.stat(sidecar);
    await runBackup(s, out, { metadata: true });
    const after = await fs.stat(sidecar);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('a corrupt manifest stops the run and is kept as it was', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    await fs.writeFile(path.join(out, 'manifest.json'), '{"version": 1, "assets": {tr');
    await expect(runBackup(s, out)).rejects.toMatchObject({
      code: 'ERR_MANIFEST_CORRUPT',
    });
    expect(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).toBe('{"version": 1, "assets": {tr');
    expect(s.stats.cdnRequests).toBe(0);
  });

  it('abort stops the run, keeps .part files and flushes the manifest', async () => {
    const s = await sim({ assets: 20, cdnBytesPerSecond: 200_000, mainSize: { min: 200_000, max: 300_000 } });
    const out = await tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 700);
    const summary = await runBackup(s, out, { signal: controller.signal });
    expect(summary.interrupted).toBe(true);
    const files = await listFiles(out);
    expect(files.some((f) => f.endsWith('.part'))).toBe(true);
    await readManifest(out); // parseable
    const resumed = await runBackup(s, out);
    expect(resumed.interrupted).toBe(false);
    await expectBackupMatches(s, out);
  });
});
