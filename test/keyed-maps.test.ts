// Keyed maps of the store hold any string as a key: an assetId (or a partial's key, or a metadata field) that is
// also the name of an Object.prototype member must be recorded, counted, written and read back like any other.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOURNAL_NAME, MANIFEST_NAME, Manifest, type ManifestFile } from '../src/store/manifest.js';
import { sanitizeMetadata } from '../src/store/sidecar.js';
import type { RawAsset } from '../src/types.js';
import { tempDir } from './helpers/tmp.js';

/** Names an object inherits from Object.prototype, `__proto__` first: each one once broke a plain `{}` map. */
const HOSTILE = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const ALL = ['plain', ...HOSTILE].sort();

const mainFile = (assetId: string): ManifestFile => ({
  role: 'main',
  index: 0,
  path: `video/${assetId}.mp4`,
  bytes: assetId.length,
  sha256: 'b'.repeat(64),
  status: 'done',
  completedAt: '2026-11-29T00:00:00.000Z',
});

async function record(m: Manifest, assetId: string): Promise<void> {
  await m.upsertAsset({ assetId, name: `name of ${assetId}`, mediaType: 'video' });
  await m.recordFile(assetId, mainFile(assetId));
}

/** Every asset is there, under its own id, with its own file; nothing else is, and no map's prototype moved. */
function expectAll(m: Manifest): void {
  expect(m.size).toBe(ALL.length);
  expect(Object.keys(m.data.assets).sort()).toEqual(ALL);
  for (const id of ALL) {
    expect(Object.hasOwn(m.data.assets, id), id).toBe(true);
    expect(m.get(id)?.assetId, id).toBe(id);
    expect(m.get(id)?.name, id).toBe(`name of ${id}`);
    expect(m.doneFile(id, 'main', 0)?.path, id).toBe(`video/${id}.mp4`);
  }
  // The map itself is no asset, and ids never recorded are not found through its prototype.
  const proto: unknown = Object.getPrototypeOf(m.data.assets);
  expect(proto === null || proto === Object.prototype).toBe(true);
  expect((m.data.assets as Record<string, unknown>).files).toBeUndefined();
  for (const id of ['isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']) {
    expect(m.get(id), id).toBeUndefined();
    expect(m.doneFile(id, 'main', 0), id).toBeUndefined();
  }
  // A JSON round trip keeps every one of them.
  const copy = JSON.parse(JSON.stringify(m.data)) as { assets: Record<string, { assetId: string }> };
  expect(Object.keys(copy.assets).sort()).toEqual(ALL);
  for (const id of ALL) expect(Object.hasOwn(copy.assets, id) && copy.assets[id]?.assetId, id).toBe(id);
  // Nothing leaked into the prototype every object shares.
  expect(({} as Record<string, unknown>).files).toBeUndefined();
  expect(({} as Record<string, unknown>).assetId).toBeUndefined();
}

describe('manifest keys that are names of Object.prototype members', () => {
  it('records, counts and reads back assets with ids like __proto__ and constructor', async () => {
    const out = await tempDir();
    const m = await Manifest.load(out);
    await record(m, 'plain');
    for (const id of HOSTILE) await record(m, id);
    await m.setStatus('__proto__', 'complete');
    expectAll(m);
    expect(m.get('__proto__')?.status).toBe('complete');
    expect(m.get('plain')?.status).toBe('partial');

    // No flush: the next load has only the journal to replay.
    const replayed = await Manifest.load(out);
    expectAll(replayed);
    expect(replayed.get('__proto__')?.status).toBe('complete');
    await replayed.close();

    await m.flush();
    await m.close();
    await expect(fs.stat(path.join(out, JOURNAL_NAME))).rejects.toThrow();
    const written = JSON.parse(await fs.readFile(path.join(out, MANIFEST_NAME), 'utf8')) as {
      assets: Record<string, unknown>;
    };
    expect(Object.keys(written.assets).sort()).toEqual(ALL);

    // From the snapshot alone, then changes replayed from a journal on top of it.
    const fromSnapshot = await Manifest.load(out);
    expectAll(fromSnapshot);
    await fromSnapshot.demoteFile('__proto__', 'main', 0);
    await fromSnapshot.upsertAsset({ assetId: 'constructor', name: 'renamed', mediaType: 'video' });
    await fromSnapshot.close();
    const again = await Manifest.load(out);
    expect(again.size).toBe(ALL.length);
    expect(again.doneFile('__proto__', 'main', 0)?.status).toBe('missing');
    expect(again.get('__proto__')?.status).toBe('partial');
    expect(again.get('constructor')?.name).toBe('renamed');
    expect(again.doneFile('constructor', 'main', 0)?.path).toBe('video/constructor.mp4');
    expect(again.get('plain')?.name).toBe('name of plain');
    await again.close();
  });
});

