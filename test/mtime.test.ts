// File times (gallery-dl's --mtime): each downloaded file's modification time is its asset's createdAt, a resumed
// file too; `mtime: false` keeps the download time; a recorded file whose time was changed is left alone.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BackupEvent, type BackupOptions, backup } from '../src/run/backup.js';
import { Manifest } from '../src/store/manifest.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

type Sim = Awaited<ReturnType<typeof sim>>;

const run = (s: Sim, out: string, extra: Partial<BackupOptions> = {}) =>
  backup({ token: s.token, baseUrl: s.url, out, backoffBaseMs: 5, ...extra });

/** Every recorded file with its asset's createdAt and its mtime on disk. */
async function fileTimes(out: string): Promise<{ path: string; createdAt: number; mtime: number }[]> {
  const manifest = await Manifest.load(out);
  await manifest.close();
  const rows = [];
  for (const entry of Object.values(manifest.data.assets)) {
    for (const file of entry.files) {
      const stat = await fs.stat(path.join(out, file.path));
      rows.push({ path: file.path, createdAt: Date.parse(entry.createdAt ?? ''), mtime: stat.mtimeMs });
    }
  }
  return rows;
}

describe('file times', () => {
  it("gives every file (main and previews) its asset's createdAt", async () => {
    const s = await sim({ assets: 8, fixedSizes: 256 });
    const out = await tempDir();
    await run(s, out);
    const rows = await fileTimes(out);
    expect(rows.length).toBeGreaterThan(8);
    for (const row of rows) expect(Math.abs(row.mtime - row.createdAt), row.path).toBeLessThan(1);
    // The catalog's dates are in November 2026, not the time of the download.
    expect(new Set(rows.map((r) => r.createdAt)).size).toBe(8);
  });

  it('mtime: false keeps the download time', async () => {
    const s = await sim({ assets: 4, fixedSizes: 256 });
    const out = await tempDir();
    const before = Date.now();
    await run(s, out, { mtime: false });
    for (const row of await fileTimes(out)) {
      expect(row.mtime, row.path).toBeGreaterThanOrEqual(before - 2000);
      expect(Math.abs(row.mtime - row.createdAt)).toBeGreaterThan(1000);
    }
  });

  it('a file resumed from its .part in a later run gets the time too', async () => {
    const s = await sim({ assets: 12, cdnBytesPerSecond: 200_000, mainSize: { min: 200_000, max: 300_000 } });
    const out = await tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 700);
    const first = await run(s, out, { signal: controller.signal });
    expect(first.interrupted).toBe(true);
    const resumed: string[] = [];
    const onEvent = (e: BackupEvent) => {
      if (e.type === 'file-done' && e.resumedFrom > 0) resumed.push(e.file.path);
    };
    s.configure({ cdnBytesPerSecond: undefined });
    const second = await run(s, out, { onEvent });
    expect(second.interrupted).toBe(false);
    expect(resumed.length).toBeGreaterThan(0);
    const rows = await fileTimes(out);
    for (const p of resumed) {
      const row = rows.find((r) => r.path === p);
      expect(Math.abs((row?.mtime ?? 0) - (row?.createdAt ?? 1)), p).toBeLessThan(1);
    }
  }, 30_000);

  it('leaves alone a recorded file whose time was changed since', async () => {
    const s = await sim({ assets: 3, fixedSizes: 256 });
    const out = await tempDir();
    await run(s, out);
    const [row] = await fileTimes(out);
    const file = path.join(out, row?.path ?? '');
    const touched = new Date('2020-01-02T03:04:05.000Z');
    await fs.utimes(file, touched, touched);
    const again = await run(s, out);
    expect(again.filesDownloaded).toBe(0);
    expect((await fs.stat(file)).mtimeMs).toBe(touched.getTime());
  });
});
