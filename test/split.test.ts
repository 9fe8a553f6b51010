import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodePartIO, type PartIO } from '../src/engine/part-file.js';
import { FileTransfer, type ResumeState } from '../src/engine/transfer.js';
import type { TransportRequest, TransportResponse } from '../src/engine/transport.js';
import { type BackupEvent, type BackupSummary, backup } from '../src/run/backup.js';
import type { SimFileView, Simulator, SimulatorOptions } from '../src/simulator/index.js';
import { Manifest } from '../src/store/manifest.js';
import { expectBackupMatches, readManifest, sha256OfFile } from './helpers/backup-check.js';
import { finished, runCli, spawnCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;

/** `size` bytes, byte i being `f(i)` (mod 256): a chunk at the wrong offset does not match. */
function pattern(size: number, f: (i: number) => number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = f(i) & 0xff;
  return bytes;
}

/** A small account whose first asset's main file is `size` bytes: the large file that ends the run. */
async function withBigFile(size: number, options: SimulatorOptions = {}) {
  const s = await sim({ assets: 4, mediaMix: { video: 1, image: 0, audio: 0 }, ...options });
  const asset = s.assets()[0]!;
  s.mutateFile(asset.assetId, 'main', 0, { size });
  const big = s.asset(asset.assetId)!.files[0]!;
  expect(big.size).toBe(size);
  return { s, asset: s.asset(asset.assetId)!, big };
}

/** The CDN requests for one file, in arrival order. */
const requestsFor = (s: Simulator, file: SimFileView) => s.stats.cdnLog.filter((e) => e.path === file.path);
const totalBytes = (s: Simulator) =>
  s.assets().reduce((n, a) => n + a.files.reduce((m, f) => m + f.size, 0), 0);

function libraryBackup(s: Simulator, out: string, extra: Partial<Parameters<typeof backup>[0]> = {}) {
  return backup({
    token: s.token,
    baseUrl: s.url,
    out,
    concurrency: 4,
    backoffBaseMs: 5,
    retries: 8,
    timeoutMs: 5000,
    ...extra,
  });
}

async function cliBackup(s: Simulator, out: string, lanes = 4) {
  const result = await runCli(['backup', '--out', out, '--json', '--quiet', '--concurrency', String(lanes)], {
    USEAPI_TOKEN: s.token,
    USEAPI_BASE_URL: s.url,
  });
  if (result.stderr !== '') console.log(`stderr of the CLI run:\n${result.stderr}`);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as BackupSummary;
}

/**
 * Runs the CLI at 4 lanes and kills it (SIGKILL) once the large file is split and about `fraction` of it has been
 * sent; returns the resume state the journal kept for it.
 */
async function killDuringSplit(
  s: Simulator,
  out: string,
  assetId: string,
  big: SimFileView,
  fraction: number,
) {
  const child = spawnCli(['backup', '--out', out, '--quiet', '--concurrency', '4'], {
    USEAPI_TOKEN: s.token,
    USEAPI_BASE_URL: s.url,
  });
  const done = finished(child);
  // (The split is not visible from here until a segment's answer closes; the journal shows it afterwards.)
  await expect
    .poll(() => s.stats.cdnBytes > fraction * big.size, { timeout: 10_000, interval: 10 })
    .toBe(true);
  child.kill('SIGKILL');
  expect((await done).signal).toBe('SIGKILL');
  const manifest = await Manifest.load(out);
  const state = manifest.partial(assetId, 'main-0');
  await manifest.close();
  return state;
}

describe('split downloads', () => {
  it('a large file that ends the run is split into Range segments (If-Range), byte-identical', async () => {
    const { s, asset, big } = await withBigFile(40 * MiB, { cdnConnectionBytesPerSecond: 16_000_000 });
    const out = path.join(await tempDir(), 'out');
    const events: BackupEvent[] = [];
    const started = Date.now();
    const summary = await libraryBackup(s, out, { onEvent: (e) => events.push(e) });
    const seconds = (Date.now() - started) / 1000;
    expect(summary.filesFailed).toBe(0);
    expect(summary.filesSplit).toBeGreaterThanOrEqual(1);
    const done = events.find(
      (e) => e.type === 'file-done' && e.file.assetId === asset.assetId && e.file.role === 'main',
    );
    const segments = done?.type === 'file-done' ? done.segments : 0;
    expect(segments).toBeGreaterThanOrEqual(2);
    const requests = requestsFor(s, big);
    const ranged = requests.filter((e) => e.range !== undefined);
    // Every segment but the first asks a Range guarded by the strong ETag, and gets 206.
    expect(ranged.length).toBeGreaterThanOrEqual(segments - 1);
    for (const r of ranged) {
      expect(r.range).toMatch(/^bytes=\d+-\d*$/);
      expect(r.ifRange).toBe(big.etag);
      expect(r.status).toBe(206);
    }
    // A segment carved out of the middle asks both ends.
    if (segments >= 3) expect(ranged.some((r) => /^bytes=\d+-\d+$/.test(r.range!))).toBe(true);
    // Split, not fetched twice: what the CDN sent is the backup, plus what each cut connection had in flight.
    expect(s.stats.cdnBytes).toBeLessThan(totalBytes(s) * 1.1);
    await expectBackupMatches(s, out);
    const record = (await readManifest(out)).assets[asset.assetId]!.files[0]!;
    expect(record.sha256).toBe(await s.sha256(big));
    expect(await sha256OfFile(path.join(out, record.path))).toBe(record.sha256);
    // One connection alone would need 40 MiB / 16 MB/s = 2.6 s; the time is printed, not asserted (speed is the
    // bench's to measure: this machine is shared and noisy).
    console.log(
      `split: ${segments} segments, ${ranged.length} ranged requests, ${seconds.toFixed(2)} s, cdnBytes ${(s.stats.cdnBytes / totalBytes(s)).toFixed(3)}x`,
    );
  });

  it('the CLI at many lanes splits a file into many segments without a warning on stderr', async () => {
    const { s, asset } = await withBigFile(160 * MiB, { cdnConnectionBytesPerSecond: 16_000_000 });
    const out = path.join(await tempDir(), 'out');
    // More lanes than Node's default listener limit (10) on one file's abort signal.
    const summary = await cliBackup(s, out, 24);
    expect(summary.filesSplit).toBe(1);
    expect(summary.lanes).toMatchObject({ mode: 'fixed', peak: 24 });
    await expectBackupMatches(s, out);
    expect(s.stats.cdnLog.filter((e) => e.path === asset.files[0]!.path).length).toBeGreaterThan(10);
  });

  it('kill -9 during a split download: the next run resumes every segment', async () => {
    const { s, asset, big } = await withBigFile(48 * MiB, { cdnConnectionBytesPerSecond: 6_000_000 });
    const out = path.join(await tempDir(), 'out');
    const state = await killDuringSplit(s, out, asset.assetId, big, 0.5);
    const firstRun = s.stats.cdnBytes;
    // The journal knows the split: segments tiling the file, each with the position it was flushed up to.
    expect(state?.segments?.length).toBeGreaterThanOrEqual(2);
    expect(state).toMatchObject({ validator: big.etag, total: big.size });
    const segments = state!.segments!;
    const pending = segments.filter(([, pos, end]) => pos < end);
    const kept = segments.reduce((n, [start, pos]) => n + pos - start, 0);
    expect(kept).toBeGreaterThan(0);
    s.resetStats();
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const summary = await cliBackup(s, out);
    const requests = requestsFor(s, big);
    // No whole-file answer: every request for it was a Range continuing a recorded segment, guarded by If-Range.
    expect(requests.every((r) => r.status === 206 && r.ifRange === big.etag)).toBe(true);
    for (const [start, pos, end] of pending) {
      const last = end === big.size ? '' : String(end - 1);
      expect(
        requests.some((r) => r.range === `bytes=${pos}-${last}`),
        `segment [${start}, ${end}) from ${pos}`,
      ).toBe(true);
    }
    expect(summary.restarts).toBe(0);
    const both = firstRun + s.stats.cdnBytes;
    console.log(
      `kill -9 split: ${segments.length} segments, ${(kept / MiB).toFixed(1)} MiB kept, run 1 sent ${(firstRun / MiB).toFixed(1)} MiB, run 2 ${(s.stats.cdnBytes / MiB).toFixed(1)} MiB, both runs ${(both / totalBytes(s)).toFixed(3)}x the backup (${(totalBytes(s) / MiB).toFixed(1)} MiB)`,
    );
    expect(both).toBeLessThan(1.3 * totalBytes(s));
    await expectBackupMatches(s, out);
  });

  it('a segment that fails mid-way (connection reset) is continued, and the file ends byte-identical', async () => {
    const { s, asset, big } = await withBigFile(32 * MiB, { cdnConnectionBytesPerSecond: 12_000_000 });
    const out = path.join(await tempDir(), 'out');
    const events: BackupEvent[] = [];
    let armed = false;
    const run = libraryBackup(s, out, {
      onEvent: (e) => {
        events.push(e);
        // Once the first answer for the large file is in, its next requests (the split segments and their
        // retries) are cut half-way.
        if (!armed && e.type === 'file-size' && e.file.assetId === asset.assetId && e.file.role === 'main') {
          armed = true;
          s.configure({ cdnFaults: { reset: 1, maxPerFile: 2 } });
        }
      },
    });
    const summary = await run;
    expect(armed).toBe(true);
    expect(s.stats.faultsByKind.reset).toBeGreaterThanOrEqual(1);
    expect(summary.filesFailed).toBe(0);
    expect(summary.filesSplit).toBeGreaterThanOrEqual(1);
    const retried = events.filter((e) => e.type === 'retry' && e.file?.assetId === asset.assetId);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    // The retries continued their segment (206), never the whole file again.
    expect(requestsFor(s, big).filter((r) => r.status === 200)).toHaveLength(1);
    expect(s.stats.cdnBytes).toBeLessThan(totalBytes(s) * 1.15);
    await expectBackupMatches(s, out);
  });

  it('a server that ignores Range is never split, and the file ends byte-identical', async () => {
    const { s, big } = await withBigFile(16 * MiB, {
      acceptRanges: false,
      cdnConnectionBytesPerSecond: 16_000_000,
    });
    const out = path.join(await tempDir(), 'out');
    const summary = await libraryBackup(s, out);
    expect(summary.filesSplit).toBe(0);
    expect(summary.filesFailed).toBe(0);
    const requests = requestsFor(s, big);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ status: 200 });
    expect(requests[0]!.range).toBeUndefined();
    expect(s.stats.cdnStatuses[206] ?? 0).toBe(0);
    await expectBackupMatches(s, out);
  });

  it('a server that sends no validator is never split (a segment could not be proven to match)', async () => {
    const { s, big } = await withBigFile(16 * MiB, {
      validators: false,
      cdnConnectionBytesPerSecond: 16_000_000,
    });
    const out = path.join(await tempDir(), 'out');
    const summary = await libraryBackup(s, out);
    expect(summary.filesSplit).toBe(0);
    expect(summary.filesFailed).toBe(0);
    expect(requestsFor(s, big)).toMatchObject([{ status: 200 }]);
    expect(requestsFor(s, big)[0]!.range).toBeUndefined();
    await expectBackupMatches(s, out);
  });

  it('the object changing between runs while a split .part exists restarts the whole file, never splices', async () => {
    const { s, asset, big } = await withBigFile(32 * MiB, { cdnConnectionBytesPerSecond: 6_000_000 });
    const out = path.join(await tempDir(), 'out');
    const oldSha = await s.sha256(big);
    const state = await killDuringSplit(s, out, asset.assetId, big, 0.3);
    expect(state?.segments?.length).toBeGreaterThanOrEqual(2);
    // Same size, new bytes and ETag.
    const changed = s.mutateFile(asset.assetId, 'main', 0, { size: big.size });
    expect(changed.etag).not.toBe(big.etag);
    s.resetStats();
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const summary = await cliBackup(s, out);
    expect(summary.restarts).toBeGreaterThanOrEqual(1);
    const requests = requestsFor(s, big);
    // The stale segments asked If-Range with the old ETag and got the whole new object instead; the file started
    // over once, with one request for the whole new object, and any new split asked the new ETag (206).
    expect(requests.some((r) => r.ifRange === big.etag && r.status === 200)).toBe(true);
    expect(requests.filter((r) => r.range === undefined)).toMatchObject([{ status: 200 }]);
    for (const r of requests.filter((r) => r.ifRange === changed.etag)) expect(r.status).toBe(206);
    expect(requests.every((r) => r.ifRange === big.etag || r.ifRange === changed.etag || !r.range)).toBe(
      true,
    );
    await expectBackupMatches(s, out);
    const record = (await readManifest(out)).assets[asset.assetId]!.files[0]!;
    expect(record.sha256).toBe(await s.sha256(changed));
    expect(record.sha256).not.toBe(oldSha);
    console.log(
      `changed under a split .part: restarts ${summary.restarts}, whole-file answers ${requests.filter((r) => r.status === 200).length}, requests ${JSON.stringify(requests.map((r) => [r.range, r.ifRange === big.etag ? 'old' : r.ifRange, r.status]))}`,
    );
    await fs.access(path.join(out, record.path));
  });
});