describe('manifest resume state and manifest.json with such keys', () => {
  it('keeps resume state under any key, and forgets it again', async () => {
    const out = await tempDir();
    const m = await Manifest.load(out);
    await record(m, 'A');
    const state = { validator: '"v"', total: 100, segments: [[0, 10, 100]] as [number, number, number][] };
    for (const key of ['__proto__', 'constructor', 'main-1']) await m.setPartial('A', key, state);
    const check = (n: Manifest): void => {
      for (const key of ['__proto__', 'constructor', 'main-1'])
        expect(n.partial('A', key), key).toEqual(state);
      expect(n.partial('A', 'toString')).toBeUndefined();
      expect(Object.keys(n.get('A')?.partials ?? {}).sort()).toEqual(['__proto__', 'constructor', 'main-1']);
    };
    check(m);
    const replayed = await Manifest.load(out);
    check(replayed);
    await replayed.close();
    await m.flush();
    const fromSnapshot = await Manifest.load(out);
    check(fromSnapshot);
    await fromSnapshot.close();

    await m.setPartial('A', '__proto__', undefined);
    expect(m.partial('A', '__proto__')).toBeUndefined();
    expect(m.partial('A', 'constructor')).toEqual(state);
    await m.close();
    const after = await Manifest.load(out);
    expect(after.partial('A', '__proto__')).toBeUndefined();
    expect(after.partial('A', 'constructor')).toEqual(state);
    await after.close();
  });

  it('reads a manifest.json that holds such ids, and replays a journal on top of it', async () => {
    const out = await tempDir();
    const assets: Record<string, unknown> = Object.create(null);
    for (const id of ALL) {
      assets[id] = {
        assetId: id,
        name: `name of ${id}`,
        mediaType: 'video',
        status: 'complete',
        files: [mainFile(id)],
        updatedAt: '2026-11-29T00:00:00.000Z',
      };
    }
    const data = { version: 1, tool: 'runway-backup', createdAt: 'x', updatedAt: 'x', assets };
    await fs.writeFile(path.join(out, MANIFEST_NAME), `${JSON.stringify(data, null, 2)}\n`);
    const m = await Manifest.load(out);
    expectAll(m);
    // A new asset after them all, whose id is one more inherited name.
    await record(m, 'isPrototypeOf');
    await m.close();
    const again = await Manifest.load(out);
    expect(again.size).toBe(ALL.length + 1);
    expect(again.doneFile('isPrototypeOf', 'main', 0)?.path).toBe('video/isPrototypeOf.mp4');
    expect(again.get('__proto__')?.files).toHaveLength(1);
    await again.close();
  });
});

describe('metadata sidecar fields named like Object.prototype members', () => {
  it('are kept as fields, at any depth, and URLs are still dropped', () => {
    const raw = JSON.parse(
      '{"assetId":"a","__proto__":{"x":1,"url":"https://cdn/x"},"constructor":"c",' +
        '"meta":{"__proto__":"p","toString":{"y":2}},"list":[{"__proto__":{"z":3}}]}',
    ) as RawAsset;
    const clean = sanitizeMetadata(raw);
    expect(JSON.parse(JSON.stringify(clean))).toEqual(
      JSON.parse(
        '{"assetId":"a","__proto__":{"x":1},"constructor":"c",' +
          '"meta":{"__proto__":"p","toString":{"y":2}},"list":[{"__proto__":{"z":3}}]}',
      ),
    );
    expect(Object.getPrototypeOf(clean)).toBe(Object.prototype);
    expect(Object.hasOwn(clean, '__proto__')).toBe(true);
  });
});
