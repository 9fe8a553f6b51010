import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadFile } from '../src/engine/download.js';
import { OVERLAP_BYTES, validatorOf } from '../src/engine/transfer.js';
import { type BackupSummary, backup } from '../src/run/backup.js';
import type { Simulator } from '../src/simulator/index.js';
import { Manifest } from '../src/store/manifest.js';
import { expectBackupMatches, listFiles, readManifest } from './helpers/backup-check.js';
import { finished, runCli, spawnCli } from './helpers/cli.js';
import { type TestServer, withServer } from './helpers/server.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
const FILES = 8;

/** A CDN without ETag or Last-Modified: 8 videos of 16 MiB (and their small previews), 8 MB/s per connection. */
async function largeFilesWithoutValidators() {
  const s = await sim({
    assets: FILES,
    mediaMix: { video: 1, image: 0, audio: 0 },
    fixedSizes: { main: 16 * MiB, preview: 4000 },
    validators: false,
    cdnConnectionBytesPerSecond: 8_000_000,
  });
  return s;
}

const backupBytes = (s: Simulator) =>
  s.assets().reduce((n, a) => n + a.files.reduce((m, f) => m + f.size, 0), 0);

/** Runs the CLI at 8 lanes and kills it (SIGKILL) half-way through; returns the size of each `.part` left. */
async function killHalfWay(s: Simulator, out: string): Promise<Map<string, number>> {
  const child = spawnCli(['backup', '--out', out, '--quiet', '--concurrency', String(FILES)], {
    USEAPI_TOKEN: s.token,
    USEAPI_BASE_URL: s.url,
  });
  const done = finished(child);
  await expect
    .poll(() => s.stats.cdnBytes > backupBytes(s) / 2, { timeout: 10_000, interval: 10 })
    .toBe(true);
  child.kill('SIGKILL');
  expect((await done).signal).toBe('SIGKILL');
  const parts = new Map<string, number>();
  for (const file of await listFiles(out)) {
    if (file.endsWith('.part')) parts.set(file, (await fs.stat(path.join(out, file))).size);
  }
  return parts;
}

async function cliBackup(s: Simulator, out: string): Promise<BackupSummary> {
  const result = await runCli(['backup', '--out', out, '--json', '--quiet', '--concurrency', String(FILES)], {
    USEAPI_TOKEN: s.token,
    USEAPI_BASE_URL: s.url,
  });
  if (result.stderr !== '') console.log(`stderr of the CLI run:\n${result.stderr}`);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as BackupSummary;
}

/** The `.part` files that must be continued: those with bytes in them. */
function resumable(parts: Map<string, number>): number[] {
  return [...parts.values()].filter((size) => size > 0);
}