describe('split .part of an object that changed (FileTransfer, scripted server)', () => {
  const size = 3 * MiB;
  const version = (v: number) => Buffer.alloc(size, v);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  /**
   * A .part of version 1 split in three segments; the server now holds version 2 and answers every stale segment
   * (If-Range "v1") with the whole object, all three at the same instant, as a far CDN's equal first-byte delay
   * makes them arrive. A request without If-Range (a fresh start) gets version 2, then 3: the object keeps
   * changing.
   */
  async function staleSplit() {
    const dest = path.join(await tempDir(), 'clip.mp4');
    await fs.writeFile(`${dest}.part`, version(1));
    let state: ResumeState | undefined = {
      validator: '"v1"',
      total: size,
      segments: [
        [0, MiB - 100, MiB],
        [MiB, 2 * MiB - 100, 2 * MiB],
        [2 * MiB, 3 * MiB - 100, 3 * MiB],
      ],
    };
    const requests: TransportRequest['headers'][] = [];
    const waiting: (() => void)[] = [];
    let fresh = 0;
    // Like got's: once the request's signal aborts, reading the body fails.
    const answer = (v: number, signal: AbortSignal): TransportResponse => ({
      status: 200,
      headers: { etag: `"v${v}"`, 'content-length': String(size), 'accept-ranges': 'bytes' },
      body: (async function* () {
        for (const half of [version(v).subarray(0, size / 2), version(v).subarray(size / 2)]) {
          await new Promise((resolve) => setImmediate(resolve));
          if (signal.aborted) throw new Error('This operation was aborted.');
          yield half;
        }
      })(),
      destroy() {},
    });
    const transport = async (request: TransportRequest): Promise<TransportResponse> => {
      requests.push(request.headers);
      if (request.headers['if-range'] === '"v1"') {
        await new Promise<void>((release) => {
          waiting.push(release);
          if (waiting.length === 3) for (const r of waiting.splice(0)) r();
        });
        return answer(2, request.signal);
      }
      fresh++;
      return answer(fresh === 1 ? 2 : 3, request.signal);
    };
    const retries: string[] = [];
    const starts: { total: number | undefined; offset: number }[] = [];
    const transfer = new FileTransfer({
      dest,
      url: 'http://127.0.0.1:9/clip.mp4',
      transport,
      backoffBaseMs: 1,
      onRetry: (info) => retries.push(info.reason),
      onStart: (info) => starts.push(info),
      resumeStore: {
        get: () => state,
        set: (next) => {
          state = next;
        },
      },
    });
    return { dest, transfer, requests, retries, starts };
  }

  it('starts the file over once, on one lane: never two lanes (or two versions) in one file', async () => {
    const { dest, transfer, requests, retries, starts } = await staleSplit();
    await transfer.run();
    const result = await transfer.result;
    // The fresh start is announced as one (progress restarts from 0 bytes), and the file was fetched whole: the
    // segments of the abandoned .part do not count.
    expect(starts.at(-1)).toEqual({ total: size, offset: 0 });
    expect(result.segments).toBe(1);
    const disk = await fs.readFile(dest);
    // The recorded sha256 is the file's, and the file is one whole version, not a splice of several.
    expect(sha(disk)).toBe(result.sha256);
    expect([sha(version(2)), sha(version(3))]).toContain(sha(disk));
    expect(result.restarts).toBe(1);
    expect(requests.filter((h) => h['if-range'] === '"v1"')).toHaveLength(3);
    // One lane started over and asked for the whole object once; nothing failed on the way (an answer asked
    // under the generation the restart aborts cannot be read on, so it is not reused).
    expect(requests.filter((h) => h.range === undefined)).toHaveLength(1);
    expect(retries).toEqual([]);
  });
});

