// Moves to a new layout at the library level (issue 19, item 2), with the crash points made exact: a move
// journalled but not renamed, renamed but not journalled done; a stranger's file at a destination; folders.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { relayout } from '../src/run/relayout.js';
import { Manifest } from '../src/store/manifest.js';
import { parseLayout } from '../src/store/template.js';
import { listFiles } from './helpers/backup-check.js';
import { tempDir } from './helpers/tmp.js';

const BY_MONTH = parseLayout('{year}/{month}/{name}_{id8}.{ext}');
const OLD = 'video/2026-11-05_clip_3f2b8c1e.mp4';
const NEW = '2026/11/clip_3f2b8c1e.mp4';
const BYTES = Buffer.from('the only copy of a generation');
const SHA = createHash('sha256').update(BYTES).digest('hex');

/** Every manifest a test loads is closed after it: an open journal left to the collector makes Node warn (DEP0137). */
const loaded: Manifest[] = [];
afterEach(async () => {
  for (const m of loaded.splice(0)) await m.close();
});

async function load(out: string): Promise<Manifest> {
  const manifest = await Manifest.load(out);
  loaded.push(manifest);
  return manifest;
}

async function backupOfOne(): Promise<{ out: string; manifest: Manifest }> {
  const out = await tempDir();
  await fs.mkdir(path.join(out, 'video'), { recursive: true });
  await fs.writeFile(path.join(out, OLD), BYTES);
  const manifest = await load(out);
  await manifest.upsertAsset({
    assetId: 'asset:3f2b8c1e-0000-4000-8000-000000000001',
    id: '3f2b8c1e-0000-4000-8000-000000000001',
    name: 'clip',
    mediaType: 'video',
    createdAt: '2026-11-05T10:00:00Z',
  });
  await manifest.recordFile('asset:3f2b8c1e-0000-4000-8000-000000000001', {
    role: 'main',
    index: 0,
    path: OLD,
    bytes: BYTES.length,
    sha256: SHA,
    status: 'done',
    completedAt: '2026-11-05T10:00:01Z',
  });
  await manifest.flush();
  return { out, manifest };
}

const options = { layout: BY_MONTH, timeZone: 'UTC', accounts: [], dryRun: false };
const ID = 'asset:3f2b8c1e-0000-4000-8000-000000000001';

describe('relayout', () => {
  it('moves the file, records it, removes the emptied folder', async () => {
    const { out, manifest } = await backupOfOne();
    const result = await relayout(manifest, out, options);
    expect(result.moves).toEqual([{ assetId: ID, key: 'main-0', from: OLD, to: NEW }]);
    expect(manifest.doneFile(ID, 'main', 0)?.path).toBe(NEW);
    expect(await listFiles(out)).toEqual([NEW, 'manifest.journal', 'manifest.json']);
    await manifest.close();
    // Read back from disk: the journal says the same.
    expect((await load(out)).doneFile(ID, 'main', 0)?.path).toBe(NEW);
  });

  it('killed after journalling a move, before the rename: the next run renames', async () => {
    const { out, manifest } = await backupOfOne();
    await manifest.recordMove(ID, 'main-0', OLD, NEW, false);
    await manifest.close(); // the process ends here
    const again = await load(out);
    expect(again.get(ID)?.moves).toEqual({ 'main-0': { from: OLD, to: NEW } });
    await relayout(again, out, options);
    expect(again.doneFile(ID, 'main', 0)?.path).toBe(NEW);
    expect(again.get(ID)?.moves).toBeUndefined();
    expect(await fs.readFile(path.join(out, NEW))).toEqual(BYTES);
    await expect(fs.stat(path.join(out, OLD))).rejects.toThrow();
  });

  it('killed after the rename, before it was journalled done: the next run only records it', async () => {
    const { out, manifest } = await backupOfOne();
    await manifest.recordMove(ID, 'main-0', OLD, NEW, false);
    await fs.mkdir(path.join(out, '2026/11'), { recursive: true });
    await fs.rename(path.join(out, OLD), path.join(out, NEW));
    await manifest.close();
    const again = await load(out);
    await relayout(again, out, options);
    expect(again.doneFile(ID, 'main', 0)?.path).toBe(NEW);
    expect(await fs.readFile(path.join(out, NEW))).toEqual(BYTES);
    const media = (await listFiles(out)).filter((f) => f.endsWith('.mp4'));
    expect(media).toEqual([NEW]);
  });

  it("never overwrites a stranger's file at the destination: it is set aside", async () => {
    const { out, manifest } = await backupOfOne();
    await fs.mkdir(path.join(out, '2026/11'), { recursive: true });
    await fs.writeFile(path.join(out, NEW), 'a file of the user');
    const result = await relayout(manifest, out, options);
    expect(result.setAside).toEqual([{ path: NEW, movedTo: '2026/11/clip_3f2b8c1e.conflict-1.mp4' }]);
    expect(await fs.readFile(path.join(out, NEW))).toEqual(BYTES);
    expect(await fs.readFile(path.join(out, '2026/11/clip_3f2b8c1e.conflict-1.mp4'), 'utf8')).toBe(
      'a file of the user',
    );
  });

  it('a folder that still holds anything (a user file) is not removed', async () => {
    const { out, manifest } = await backupOfOne();
    await fs.writeFile(path.join(out, 'video', 'notes.txt'), 'mine');
    await relayout(manifest, out, options);
    expect(await fs.readFile(path.join(out, 'video', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('a dry run moves and records nothing', async () => {
    const { out, manifest } = await backupOfOne();
    const result = await relayout(manifest, out, { ...options, dryRun: true });
    expect(result.moves).toHaveLength(1);
    expect(manifest.doneFile(ID, 'main', 0)?.path).toBe(OLD);
    expect(await fs.readFile(path.join(out, OLD))).toEqual(BYTES);
    expect(manifest.data.layout).toBeUndefined();
  });
});
