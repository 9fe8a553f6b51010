import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { backup } from '../src/run/backup.js';
import {
  JOURNAL_NAME,
  Manifest,
  type ManifestData,
  type ManifestFile,
  snapshotOf,
} from '../src/store/manifest.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const file = (index: number, role: ManifestFile['role'] = 'preview'): ManifestFile => ({
  role,
  index,
  path: `video/x.preview-${index}.webp`,
  bytes: 10 + index,
  sha256: 'a'.repeat(64),
  status: 'done',
  completedAt: '2026-11-29T00:00:00.000Z',
});

async function seeded(out: string): Promise<Manifest> {
  const m = await Manifest.load(out);
  // Each change is on disk once its promise settles (group commit): that is when a file may be reported done.
  await m.upsertAsset({ assetId: 'A', name: 'clip', mediaType: 'video' });
  await m.recordFile('A', file(0, 'main'));
  await m.recordFile('A', file(1));
  return m;
}

describe('Manifest', () => {
  it('round-trips through flush and load, with a version and without URLs', async () => {
    const out = await tempDir();
    const m = await seeded(out);
    await m.flush();
    await m.close();
    const text = await fs.readFile(path.join(out, 'manifest.json'), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ version: 1, tool: 'runway-backup' });
    expect(text).not.toMatch(/https?:/);
    const again = await Manifest.load(out);
    expect(again.doneFile('A', 'preview', 1)?.bytes).toBe(11);
    expect(again.get('A')?.files.map((f) => f.role)).toEqual(['main', 'preview']);
    // The journal was folded into manifest.json and removed.
    await expect(fs.stat(path.join(out, JOURNAL_NAME))).rejects.toThrow();
  });

  it('a change is in the journal at once, before any flush (a kill -9 keeps it)', async () => {
    const out = await tempDir();
    const m = await seeded(out);
    // No flush, no close: as if the process died here.
    const reloaded = await Manifest.load(out);
    expect(reloaded.doneFile('A', 'main', 0)).toBeDefined();
    expect(reloaded.doneFile('A', 'preview', 1)).toBeDefined();
    await m.close();
  });

  it('ignores a torn last journal line', async () => {
    const out = await tempDir();
    const m = await seeded(out);
    await m.close();
    await fs.appendFile(path.join(out, JOURNAL_NAME), '{"op":"file","assetId":"A","fi');
    const reloaded = await Manifest.load(out);
    expect(reloaded.tornLines).toBe(1);
    expect(reloaded.get('A')?.files).toHaveLength(2);
  });

  it('the next run after a torn last line writes on a line of its own: its first change survives a crash', async () => {
    const out = await tempDir();
    const m = await seeded(out);
    await m.close();
    await fs.appendFile(path.join(out, JOURNAL_NAME), '{"op":"file","assetId":"A","fi');
    const next = await Manifest.load(out);
    // The next run's first lines: a new asset, then a file of it. Glued to the fragment, the asset line was lost
    // with it, and the file line then had no asset to apply to.
    await next.upsertAsset({ assetId: 'B', name: 'new', mediaType: 'video' });
    await next.recordFile('B', file(0, 'main'));
    // No flush, no close: the process dies here.
    const reloaded = await Manifest.load(out);
    expect(reloaded.tornLines).toBe(1);
    expect(reloaded.doneFile('B', 'main', 0)?.bytes).toBe(10);
    expect(reloaded.doneFile('A', 'preview', 1)).toBeDefined();
    await next.close();
  });

  it('replays a rotated journal left by a crash during a rewrite', async () => {
    const out = await tempDir();
    const m = await seeded(out);
    await m.close();
    await fs.rename(path.join(out, JOURNAL_NAME), path.join(out, `${JOURNAL_NAME}.old`));
    const n = await Manifest.load(out);
    await n.demoteFile('A', 'preview', 1); // lands in a new journal, replayed after the old one
    await n.close();
    const reloaded = await Manifest.load(out);
    // The demoted file stays recorded as wanted (item 1 of issue 11), no longer done.
    expect(reloaded.get('A')?.files.map((f) => [f.index, f.status])).toEqual([
      [0, 'done'],
      [1, 'missing'],
    ]);
    expect(reloaded.get('A')?.status).toBe('partial');
  });

  it('a crash at any point of a rewrite leaves a readable manifest', async () => {
    const out = await tempDir();
    const m = await seeded(out);
    await m.flush();
    await m.recordFile('A', file(2));
    // Simulate a crash after the temp file was written but before the rename: a stray temp file remains.
    await fs.writeFile(path.join(out, '.manifest.json.999.dead.tmp'), '{"half":');
    await m.close();
    const reloaded = await Manifest.load(out);
    expect(reloaded.get('A')?.files).toHaveLength(3);
  });

  it.each([
    ['not JSON', '{"version": 1, "assets": {tr'],
    ['a wrong version', '{"version": 99, "assets": {}}'],
    ['a wrong shape', '{"version": 1, "assets": {"A": {"assetId": "B", "files": []}}}'],
    ['an array', '[]'],
  ])('a manifest that is %s is an error and is kept as it is', async (_name, content) => {
    const out = await tempDir();
    await fs.writeFile(path.join(out, 'manifest.json'), content);
    await expect(Manifest.load(out)).rejects.toMatchObject({ code: 'ERR_MANIFEST_CORRUPT' });
    expect(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).toBe(content);
  });

  it('batches rewrites: many changes, one write of manifest.json', async () => {
    const out = await tempDir();
    const m = await Manifest.load(out);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      writes.push(m.upsertAsset({ assetId: `A${i}` }));
      writes.push(m.recordFile(`A${i}`, file(0, 'main')));
    }
    await Promise.all(writes);
    await expect(fs.stat(path.join(out, 'manifest.json'))).rejects.toThrow();
    await m.flush();
    await m.close();
    expect(
      Object.keys(JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).assets),
    ).toHaveLength(200);
  });
});