describe('resuming a split .part (FileTransfer, scripted server)', () => {
  it('every segment resumes through one file handle, closed at the end', async () => {
    const size = 3 * MiB;
    const data = pattern(size, (i) => i * 7 + (i >> 16));
    const dest = path.join(await tempDir(), 'clip.mp4');
    // What a killed run left: three segments, each flushed up to some position.
    const segments: [number, number, number][] = [
      [0, 500_000, MiB],
      [MiB, MiB + 300_000, 2 * MiB],
      [2 * MiB, 2 * MiB + 100_000, 3 * MiB],
    ];
    const part = Buffer.alloc(2 * MiB + 100_000);
    for (const [start, pos] of segments) data.copy(part, start, start, pos);
    await fs.writeFile(`${dest}.part`, part);
    let state: ResumeState | undefined = { validator: '"v1"', total: size, segments };
    const ranges: string[] = [];
    const transport = async (request: TransportRequest): Promise<TransportResponse> => {
      ranges.push(`${request.headers.range} ${request.headers['if-range']}`);
      const m = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '')!;
      const start = Number(m[1]);
      const end = m[2] ? Number(m[2]) + 1 : size;
      return {
        status: 206,
        headers: { etag: '"v1"', 'content-range': `bytes ${start}-${end - 1}/${size}` },
        body: (async function* () {
          yield data.subarray(start, end);
        })(),
        destroy() {},
      };
    };
    let opened = 0;
    let closed = 0;
    const io: PartIO = {
      async open(file, fresh) {
        opened++;
        const handle = await nodePartIO.open(file, fresh);
        return {
          ...handle,
          close: () => {
            closed++;
            return handle.close();
          },
        };
      },
    };
    const transfer = new FileTransfer({
      dest,
      url: 'http://127.0.0.1:9/clip.mp4',
      transport,
      io,
      resumeStore: {
        get: () => state,
        set: (next) => {
          state = next;
        },
      },
    });
    await transfer.run();
    const result = await transfer.result;
    expect(ranges.sort()).toEqual(
      [
        `bytes=500000-${MiB - 1} "v1"`,
        `bytes=${MiB + 300_000}-${2 * MiB - 1} "v1"`,
        `bytes=${2 * MiB + 100_000}- "v1"`,
      ].sort(),
    );
    expect(result.resumedFrom).toBe(900_000);
    expect(result.segments).toBe(3);
    expect((await fs.readFile(dest)).equals(data)).toBe(true);
    // Three lanes wanted the .part at once: one handle served them (a handle per lane leaked all but one, for
    // the garbage collector to close with a warning on stderr).
    expect(opened).toBe(1);
    expect(closed).toBe(1);
    expect(state).toBeUndefined();
  });
});