describe('resume from a CDN that sends no validator (kill -9, then a re-run)', () => {
  it('continues every .part from 64 KiB before its end: at most 1.1x the bytes over both runs', async () => {
    const s = await largeFilesWithoutValidators();
    const out = path.join(await tempDir(), 'out');
    const parts = await killHalfWay(s, out);
    const sizes = resumable(parts);
    expect(sizes.length).toBeGreaterThanOrEqual(FILES / 2);
    const firstRun = s.stats.cdnBytes;
    s.resetStats();
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const summary = await cliBackup(s, out);
    expect(summary.restarts).toBe(0);
    expect(summary.filesFailed).toBe(0);
    const log = s.stats.cdnLog;
    // Each .part was continued by one request from 64 KiB before its end, with no If-Range (nothing to send).
    const ranged = log.filter((e) => e.range !== undefined);
    expect(ranged.map((e) => e.range).sort()).toEqual(
      sizes.map((size) => `bytes=${Math.max(0, size - OVERLAP_BYTES)}-`).sort(),
    );
    expect(ranged.every((e) => e.status === 206 && e.ifRange === undefined)).toBe(true);
    // Every other request was a whole file never started before: as many as files left, no more.
    const whole = log.filter((e) => e.range === undefined);
    expect(whole.every((e) => e.status === 200)).toBe(true);
    const partsLeft = parts.size;
    expect(whole.length + ranged.length).toBe(summary.filesDownloaded);
    const both = firstRun + s.stats.cdnBytes;
    console.log(
      `no validator, kill -9 at half-way: ${sizes.length} .part continued (of ${partsLeft}), run 1 sent ${(firstRun / MiB).toFixed(1)} MiB, run 2 ${(s.stats.cdnBytes / MiB).toFixed(1)} MiB, both ${(both / backupBytes(s)).toFixed(3)}x the backup (${(backupBytes(s) / MiB).toFixed(1)} MiB)`,
    );
    expect(both).toBeLessThanOrEqual(1.1 * backupBytes(s));
    await expectBackupMatches(s, out);
  });

  it('a file changed on the server (same size): the overlap differs, it starts over, never spliced', async () => {
    const s = await largeFilesWithoutValidators();
    const out = path.join(await tempDir(), 'out');
    const parts = await killHalfWay(s, out);
    const sizes = resumable(parts);
    expect(sizes.length).toBeGreaterThanOrEqual(FILES / 2);
    // Every file not yet backed up changes upstream: new bytes, same size. Those done stay the old version.
    const before = await Manifest.load(out);
    await before.close();
    for (const a of s.assets())
      for (const f of a.files) {
        if (!before.doneFile(a.assetId, f.role, f.index))
          s.mutateFile(a.assetId, f.role, f.index, { size: f.size });
      }
    s.resetStats();
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const summary = await cliBackup(s, out);
    // Each .part asked its overlap (206, the same total), saw other bytes there, and started over with a whole GET.
    expect(summary.restarts).toBe(sizes.length);
    const ranged = s.stats.cdnLog.filter((e) => e.range !== undefined);
    expect(ranged.map((e) => e.range).sort()).toEqual(
      sizes.map((size) => `bytes=${Math.max(0, size - OVERLAP_BYTES)}-`).sort(),
    );
    await expectBackupMatches(s, out, { changedAfterBackup: before });
  });

  it('a file whose size changed: the total in Content-Range (or a 416) differs, and it starts over', async () => {
    const s = await largeFilesWithoutValidators();
    const out = path.join(await tempDir(), 'out');
    const parts = await killHalfWay(s, out);
    const sizes = resumable(parts);
    expect(sizes.length).toBeGreaterThanOrEqual(FILES / 2);
    const before = await Manifest.load(out);
    await before.close();
    // Main files not yet done grow by 1,000 bytes or shrink to 1 MiB (shorter than any .part left: a 416).
    let grown = 0;
    let shrunk = 0;
    for (const a of s.assets()) {
      if (before.doneFile(a.assetId, 'main', 0)) continue;
      const grow = (grown + shrunk) % 2 === 0;
      s.mutateFile(a.assetId, 'main', 0, { size: grow ? 16 * MiB + 1000 : MiB });
      if (grow) grown++;
      else shrunk++;
    }
    expect(grown).toBeGreaterThan(0);
    s.resetStats();
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const summary = await cliBackup(s, out);
    const mainParts = [...parts].filter(([file, size]) => size > 0 && !file.includes('preview'));
    expect(summary.restarts).toBeGreaterThanOrEqual(mainParts.length);
    expect(summary.filesFailed).toBe(0);
    if (shrunk > 0) expect(s.stats.cdnStatuses[416] ?? 0).toBeGreaterThan(0);
    await expectBackupMatches(s, out, { changedAfterBackup: before });
    const manifest = await readManifest(out);
    for (const a of s.assets()) expect(manifest.assets[a.assetId]?.files[0]?.bytes).toBe(a.files[0]!.size);
  });
});

describe('retries within one run from a CDN that sends no validator', () => {
  it('a connection reset mid-body is continued through the overlap check, byte-identical', async () => {
    const s = await sim({
      assets: 12,
      validators: false,
      mainSize: { min: 200_000, max: 400_000 },
      cdnFaults: { reset: 0.4, maxPerFile: 2 },
    });
    const out = path.join(await tempDir(), 'out');
    const summary = await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      concurrency: 4,
      backoffBaseMs: 5,
      retries: 6,
      timeoutMs: 5000,
    });
    expect(s.stats.faultsByKind.reset).toBeGreaterThan(3);
    expect(summary.filesFailed).toBe(0);
    // The kept bytes were proven (206, the same total, the same overlap), so nothing started over.
    expect(summary.restarts).toBe(0);
    const ranged = s.stats.cdnLog.filter((e) => e.range !== undefined);
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((e) => e.status === 206 && e.ifRange === undefined)).toBe(true);
    await expectBackupMatches(s, out);
  });
});

