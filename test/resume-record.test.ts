// A file's resume state is on record from before its first byte until its own record replaces it: the `file` line
// forgets it (manifest-data.ts), so a backup writes no separate line to clear it (ResumeStore.placed). A run killed
// between the rename and that record leaves a state whose `.part` is gone: the next run fetches nothing wrong.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileTransfer, type ResumeState } from '../src/engine/transfer.js';
import { backup } from '../src/run/backup.js';
import { Manifest } from '../src/store/manifest.js';
import { type TestServer, withServer } from './helpers/server.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('FileTransfer and its resume store at the end', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function fetchWith(store: { placed?: () => void }) {
    const body = Buffer.alloc(100_000, 7);
    const s = await withServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length, etag: '"v1"' });
      res.end(body);
    });
    servers.push(s);
    const sets: (ResumeState | undefined)[] = [];
    let state: ResumeState | undefined;
    const dir = await tempDir();
    const transfer = new FileTransfer({
      dest: path.join(dir, 'a.mp4'),
      url: `${s.url}/a.mp4`,
      resumeStore: {
        get: () => state,
        set: (next) => {
          sets.push(next);
          state = next;
        },
        ...store,
      },
    });
    await transfer.run();
    const result = await transfer.result;
    expect(result.sha256).toBe(sha256(body));
    return sets;
  }

  it('a store without `placed` is cleared with set(undefined) once the file is in place', async () => {
    const sets = await fetchWith({});
    expect(sets).toEqual([{ validator: '"v1"', total: 100_000 }, undefined]);
  });

  it('a store with `placed` is told so instead, once, and never cleared', async () => {
    let placed = 0;
    const sets = await fetchWith({ placed: () => void placed++ });
    expect(sets).toEqual([{ validator: '"v1"', total: 100_000 }]);
    expect(placed).toBe(1);
  });
});

describe('backup() and the resume states in the manifest', () => {
  it('records each file’s state once, before its first byte, and leaves none behind', async () => {
    const s = await sim({ assets: 4 });
    const out = await tempDir();
    const setPartial = vi.spyOn(Manifest.prototype, 'setPartial');
    const summary = await backup({ token: s.token, baseUrl: s.url, out, concurrency: 4, backoffBaseMs: 5 });
    expect(summary.filesFailed).toBe(0);
    expect(summary.filesDownloaded).toBeGreaterThan(4);
    const states = setPartial.mock.calls.map(([, , state]) => state);
    expect(states.filter((state) => state === undefined)).toEqual([]);
    expect(states).toHaveLength(summary.filesDownloaded);
    const manifest = await Manifest.load(out);
    for (const entry of Object.values(manifest.data.assets)) expect(entry?.partials).toBeUndefined();
    await manifest.close();
  });

  it('a run killed between the rename and the file’s record: the next run records the file, sets nothing aside', async () => {
    const s = await sim({ assets: 2 });
    const out = await tempDir();
    const first = await backup({ token: s.token, baseUrl: s.url, out, concurrency: 2, backoffBaseMs: 5 });
    expect(first.filesFailed).toBe(0);
    // What the kill leaves: the file at its path, no `.part`, the resume state on record and no record of the file.
    const file = path.join(out, 'manifest.json');
    const data = JSON.parse(await fs.readFile(file, 'utf8'));
    const [assetId, entry] = Object.entries(data.assets)[0] as [
      string,
      { files: { role: string; path: string }[] },
    ];
    const main = entry.files.find((f) => f.role === 'main')!;
    const bytes = await fs.readFile(path.join(out, main.path));
    entry.files = entry.files.filter((f) => f !== main);
    Object.assign(entry, {
      partials: { 'main-0': { total: bytes.length, path: main.path } },
      status: 'partial',
    });
    await fs.writeFile(file, JSON.stringify(data, null, 2));

    const second = await backup({ token: s.token, baseUrl: s.url, out, concurrency: 2, backoffBaseMs: 5 });
    expect(second.filesFailed).toBe(0);
    expect(second.filesDownloaded).toBe(1);
    const manifest = await Manifest.load(out);
    const again = manifest.get(assetId)!;
    await manifest.close();
    expect(again.partials).toBeUndefined();
    expect(again.files.find((f) => f.role === 'main')).toMatchObject({
      path: main.path,
      status: 'done',
      sha256: sha256(bytes),
    });
    expect(await fs.readFile(path.join(out, main.path))).toEqual(bytes);
    const names = await fs.readdir(path.dirname(path.join(out, main.path)));
    expect(names.filter((n) => n.includes('.conflict-') || n.endsWith('.part'))).toEqual([]);
  });
});