describe('a split .part the journal cannot vouch for', () => {
  /** Resumes a 3 MiB file whose journal records `segments` over a `.part` of 1.5 MiB holding the first 500,000 bytes. */
  async function resumeFrom(segments: [number, number, number][]) {
    const size = 3 * MiB;
    const data = pattern(size, (i) => i * 13 + (i >> 12));
    const dest = path.join(await tempDir(), 'clip.mp4');
    const part = Buffer.alloc(1.5 * MiB);
    data.copy(part, 0, 0, 500_000);
    await fs.writeFile(`${dest}.part`, part);
    let state: ResumeState | undefined = { validator: '"v1"', total: size, segments };
    const ranges: (string | undefined)[] = [];
    const transport = async (request: TransportRequest): Promise<TransportResponse> => {
      ranges.push(request.headers.range);
      const m = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m?.[2] ? Number(m[2]) + 1 : size;
      return {
        status: m ? 206 : 200,
        headers: {
          etag: '"v1"',
          'accept-ranges': 'bytes',
          'content-length': String(end - start),
          ...(m ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {}),
        },
        body: (async function* () {
          yield data.subarray(start, end);
        })(),
        destroy() {},
      };
    };
    const transfer = new FileTransfer({
      dest,
      url: 'http://127.0.0.1:9/clip.mp4',
      transport,
      resumeStore: {
        get: () => state,
        set: (next) => {
          state = next;
        },
      },
    });
    await transfer.run();
    const result = await transfer.result;
    expect((await fs.readFile(dest)).equals(data)).toBe(true);
    expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    return ranges;
  }

  it('is never read as one contiguous prefix: a segment position past the end of the .part starts over', async () => {
    // The journal says the second segment holds bytes up to 2 MiB + 300,000, but the .part ends at 1.5 MiB (its
    // tail lost): [1 MiB, 1.5 MiB) is a hole of zeros, and [500,000, 1 MiB) was never written either.
    const ranges = await resumeFrom([
      [0, 500_000, MiB],
      [MiB, 2 * MiB + 300_000, 3 * MiB],
    ]);
    expect(ranges).toEqual([undefined]);
  });

  it('positions that are not whole numbers (a damaged journal) start over', async () => {
    expect(
      await resumeFrom([
        [0, 250_000.5, MiB],
        [MiB, MiB, 3 * MiB],
      ]),
    ).toEqual([undefined]);
    expect(
      await resumeFrom([
        [0, 250_000, MiB + 0.25],
        [MiB + 0.25, MiB + 0.25, 3 * MiB],
      ]),
    ).toEqual([undefined]);
  });

  it('a journal that vouches for its segments resumes each one where it stopped', async () => {
    const ranges = await resumeFrom([
      [0, 500_000, MiB],
      [MiB, MiB, 3 * MiB],
    ]);
    // The segments run side by side: their requests arrive in either order.
    expect(ranges.sort()).toEqual(['bytes=1048576-', 'bytes=500000-1048575']);
  });
});