describe('the manifest snapshot, written piece by piece', () => {
  const text = (data: ManifestData) => {
    const snapshot = snapshotOf(data);
    const joined = [...snapshot.pieces].join('');
    expect(snapshot.length()).toBe(joined.length);
    return joined;
  };

  it('is JSON.stringify(data, null, 2) plus a newline, character for character', async () => {
    const s = await sim({ assets: 30, hostileNames: true });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, metadata: true, concurrency: 4 });
    const written = await fs.readFile(path.join(out, 'manifest.json'), 'utf8');
    const data = JSON.parse(written) as ManifestData;
    expect(Object.keys(data.assets).length).toBe(30);
    // What the run wrote, through the pieces, is what JSON.stringify would have written.
    expect(written).toBe(`${JSON.stringify(data, null, 2)}\n`);
    expect(text(data)).toBe(`${JSON.stringify(data, null, 2)}\n`);
    // Partials, missing files and optional fields, as a run leaves them mid-way.
    const [first, second] = Object.values(data.assets);
    first!.partials = { 'main-0': { validator: '"v1"', total: 10, segments: [[0, 4, 10]] } } as never;
    second!.files[0]!.status = 'missing';
    (second as unknown as Record<string, unknown>).sidecar = undefined;
    expect(text(data)).toBe(`${JSON.stringify(data, null, 2)}\n`);
    const empty: ManifestData = { ...data, assets: {} };
    expect(text(empty)).toBe(`${JSON.stringify(empty, null, 2)}\n`);
  });

  it('changes recorded while manifest.json is being written are kept, on whichever side of the snapshot they land', async () => {
    const dir = await tempDir();
    // No rewrite of its own accord: the one under test is the only one.
    const m = await Manifest.load(dir, { compactAfterBytes: 1e12 });
    const long = 'x'.repeat(400);
    for (let i = 0; i < 2000; i++) {
      void m.upsertAsset({ assetId: `a${i}`, name: `clip ${i} ${long}`, mediaType: 'video' } as never);
    }
    // About 1 MB of manifest, written a few hundred KiB at a time. Before each of those writes, two changes to assets
    // whose pieces are made later: a rename (the asset op replaces the entry object, so the snapshot, which holds
    // the old one, may miss it and the journal carries it) and a finished file (it changes the entry in place, so
    // it is in the snapshot and in the journal both).
    const probe = await fs.open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writeFile: (data: unknown) => Promise<void> };
    await probe.close();
    const original = proto.writeFile;
    const recorded: Promise<void>[] = [];
    const renamed = new Map<string, string>();
    const finished: string[] = [];
    const spy = vi.spyOn(proto, 'writeFile').mockImplementation(function (this: unknown, data: unknown) {
      // The manifest's pieces are indented JSON; journal lines are one line each.
      if (typeof data === 'string' && data.includes('\n      "assetId"')) {
        const n = finished.length;
        renamed.set(`a${1999 - 2 * n}`, `renamed ${n}`);
        recorded.push(
          m.upsertAsset({ assetId: `a${1999 - 2 * n}`, name: `renamed ${n}`, mediaType: 'video' } as never),
        );
        finished.push(`a${1998 - 2 * n}`);
        recorded.push(m.recordFile(`a${1998 - 2 * n}`, { ...file(0, 'main'), path: `video/late-${n}.mp4` }));
      }
      return original.call(this, data);
    });
    try {
      await m.flush();
    } finally {
      spy.mockRestore();
    }
    await Promise.all(recorded);
    expect(finished.length).toBeGreaterThan(1);
    const expected = structuredClone(m.data);
    await m.close();
    const snapshot = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as ManifestData;
    const journal = (await fs.readFile(path.join(dir, JOURNAL_NAME), 'utf8')).trim().split('\n');
    const ops = journal.map(
      (line) => JSON.parse(line) as { op: string; assetId?: string; entry?: { name: string } },
    );
    for (const [, name] of renamed)
      expect(
        ops.some((op) => op.entry?.name === name),
        name,
      ).toBe(true);
    for (const [k, id] of finished.entries()) {
      expect(
        ops.some((op) => op.op === 'file' && op.assetId === id),
        id,
      ).toBe(true);
      // Recorded before the last write, the file is in a piece made after it; at the last write every piece is made.
      if (k < finished.length - 1) {
        expect(
          snapshot.assets[id]?.files.map((f) => f.path),
          id,
        ).toEqual([`video/late-${k}.mp4`]);
      }
    }
    // Read back (the snapshot, then the journal replayed on it): exactly what the process held.
    const back = await Manifest.load(dir);
    expect(back.data.assets).toEqual(expected.assets);
    await back.close();
  });

  it('the manifest a run rewrites is read back whole', async () => {
    const dir = await tempDir();
    const m = await Manifest.load(dir);
    for (let i = 0; i < 50; i++) {
      await m.upsertAsset({ assetId: `a${i}`, name: `clip "${i}" ü`, mediaType: 'video' } as never);
    }
    await m.flush();
    await m.close();
    const back = await Manifest.load(dir);
    expect(Object.keys(back.data.assets)).toHaveLength(50);
    await back.close();
  });
});
