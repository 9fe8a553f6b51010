/**
 * Issue 11, the engine's share: the faults fixed inside the rewritten engine (items 3, 4, 6, 7, 10 and the
 * `filesPlanned` part of 14), each shown by a test that fails on the engine before the rewrite.
 */

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  promises as fs,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import fse from 'fs-extra';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { downloadFile } from '../src/engine/download.js';
import { createProgress } from '../src/report/progress.js';
import { type BackupEvent, type BackupOptions, backup, type FileJob } from '../src/run/backup.js';
import type { SimFileView, Simulator } from '../src/simulator/index.js';
import { Manifest, type ManifestData, type ManifestFile } from '../src/store/manifest.js';
import { runCli } from './helpers/cli.js';
import { withServer } from './helpers/server.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

// Every file the code under test reads through a read-only handle (how `hashRange` reads), in the order the reads
// return: how a test sees when a `.part` was hashed.
const reads = vi.hoisted((): string[] => []);
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const open = (async (...args: Parameters<typeof actual.promises.open>) => {
    const handle = await actual.promises.open(...args);
    if (args[1] !== 'r') return handle;
    const read = handle.read.bind(handle) as (...a: unknown[]) => Promise<unknown>;
    handle.read = (async (...a: unknown[]) => {
      const result = await read(...a);
      reads.push(String(args[0]));
      return result;
    }) as typeof handle.read;
    return handle;
  }) as typeof actual.promises.open;
  return { ...actual, promises: { ...actual.promises, open } };
});

const LOCK = '.runway-backup.lock';
const fast = { backoffBaseMs: 5, retries: 4, timeoutMs: 5000 };