describe('splitting while the first lane runs (FileTransfer, scripted server)', () => {
  /**
   * A 16 MiB file on a fast connection (1 MiB chunks); the first byte asks for a split, whose record the journal
   * takes 100 ms to write (`recordSplit` decides whether it then succeeds): long enough for the first lane to reach
   * its new end and stop.
   */
  async function splitWhileRecording(recordSplit: 'succeeds' | 'fails') {
    const size = 16 * MiB;
    const data = pattern(size, (i) => i * 31 + (i >> 10));
    const dest = path.join(await tempDir(), 'clip.mp4');
    const ranges: (string | undefined)[] = [];
    // Resolved once the first lane has let go of its body, which it does at its new end, the midpoint: the split's
    // record is held until then, so the lane always meets that end while the record is pending. (A fixed 100 ms was
    // a race: on a loaded machine the lane had not reached the midpoint yet.)
    let reachedMidpoint!: () => void;
    const atMidpoint = new Promise<void>((resolve) => {
      reachedMidpoint = resolve;
    });
    const transport = async (request: TransportRequest): Promise<TransportResponse> => {
      const first = ranges.length === 0;
      ranges.push(request.headers.range);
      const m = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m?.[2] ? Number(m[2]) + 1 : size;
      return {
        status: m ? 206 : 200,
        headers: {
          etag: '"v1"',
          'accept-ranges': 'bytes',
          'content-length': String(end - start),
          ...(m ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {}),
        },
        body: (async function* () {
          try {
            for (let at = start; at < end; at += MiB) {
              await new Promise((resolve) => setImmediate(resolve));
              yield data.subarray(at, Math.min(end, at + MiB));
            }
          } finally {
            if (first) reachedMidpoint();
          }
        })(),
        destroy() {},
      };
    };
    let state: ResumeState | undefined;
    let split: Promise<boolean> | undefined;
    let splitsRecorded = 0;
    const transfer: FileTransfer = new FileTransfer({
      dest,
      url: 'http://127.0.0.1:9/clip.mp4',
      transport,
      backoffBaseMs: 1,
      resumeStore: {
        get: () => state,
        set: async (next) => {
          if (next?.segments && next.segments.length > 1 && splitsRecorded++ === 0) {
            await atMidpoint;
            if (recordSplit === 'fails') throw Object.assign(new Error('journal full'), { code: 'ENOSPC' });
          }
          state = next;
        },
      },
      onBytes: () => {
        split ??= transfer.split(MiB);
      },
    });
    await transfer.run();
    const splitDone = await split;
    const result = await transfer.result;
    expect((await fs.readFile(dest)).equals(data)).toBe(true);
    expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    return { splitDone, result, ranges };
  }

  it('a segment that reaches its new end while the split is being recorded does not end the file early', async () => {
    const { splitDone, result } = await splitWhileRecording('succeeds');
    expect(splitDone).toBe(true);
    expect(result.segments).toBe(2);
  });

  it('a split the journal could not record gives its range back, and the file is fetched to its end', async () => {
    const { splitDone, result, ranges } = await splitWhileRecording('fails');
    expect(splitDone).toBe(false);
    expect(result.segments).toBe(1);
    // The first lane had stopped at the midpoint by then: the rest comes from where it stopped, on a Range.
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1)).toEqual([expect.stringMatching(/^bytes=\d+-/)]);
  });
});