describe('downloadFile() without a validator', () => {
  const BODY = randomBytes(300_000);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Serves `body()` with Content-Length and Range support, and no ETag or Last-Modified. */
  function noValidatorCdn(body: () => Buffer = () => BODY, honourRange = true) {
    return (req: http.IncomingMessage, res: http.ServerResponse) => {
      const data = body();
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range && honourRange) {
        const start = Number(range[1]);
        if (start >= data.length) {
          res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
          return;
        }
        res.writeHead(206, {
          'content-length': data.length - start,
          'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
        });
        res.end(data.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': data.length }).end(data);
    };
  }

  /** A `.part` of `part` and the sidecar a killed run leaves: no validator, the total it was told. */
  async function leftover(part: Buffer, total = BODY.length) {
    const dir = await tempDir();
    const dest = path.join(dir, 'clip.mp4');
    await fs.writeFile(`${dest}.part`, part);
    await fs.writeFile(`${dest}.part.json`, JSON.stringify({ assetId: 'a', key: 'main-0', total }));
    return dest;
  }

  const options = (dest: string) => ({
    dest,
    url: `${server!.url}/clip.mp4`,
    assetId: 'a',
    key: 'main-0',
    backoffBaseMs: 1,
  });

  it('continues a .part shorter than 64 KiB from byte 0, comparing all of it', async () => {
    server = await withServer(noValidatorCdn());
    const dest = await leftover(BODY.subarray(0, 10_000));
    const result = await downloadFile(options(dest));
    expect(server.requests.map((r) => [r.headers.range, r.headers['if-range']])).toEqual([
      ['bytes=0-', undefined],
    ]);
    expect(result).toMatchObject({ bytes: BODY.length, resumedFrom: 10_000, restarts: 0, attempts: 1 });
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
    await expect(fs.stat(`${dest}.part.json`)).rejects.toThrow();
  });

  it('a short .part whose bytes differ from the server: starts over, never spliced', async () => {
    server = await withServer(noValidatorCdn());
    const dest = await leftover(randomBytes(10_000));
    const result = await downloadFile(options(dest));
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=0-', undefined]);
    expect(result).toMatchObject({ resumedFrom: 0, restarts: 1 });
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('a .part of exactly 64 KiB that differs only in its first byte: found, and started over', async () => {
    server = await withServer(noValidatorCdn());
    const part = Buffer.from(BODY.subarray(0, OVERLAP_BYTES));
    part[0] = part[0]! ^ 0xff;
    const dest = await leftover(part);
    const result = await downloadFile(options(dest));
    expect(server.requests[0]?.headers.range).toBe('bytes=0-');
    expect(result.restarts).toBe(1);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('a server that answers the overlap request with the whole file (200): started over, not spliced', async () => {
    server = await withServer(noValidatorCdn(() => BODY, false));
    const dest = await leftover(BODY.subarray(0, 100_000));
    const result = await downloadFile(options(dest));
    expect(server.requests[0]?.headers.range).toBe(`bytes=${100_000 - OVERLAP_BYTES}-`);
    expect(result.restarts).toBe(1);
    expect(result.bytes).toBe(BODY.length);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('an answer that ends inside the overlap is retried, not taken as a mismatch', async () => {
    let first = true;
    server = await withServer((req, res) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      if (first) {
        // No Content-Length (chunked): the body ends cleanly after 1,000 bytes of the 64 KiB to compare.
        first = false;
        res.writeHead(206, { 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` });
        res.end(BODY.subarray(start, start + 1000));
        return;
      }
      noValidatorCdn()(req, res);
    });
    const dest = await leftover(BODY.subarray(0, 100_000));
    const result = await downloadFile(options(dest));
    const from = `bytes=${100_000 - OVERLAP_BYTES}-`;
    expect(server.requests.map((r) => r.headers.range)).toEqual([from, from]);
    expect(result).toMatchObject({ restarts: 0, resumedFrom: 100_000, attempts: 2 });
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('a .part as long as the recorded total, or longer, is fetched anew', async () => {
    server = await withServer(noValidatorCdn());
    const dest = await leftover(Buffer.alloc(BODY.length + 5, 1));
    const result = await downloadFile(options(dest));
    expect(server.requests.map((r) => r.headers.range)).toEqual([undefined]);
    expect(result.resumedFrom).toBe(0);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  // A date that is not a strong validator leaves the server without one: the same proof as above.
  describe('Last-Modified as a validator: only when it is strong (RFC 9110 8.8.2.2)', () => {
    it('a date at least a second before the answer’s Date is one; a date of this second, or no Date, is not', () => {
      const date = 'Mon, 30 Nov 2026 05:00:00 GMT';
      expect(validatorOf({ 'last-modified': 'Mon, 30 Nov 2026 04:59:59 GMT', date })).toBe(
        'Mon, 30 Nov 2026 04:59:59 GMT',
      );
      expect(validatorOf({ 'last-modified': date, date })).toBeUndefined();
      expect(validatorOf({ 'last-modified': 'Mon, 30 Nov 2026 04:59:59 GMT' })).toBeUndefined();
      expect(validatorOf({ 'last-modified': 'yesterday', date })).toBeUndefined();
      // A strong ETag wins whatever the dates; a weak one is never used.
      expect(validatorOf({ etag: '"v1"', 'last-modified': date, date })).toBe('"v1"');
      expect(validatorOf({ etag: 'W/"v1"', 'last-modified': date, date })).toBeUndefined();
    });

    /** Serves BODY with Last-Modified `modified()`, Range support, no ETag; the first answer breaks half-way. */
    function cdn(modified: () => string) {
      let answers = 0;
      return (req: http.IncomingMessage, res: http.ServerResponse) => {
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        const lm = { 'last-modified': modified(), 'accept-ranges': 'bytes' };
        if (answers++ === 0) {
          res.writeHead(200, { ...lm, 'content-length': BODY.length });
          res.write(BODY.subarray(0, 200_000), () => res.destroy());
          return;
        }
        const ifRange = req.headers['if-range'];
        const start =
          range && (ifRange === undefined || ifRange === lm['last-modified']) ? Number(range[1]) : 0;
        if (start === 0) {
          res.writeHead(200, { ...lm, 'content-length': BODY.length }).end(BODY);
          return;
        }
        res.writeHead(206, {
          ...lm,
          'content-length': BODY.length - start,
          'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
        });
        res.end(BODY.subarray(start));
      };
    }

    const options = async () => ({
      dest: path.join(await tempDir(), 'clip.mp4'),
      url: `${server!.url}/clip.mp4`,
      assetId: 'a',
      key: 'main-0',
      backoffBaseMs: 1,
    });

    it('a file modified this very second resumes by re-reading the end of its .part, never with If-Range', async () => {
      server = await withServer(cdn(() => new Date().toUTCString()));
      const o = await options();
      const result = await downloadFile(o);
      const [, resume] = server.requests;
      expect(resume?.headers['if-range']).toBeUndefined();
      // The overlap: the bytes before the end of the .part are asked again and compared.
      expect(Number(/^bytes=(\d+)-$/.exec(resume?.headers.range ?? '')?.[1])).toBeLessThan(
        result.resumedFrom,
      );
      expect(result.resumedFrom).toBeGreaterThan(0);
      expect(sha(await fs.readFile(o.dest))).toBe(sha(BODY));
    });

    it('a file modified an hour ago resumes with If-Range carrying its date', async () => {
      const hourAgo = new Date(Date.now() - 3_600_000).toUTCString();
      server = await withServer(cdn(() => hourAgo));
      const o = await options();
      const result = await downloadFile(o);
      const [, resume] = server.requests;
      expect(resume?.headers['if-range']).toBe(hourAgo);
      expect(resume?.headers.range).toBe(`bytes=${result.resumedFrom}-`);
      expect(result.resumedFrom).toBeGreaterThan(0);
      expect(sha(await fs.readFile(o.dest))).toBe(sha(BODY));
    });
  });
});