function runBackup(s: Simulator, out: string, extra: Partial<BackupOptions> = {}) {
  return backup({ token: s.token, baseUrl: s.url, out, ...fast, ...extra });
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function files(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/**
 * The output folder after a run that stopped: no lock left, manifest.json whole JSON, and every file it (with the
 * journals) records done on disk with the recorded size and hash.
 */
async function expectIntact(out: string, { written = true } = {}): Promise<ManifestData> {
  expect(existsSync(path.join(out, LOCK)), 'lock released').toBe(false);
  // A symlink left in place of a journal (the /dev/full test) would make the load below read forever.
  for (const name of await fs.readdir(out)) {
    expect((await fs.lstat(path.join(out, name))).isSymbolicLink(), `${name} is a symlink`).toBe(false);
  }
  // A run stopped before its first change has nothing to write, and writes nothing.
  if (written || existsSync(path.join(out, 'manifest.json'))) {
    const text = await fs.readFile(path.join(out, 'manifest.json'), 'utf8');
    expect(() => JSON.parse(text)).not.toThrow();
  }
  const manifest = await Manifest.load(out);
  for (const entry of Object.values(manifest.data.assets)) {
    for (const f of entry.files.filter((file) => file.status === 'done')) {
      const data = await fs.readFile(path.join(out, f.path));
      expect(data.length, f.path).toBe(f.bytes);
      expect(sha(data), f.path).toBe(f.sha256);
    }
  }
  return manifest.data;
}

/** Files below `out` holding exactly `data`. */
async function keptCopies(out: string, data: Buffer): Promise<string[]> {
  const found: string[] = [];
  for (const f of await files(out)) if ((await fs.readFile(path.join(out, f))).equals(data)) found.push(f);
  return found;
}

/** Whether `chattr +i` works here (root, a file system with the immutable flag): it makes a rename fail. */
function immutableFilesHere(): boolean {
  if (process.getuid?.() !== 0) return false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rb-chattr-'));
  const file = path.join(dir, 'probe');
  try {
    writeFileSync(file, 'x');
    execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    try {
      renameSync(file, `${file}.moved`);
      return false;
    } catch {
      execFileSync('chattr', ['-i', file], { stdio: 'ignore' });
      return true;
    }
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('item 3: no journal line is lost whatever fails between rewrites', () => {
  const record = (name: string): ManifestFile => ({
    role: 'main',
    index: 0,
    path: `video/${name}.mp4`,
    bytes: name.length,
    sha256: sha(Buffer.from(name)),
    status: 'done',
    completedAt: new Date().toISOString(),
  });

  async function change(m: Manifest, assetId: string): Promise<void> {
    await m.upsertAsset({ assetId, name: assetId });
    await m.recordFile(assetId, record(assetId));
    await m.setPartial(assetId, 'preview-1', { validator: `"${assetId}"`, total: 1000 });
  }

  function expectAll(m: Manifest, ids: string[]): void {
    for (const id of ids) {
      expect(m.doneFile(id, 'main', 0)?.path, id).toBe(`video/${id}.mp4`);
      expect(m.partial(id, 'preview-1'), id).toEqual({ validator: `"${id}"`, total: 1000 });
    }
  }

  it('two failed rewrites, then a crash: every change of all three batches is replayed', async () => {
    const out = await tempDir();
    const m = await Manifest.load(out);
    // A folder standing at manifest.json: the atomic rename over it fails, as a full disk would fail the write.
    const blocker = path.join(out, 'manifest.json', 'blocker');
    await fs.mkdir(blocker, { recursive: true });
    await change(m, 'a1');
    await expect(m.flush()).rejects.toThrow();
    await change(m, 'a2');
    await expect(m.flush()).rejects.toThrow();
    await change(m, 'a3');
    // The process dies here: no successful rewrite ever happened.
    await m.close();
    await fs.rm(path.join(out, 'manifest.json'), { recursive: true });
    const reloaded = await Manifest.load(out);
    expectAll(reloaded, ['a1', 'a2', 'a3']);
    expect(reloaded.tornLines).toBe(0);
  });

  it('a failed rewrite, more changes, a successful one: all kept and the old journals folded in', async () => {
    const out = await tempDir();
    const m = await Manifest.load(out);
    await change(m, 'a1');
    await m.flush();
    const blocker = path.join(out, 'manifest.json.blocked');
    await fs.rename(path.join(out, 'manifest.json'), blocker);
    await fs.mkdir(path.join(out, 'manifest.json', 'blocker'), { recursive: true });
    await change(m, 'a2');
    await expect(m.flush()).rejects.toThrow();
    await change(m, 'a3');
    await fs.rm(path.join(out, 'manifest.json'), { recursive: true });
    await fs.rename(blocker, path.join(out, 'manifest.json'));
    await m.flush();
    await change(m, 'a4');
    await m.close();
    // Only the current journal (a4) is left beside the rewritten manifest.
    expect((await fs.readdir(out)).filter((n) => n.startsWith('manifest.journal')).sort()).toEqual([
      'manifest.journal',
    ]);
    expectAll(await Manifest.load(out), ['a1', 'a2', 'a3', 'a4']);
  });

  it('a change recorded while a rewrite closes the journal is not rotated away with it', async () => {
    const out = await tempDir();
    const m = await Manifest.load(out);
    // Hook the close of the journal's file handle: a change arrives in that instant, as one does in a busy run.
    let during: (() => Promise<void>) | undefined = async () => {
      await m.setPartial('a1', 'main-0', { validator: '"during"', total: 5 });
    };
    let hooked = false;
    const open = fs.open;
    const spy = vi.spyOn(fs, 'open').mockImplementation(async (...args: Parameters<typeof fs.open>) => {
      const handle = await open(...args);
      if (String(args[0]) === m.journal) {
        const close = handle.close.bind(handle);
        handle.close = async () => {
          const hook = during;
          during = undefined;
          if (hook) {
            hooked = true;
            await hook();
          }
          return close();
        };
      }
      return handle;
    });
    try {
      await change(m, 'a1');
      await m.flush();
    } finally {
      spy.mockRestore();
    }
    expect(hooked).toBe(true);
    await m.upsertAsset({ assetId: 'a2', name: 'after' });
    // The process dies: only what is on disk counts.
    await m.close();
    const reloaded = await Manifest.load(out);
    expect(reloaded.partial('a1', 'main-0')).toEqual({ validator: '"during"', total: 5 });
    expect(reloaded.get('a2')?.name).toBe('after');
    expectAll(reloaded, ['a1']);
  });
});

describe('item 4: errors outside a transfer end the run cleanly', () => {
  it('--metadata with a folder at a sidecar path: that asset fails alone (ERR_SIDECAR, exit 1), the rest complete', async () => {
    const s = await sim({ assets: 6 });
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    // Where the sidecars go, learnt from a clean run elsewhere.
    const scout = await tempDir();
    expect((await runCli(['backup', '--out', scout, '--metadata', '--quiet'], env)).code).toBe(0);
    const scouted = JSON.parse(await fs.readFile(path.join(scout, 'manifest.json'), 'utf8')) as ManifestData;
    const [victim] = Object.values(scouted.assets);
    const sidecar = victim?.sidecar as string;
    expect(sidecar).toMatch(/\.json$/);

    const out = await tempDir();
    await fs.mkdir(path.join(out, sidecar, 'in-the-way'), { recursive: true });
    const result = await runCli(['backup', '--out', out, '--metadata', '--json'], env);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).not.toMatch(/unexpected error/);
    expect(result.stderr).toContain(`failed: ${sidecar}: cannot write the metadata sidecar (EISDIR)`);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
    expect(summary.failures).toEqual([
      expect.objectContaining({ assetId: victim?.assetId, path: sidecar, code: 'ERR_SIDECAR' }),
    ]);
    expect(summary).toMatchObject({ assetsSeen: 6, assetsComplete: 5, filesFailed: 1 });
    const data = await expectIntact(out);
    const entries = Object.values(data.assets);
    expect(entries).toHaveLength(6);
    for (const entry of entries) {
      expect(entry.status, entry.assetId).toBe(entry.assetId === victim?.assetId ? 'partial' : 'complete');
      // Its media files were fetched all the same; only the sidecar is missing.
      expect(entry.files.every((f) => f.status === 'done')).toBe(true);
    }

    await fs.rm(path.join(out, sidecar), { recursive: true });
    const again = await runCli(['backup', '--out', out, '--metadata', '--quiet'], env);
    expect(again.code).toBe(0);
    expect((await expectIntact(out)).assets[victim?.assetId as string]?.status).toBe('complete');
    expect(existsSync(path.join(out, sidecar))).toBe(true);
  });

  it.skipIf(!existsSync('/dev/full'))(
    'ENOSPC from a journal write: a DiskError, the lock released, the manifest intact',
    async () => {
      const s = await sim({ assets: 8 });
      const out = await tempDir();
      let full = false;
      const error = await runBackup(s, out, {
        concurrency: 2,
        onEvent: (e) => {
          // The journal is opened at the first change, the asset's own line: from then on every write to it
          // meets a full disk (/dev/full answers every write with ENOSPC).
          if (e.type === 'asset' && !full) {
            full = true;
            symlinkSync('/dev/full', path.join(out, 'manifest.journal'));
          }
        },
      }).catch((e: unknown) => e);
      expect(full).toBe(true);
      expect(error).toMatchObject({ name: 'DiskError', code: 'ERR_DISK' });
      expect((error as Error).message).toMatch(/^Cannot write .*: the disk is full \(ENOSPC\)$/);
      await expectIntact(out);
      // Nothing was recorded that the journal did not hold: the next run completes from there.
      const again = await runBackup(s, out);
      expect(again.filesFailed).toBe(0);
      const data = await expectIntact(out);
      expect(Object.values(data.assets).filter((a) => a.status === 'complete')).toHaveLength(8);
    },
  );

  it('a damaged file that cannot be moved aside: a DiskError, the lock released, nothing overwritten', async () => {
    const s = await sim({ assets: 4 });
    const out = await tempDir();
    await runBackup(s, out, { previews: false });
    const before = await Manifest.load(out);
    const [entry] = Object.values(before.data.assets);
    const file = path.join(out, entry?.files[0]?.path as string);
    await fs.truncate(file, 10);
    const damaged = await fs.readFile(file);
    // What an immutable file or a read-only folder answers to the rename that sets the damaged copy aside.
    const refused = Object.assign(new Error(`EPERM: operation not permitted, rename '${file}'`), {
      code: 'EPERM',
    });
    const move = vi.spyOn(fse, 'move').mockRejectedValueOnce(refused);
    let error: unknown;
    let moves = 0;
    try {
      error = await runBackup(s, out, { previews: false, concurrency: 1 }).catch((e: unknown) => e);
      moves = move.mock.calls.length;
    } finally {
      move.mockRestore();
    }
    expect(moves).toBe(1);
    expect(error).toMatchObject({ code: 'ERR_DISK' });
    expect((error as Error).message).toMatch(/permission denied \(EPERM\)/);
    const data = await expectIntact(out);
    // The damaged copy is where it was, and its record says it is wanted again.
    expect(await fs.readFile(file)).toEqual(damaged);
    expect(data.assets[entry?.assetId as string]?.files[0]?.status).toBe('missing');
    const again = await runBackup(s, out, { previews: false });
    expect(again.filesFailed).toBe(0);
    await expectIntact(out);
    // Fetched again beside the damaged copy, which is kept under another name.
    const kept = await keptCopies(out, damaged);
    expect(kept).toHaveLength(1);
    expect(kept[0]).not.toBe(entry?.files[0]?.path);
  });

  it('the run stops on one file: its sibling still busy finishes before backup() returns', async () => {
    const s = await sim({ assets: 6 });
    const out = await tempDir();
    await runBackup(s, out);
    const data = await expectIntact(out);
    const entry = Object.values(data.assets).find((a) => a.files.length >= 2);
    expect(entry).toBeDefined();
    // Two files of one asset damaged: the first move aside fails (the run stops), the second is slow.
    for (const f of entry?.files.slice(0, 2) ?? []) await fs.truncate(path.join(out, f.path), 10);
    const real = fse.move;
    const moved: number[] = [];
    let calls = 0;
    const move = vi.spyOn(fse, 'move').mockImplementation((async (
      from: string,
      to: string,
      options: object,
    ) => {
      if (++calls === 1) throw Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await real(from, to, options);
      moved.push(Date.now());
    }) as never);
    let returned = 0;
    try {
      const error = await runBackup(s, out).catch((e: unknown) => e);
      returned = Date.now();
      expect(error).toMatchObject({ code: 'ERR_DISK' });
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      move.mockRestore();
    }
    expect(calls).toBe(2);
    // Nothing may touch the folder once backup() has returned (and released the lock).
    expect(moved).toHaveLength(1);
    expect(moved[0]).toBeLessThanOrEqual(returned);
    await expectIntact(out);
  });

  it.skipIf(!immutableFilesHere())(
    'CLI: a damaged file that cannot be moved aside (immutable): one error line, exit 1, lock released',
    async () => {
      const s = await sim({ assets: 3 });
      const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
      const out = await tempDir();
      expect((await runCli(['backup', '--out', out, '--no-previews', '--quiet'], env)).code).toBe(0);
      const first = Object.values((await expectIntact(out)).assets)[0]?.files[0];
      const file = path.join(out, first?.path as string);
      await fs.truncate(file, 10);
      const damaged = await fs.readFile(file);
      execFileSync('chattr', ['+i', file]);
      try {
        const result = await runCli(['backup', '--out', out, '--no-previews', '--quiet'], env);
        expect(result.stderr).toMatch(/^runway-backup: Cannot write .*: permission denied \(EPERM\)\n$/);
        expect(result.code).toBe(1);
        await expectIntact(out);
        expect((await fs.stat(file)).size).toBe(10);
      } finally {
        execFileSync('chattr', ['-i', file]);
      }
      const again = await runCli(['backup', '--out', out, '--no-previews', '--quiet'], env);
      expect(again.code).toBe(0);
      const kept = await keptCopies(out, damaged);
      expect(kept).toHaveLength(1);
      expect(kept[0]).not.toBe(first?.path);
    },
  );

  it.each(['listing', 'asset', 'file-start', 'file-bytes', 'file-done'] as const)(
    'an onEvent callback that throws on %s: backup() rejects with its error, lock released, manifest intact',
    async (type) => {
      const s = await sim({ assets: 5 });
      const out = await tempDir();
      const boom = new Error(`the callback broke on ${type}`);
      const error = await runBackup(s, out, {
        onEvent: (e: BackupEvent) => {
          if (e.type === type) throw boom;
        },
      }).catch((e: unknown) => e);
      expect(error).toBe(boom);
      await expectIntact(out, { written: false });
    },
  );
});

/** A CDN in front of the simulator's that answers 404 to the requests `refuse` picks, and passes on the rest. */
async function proxyCdn(s: Simulator, refuse: (url: string) => boolean) {
  const seen: { url: string; status: number }[] = [];
  const server = await withServer((req, res) => {
    const url = req.url ?? '/';
    if (refuse(url)) {
      seen.push({ url, status: 404 });
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    const { host: _host, ...headers } = req.headers;
    const upstream = http.request(`${s.url}${url}`, { method: req.method, headers }, (answer) => {
      seen.push({ url, status: answer.statusCode ?? 0 });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return { url: server.url, seen, close: server.close };
}

let closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing) await close();
  closing = [];
});

describe('item 6: a 404 while still listed, and a resume hashed before it asks', () => {
  it('a CDN 404 on a file whose asset is still listed is retried with the fresh URL, and completes', async () => {
    const s = await sim({ assets: 3 });
    const target = s.assets()[0]?.files[0]?.path as string;
    let first: string | undefined;
    const cdn = await proxyCdn(s, (url) => {
      if (first === undefined && url.split('?')[0] === target) {
        first = url;
        // The URLs handed out from now on differ from this one: a retry of this very URL gets 404 again.
        s.expireAllUrls();
      }
      return url === first;
    });
    closing.push(cdn.close);
    s.configure({ cdnBaseUrl: cdn.url });
    const out = await tempDir();
    const summary = await runBackup(s, out, { previews: false });
    expect(first).toBeDefined();
    expect(summary).toMatchObject({ filesFailed: 0, failures: [], gone: [], filesDownloaded: 3 });
    // Fetched again under another URL, and whole.
    const fetched = cdn.seen.filter((r) => r.url.split('?')[0] === target);
    expect(fetched.at(-1)?.status).toBe(200);
    expect(fetched.at(-1)?.url).not.toBe(first);
    const data = await expectIntact(out);
    const record = data.assets[s.assets()[0]?.assetId as string]?.files[0];
    expect(record?.sha256).toBe(await s.sha256(s.assets()[0]?.files[0] as SimFileView));
  });

  it('a file started again (the retry with a fresh URL) keeps one progress bar, not an orphaned one', async () => {
    const { default: bars } = await import('cli-progress');
    const created = vi.spyOn(bars.MultiBar.prototype, 'create');
    const removed = vi.spyOn(bars.MultiBar.prototype, 'remove');
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    stream.resume();
    try {
      const progress = await createProgress({ stream: stream as never, tty: true, quiet: false });
      const file: FileJob = {
        assetId: 'a1',
        name: 'clip',
        account: undefined,
        role: 'main',
        index: 0,
        path: 'video/clip.mp4',
        expectedBytes: 10,
      };
      progress.onEvent({ type: 'asset', asset: { assetId: 'a1' } as never, account: undefined, files: 1 });
      progress.onEvent({ type: 'file-start', file });
      progress.onEvent({ type: 'file-start', file });
      progress.onEvent({ type: 'file-bytes', file, bytes: 10 });
      progress.onEvent({
        type: 'file-done',
        file,
        bytes: 10,
        resumedFrom: 0,
        movedAside: undefined,
        segments: 1,
      });
      // Every file bar made was taken down again: only the overall bar is left.
      expect(created.mock.calls.length - removed.mock.calls.length).toBe(1);
      progress.stop();
    } finally {
      created.mockRestore();
      removed.mockRestore();
    }
  });

  it('a restart the journal refuses fails the file with that reason, not as a download ended short', async () => {
    const body = randomBytes(300_000);
    const dest = path.join(await tempDir(), 'clip.mp4');
    // An older version's bytes, recorded under the old ETag: the server now has another object.
    await fs.writeFile(`${dest}.part`, randomBytes(100_000));
    const server = await withServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length, etag: '"v2"', 'accept-ranges': 'bytes' }).end(body);
    });
    closing.push(server.close);
    const refused = new Error('the journal refused the line');
    const outcome = await downloadFile({
      dest,
      url: `${server.url}/clip.mp4`,
      assetId: 'a1',
      key: 'main-0',
      resumeStore: {
        get: async () => ({ validator: '"v1"', total: body.length }),
        // Forgetting the old state, the first step of starting over, fails.
        set: async (state) => {
          if (state === undefined) throw refused;
        },
      },
      ...fast,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(outcome).toBe(refused);
    expect(await fs.stat(dest).catch(() => undefined)).toBeUndefined();
  });

  it('a .part is hashed before the resume request goes out', async () => {
    const body = randomBytes(400_000);
    const etag = '"v1"';
    const dest = path.join(await tempDir(), 'clip.mp4');
    const part = `${dest}.part`;
    await fs.writeFile(part, body.subarray(0, 250_000));
    let hashedBeforeAsking: boolean | undefined;
    const server = await withServer((req, res) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range && req.headers['if-range'] === etag) {
        // The moment the resume is asked for: has the .part been read into the hash yet?
        hashedBeforeAsking = reads.includes(part);
        const start = Number(range[1]);
        res.writeHead(206, {
          'content-length': body.length - start,
          'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
          etag,
        });
        res.end(body.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': body.length, etag, 'accept-ranges': 'bytes' }).end(body);
    });
    closing.push(server.close);
    reads.length = 0;
    const result = await downloadFile({
      dest,
      url: `${server.url}/clip.mp4`,
      assetId: 'a1',
      key: 'main-0',
      resumeStore: { get: async () => ({ validator: etag, total: body.length }), set: async () => {} },
      ...fast,
    });
    expect(server.requests).toHaveLength(1);
    expect(hashedBeforeAsking).toBe(true);
    expect(result).toMatchObject({ bytes: body.length, sha256: sha(body), resumedFrom: 250_000 });
    expect(await fs.readFile(dest)).toEqual(body);
  });
});

describe('item 7: every option is checked once, at the boundary, before any request', () => {
  const bad: [string, Partial<BackupOptions>, RegExp][] = [
    ['retries: NaN', { retries: Number.NaN }, /`retries`/],
    ['retries: -1', { retries: -1 }, /`retries`/],
    ['concurrency: 0', { concurrency: 0 }, /`concurrency`/],
    ['concurrency: 33', { concurrency: 33 }, /`concurrency`/],
    ['concurrency: 1.5', { concurrency: 1.5 }, /`concurrency`/],
    ["concurrency: 'fast'", { concurrency: 'fast' as never }, /`concurrency`/],
    ['timeoutMs: -1', { timeoutMs: -1 }, /`timeoutMs`/],
    ['timeoutMs: Infinity', { timeoutMs: Number.POSITIVE_INFINITY }, /`timeoutMs`/],
    ['backoffBaseMs: NaN', { backoffBaseMs: Number.NaN }, /`backoffBaseMs`/],
    ['mediaTypes: []', { mediaTypes: [] }, /`mediaTypes`/],
    ["mediaTypes: ['gif']", { mediaTypes: ['gif' as never] }, /`mediaTypes`/],
    ["accounts: ['']", { accounts: [''] }, /`accounts`/],
    ["previews: 'yes'", { previews: 'yes' as never }, /`previews`/],
    ["metadata: 'no'", { metadata: 'no' as never }, /`metadata`/],
    ["taskHistory: 'sometimes'", { taskHistory: 'sometimes' as never }, /task-?history/i],
    ['taskHistory: 1', { taskHistory: 1 as never }, /task-?history/i],
  ];

  it.each(bad)(
    '%s: ERR_USAGE naming the option, no request, nothing written',
    async (_name, option, names) => {
      const s = await sim({ assets: 2 });
      const out = path.join(await tempDir(), 'out');
      const error = await backup({ token: s.token, baseUrl: s.url, out, ...option }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_USAGE' });
      expect((error as Error).message).toMatch(names);
      expect(s.stats.listRequests + s.stats.singleRequests + s.stats.cdnRequests).toBe(0);
      expect(existsSync(out)).toBe(false);
    },
  );
});

describe('item 10: one account refused, the others backed up', () => {
  it('--email a --email b with b not configured: a backed up, b reported (--json, stderr), exit 3', async () => {
    const s = await sim({ assets: 4, accounts: ['a@x.io'] });
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    const out = await tempDir();
    const result = await runCli(
      ['backup', '--out', out, '--email', 'a@x.io', '--email', 'b@x.io', '--json'],
      env,
    );
    expect(result.code).toBe(3);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
    expect(summary.failedAccounts).toEqual([
      { account: 'b@x.io', code: 'ERR_API_BAD_REQUEST', reason: expect.stringMatching(/b@x\.io/) },
    ]);
    expect(summary).toMatchObject({ assetsSeen: 4, assetsComplete: 4, filesFailed: 0 });
    expect(result.stderr).toMatch(/account not backed up: b@x\.io/);
    const data = await expectIntact(out);
    expect(Object.keys(data.assets).sort()).toEqual(
      s
        .assets('a@x.io')
        .map((a) => a.assetId)
        .sort(),
    );
    const onDisk = await files(out);
    expect(onDisk.filter((f) => f.startsWith('a@x.io/')).length).toBe(summary.filesDownloaded);
    expect(onDisk.some((f) => f.startsWith('b@x.io/'))).toBe(false);
  });

  it('with every account refused: exit 3, one error line, nothing downloaded', async () => {
    const s = await sim({ assets: 4, accounts: ['a@x.io'] });
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    const out = await tempDir();
    const result = await runCli(['backup', '--out', out, '--email', 'b@x.io', '--email', 'c@x.io'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/Unable to find configuration for account/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(s.stats.cdnRequests).toBe(0);
    expect((await files(out)).filter((f) => f.includes('/'))).toEqual([]);
    expect(existsSync(path.join(out, LOCK))).toBe(false);
  });
});

describe('item 14: filesPlanned on a real run', () => {
  it('counts the files it had to download, and 0 on a re-run with nothing to do', async () => {
    const s = await sim({ assets: 12 });
    const out = await tempDir();
    const first = await runBackup(s, out);
    expect(first.filesDownloaded).toBeGreaterThan(12);
    expect(first.filesPlanned).toBe(first.filesDownloaded);
    const second = await runBackup(s, out);
    expect(second).toMatchObject({
      filesPlanned: 0,
      filesDownloaded: 0,
      filesSkipped: first.filesDownloaded,
    });
    // One file lost from disk: exactly that one is planned (and fetched) again.
    const data = await expectIntact(out);
    const lost = Object.values(data.assets)[0]?.files[0]?.path as string;
    await fs.rm(path.join(out, lost));
    const third = await runBackup(s, out);
    expect(third).toMatchObject({ filesPlanned: 1, filesDownloaded: 1 });
  });
});