describe('a server that ignores Range once, for the first segment of a split file', () => {
  it('is read like any ignored Range: the other segments stand, nothing starts over', async () => {
    const size = 3 * MiB;
    const data = pattern(size, (i) => i * 11 + (i >> 14));
    const dest = path.join(await tempDir(), 'clip.mp4');
    // Segment 1 never wrote a byte; segment 2 kept half a MiB.
    const segments: [number, number, number][] = [
      [0, 0, MiB],
      [MiB, MiB + 500_000, 3 * MiB],
    ];
    const part = Buffer.alloc(MiB + 500_000);
    data.copy(part, MiB, MiB, MiB + 500_000);
    await fs.writeFile(`${dest}.part`, part);
    let state: ResumeState | undefined = { validator: '"v1"', total: size, segments };
    const asked: string[] = [];
    const transport = async (request: TransportRequest): Promise<TransportResponse> => {
      asked.push(`${request.headers.range} ${request.headers['if-range']}`);
      const m = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m?.[2] ? Number(m[2]) + 1 : size;
      const whole = start === 0;
      return {
        status: whole ? 200 : 206,
        headers: {
          etag: '"v1"',
          'content-length': String(whole ? size : end - start),
          ...(whole ? {} : { 'content-range': `bytes ${start}-${end - 1}/${size}` }),
        },
        body: (async function* () {
          yield whole ? data : data.subarray(start, end);
        })(),
        destroy() {},
      };
    };
    const transfer = new FileTransfer({
      dest,
      url: 'http://127.0.0.1:9/clip.mp4',
      transport,
      resumeStore: {
        get: () => state,
        set: (next) => {
          state = next;
        },
      },
    });
    await transfer.run();
    const result = await transfer.result;
    // The first segment asks its own range (guarded), even from byte 0, as it is bounded by another segment.
    expect(asked.sort()).toEqual([`bytes=${MiB + 500_000}- "v1"`, `bytes=0-${MiB - 1} "v1"`].sort());
    expect(result).toMatchObject({ restarts: 0, segments: 2, attempts: 2 });
    expect((await fs.readFile(dest)).equals(data)).toBe(true);
  });
});
