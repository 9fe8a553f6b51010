// The far-CDN options of the simulator (first-byte delay, per-connection and shared link rates), validator-less
// answers and CDN URLs on another base, observed over real sockets. Bounds are loose: the machine is shared.
import { type IncomingHttpHeaders, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type SimAssetView, startSimulator } from '../src/simulator/index.js';
import { finished, spawnCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';

interface Timed {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds from sending the request to its status line and headers. */
  headersMs: number;
  /** Milliseconds from sending the request to the end of the body. */
  totalMs: number;
}

/** A GET (or HEAD) on a fresh connection, timed. */
function timedGet(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const headersMs = performance.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          headersMs,
          totalMs: performance.now() - started,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function mainFile(asset: SimAssetView | undefined) {
  const file = asset?.files[0];
  if (!asset || !file) throw new Error('the simulator has no asset');
  return file;
}

describe('far CDN', () => {
  it('cdnFirstByteMs delays the headers of every CDN answer, and configure changes it', async () => {
    const s = await sim({ assets: 2, fixedSizes: 1000, cdnFirstByteMs: 600 });
    const id = s.assets()[0]?.id ?? '';
    const get = await timedGet(s.cdnUrl(id));
    expect(get.status).toBe(200);
    expect(get.headersMs).toBeGreaterThanOrEqual(590);
    const head = await timedGet(s.cdnUrl(id), {}, 'HEAD');
    expect(head.headersMs).toBeGreaterThanOrEqual(590);
    // A refusal comes from as far away as a file does.
    s.expireAllUrls();
    const refused = await timedGet(s.cdnUrl(id).replace(/Signature=[^&]+/, 'Signature=x'));
    expect(refused.status).toBe(403);
    expect(refused.headersMs).toBeGreaterThanOrEqual(590);
    s.configure({ cdnFirstByteMs: 0 });
    expect((await timedGet(s.cdnUrl(id))).headersMs).toBeLessThan(590);
  });

  it('cdnConnectionBytesPerSecond paces each response on its own; cdnBytesPerSecond is its former name', async () => {
    const s = await sim({
      assets: 4,
      mediaMix: { audio: 1 },
      fixedSizes: 500_000,
      cdnConnectionBytesPerSecond: 1e6,
    });
    const assets = s.assets();
    const a = assets[0];
    const started = performance.now();
    const answers = await Promise.all(assets.map((x) => timedGet(s.cdnUrl(x.id))));
    const wall = performance.now() - started;
    for (const [i, answer] of answers.entries()) {
      expect(answer.body.equals(s.fileBytes(mainFile(assets[i])))).toBe(true);
      // 500 kB at 1 MB/s: about 0.5 s each...
      expect(answer.totalMs).toBeGreaterThanOrEqual(420);
    }
    // ...side by side, not one after the other (no link rate set): four in a row would take 2 s.
    expect(wall).toBeLessThan(1600);

    // 500 kB at 5 MB/s: about 0.1 s, against 0.5 s before.
    s.configure({ cdnBytesPerSecond: 5e6 });
    const faster = await timedGet(s.cdnUrl(a?.id ?? ''));
    expect(faster.totalMs).toBeGreaterThanOrEqual(80);
    expect(faster.totalMs).toBeLessThan(420);
    expect(() => s.configure({ cdnBytesPerSecond: 1e6, cdnConnectionBytesPerSecond: 2e6 })).toThrow(
      RangeError,
    );
    expect(() => s.configure({ cdnConnectionBytesPerSecond: 0 })).toThrow(RangeError);
  });

  it('lifting the connection rate speeds up responses already in flight', async () => {
    const s = await sim({
      assets: 1,
      mediaMix: { audio: 1 },
      fixedSizes: 1_000_000,
      cdnBytesPerSecond: 100_000,
    });
    const pending = timedGet(s.cdnUrl(s.assets()[0]?.id ?? ''));
    await new Promise((r) => setTimeout(r, 200));
    s.configure({ cdnConnectionBytesPerSecond: undefined });
    const answer = await pending;
    expect(answer.body.length).toBe(1_000_000);
    // 10 s at the first rate.
    expect(answer.totalMs).toBeLessThan(2000);
  });

  it('cdnLinkBytesPerSecond is one rate shared fairly by all responses', async () => {
    // Each connection alone could do 8 MB/s (0.25 s for 2 MB); four together share one 4 MB/s link: ~2 s. Long
    // enough that a busy machine's timer skew (~0.1 s) stays small beside it.
    const s = await sim({
      assets: 4,
      mediaMix: { audio: 1 },
      fixedSizes: 2_000_000,
      cdnConnectionBytesPerSecond: 8e6,
      cdnLinkBytesPerSecond: 4e6,
    });
    const assets = s.assets();
    const started = performance.now();
    const answers = await Promise.all(assets.map((a) => timedGet(s.cdnUrl(a.id))));
    const wall = performance.now() - started;
    for (const [i, answer] of answers.entries()) {
      expect(answer.body.equals(s.fileBytes(mainFile(assets[i])))).toBe(true);
    }
    expect(wall).toBeGreaterThanOrEqual(1800);
    expect(wall).toBeLessThan(6000);
    // Fair: nobody finished early at its own 8 MB/s while the others waited.
    const first = Math.min(...answers.map((a) => a.totalMs));
    expect(first).toBeGreaterThanOrEqual(0.7 * wall);
    expect(s.stats.cdnBytes).toBe(8_000_000);
  });

  it('validators: false sends neither ETag nor Last-Modified; Range is honoured, If-Range never matches', async () => {
    const s = await sim({ assets: 2, validators: false });
    const view = s.assets()[0];
    const file = mainFile(view);
    const link = s.cdnUrl(view?.id ?? '');
    const plain = await timedGet(link);
    expect(plain.status).toBe(200);
    expect(plain.headers.etag).toBeUndefined();
    expect(plain.headers['last-modified']).toBeUndefined();
    const ranged = await timedGet(link, { range: 'bytes=5-' });
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(s.fileBytes(file).subarray(5))).toBe(true);
    for (const validator of [file.etag, file.lastModified]) {
      const guarded = await timedGet(link, { range: 'bytes=5-', 'if-range': validator });
      expect(guarded.status).toBe(200);
      expect(guarded.body.length).toBe(file.size);
    }
    s.configure({ validators: true });
    expect((await timedGet(link, { range: 'bytes=5-', 'if-range': file.etag })).status).toBe(206);
  });

  it('cdnBaseUrl puts the CDN URLs of listings on another server, paths and signatures unchanged', async () => {
    const s = await sim({ assets: 2, cdnBaseUrl: 'http://cdn.example:8080/files/' });
    const view = s.assets()[0];
    const raw = s.rawAsset(view?.id ?? '');
    expect(raw?.url?.startsWith(`http://cdn.example:8080/files${mainFile(view).path}?`)).toBe(true);
    s.configure({ cdnBaseUrl: undefined });
    expect(s.rawAsset(view?.id ?? '')?.url?.startsWith(`${s.url}/cdn/`)).toBe(true);
    await expect(startSimulator({ cdnBaseUrl: 'ftp://x' })).rejects.toThrow(RangeError);
  });
});

describe('simulate flags', () => {
  it('--cdn-first-byte, --cdn-link-rate and --no-validators reach the served CDN', async () => {
    const child = spawnCli([
      'simulate',
      '--assets',
      '2',
      '--file-size',
      '200000',
      '--cdn-first-byte',
      '120',
      '--cdn-connection-rate',
      '8M',
      '--cdn-link-rate',
      '1M',
      '--no-validators',
    ]);
    const done = finished(child);
    try {
      let output = '';
      const base = await new Promise<string>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          output += d.toString();
          const match = /USEAPI_BASE_URL=(\S+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('close', () => reject(new Error(`simulate exited: ${output}`)));
      });
      const listing = (await (
        await fetch(`${base}/v1/runwayml/assets/?offset=0&limit=1`, {
          headers: { authorization: 'Bearer sim-token' },
        })
      ).json()) as { url: string }[];
      const url = listing[0]?.url ?? '';
      const answer = await timedGet(url);
      expect(answer.status).toBe(200);
      expect(answer.body.length).toBe(200_000);
      expect(answer.headersMs).toBeGreaterThanOrEqual(110);
      // 200 kB over a 1 MB/s link, though a connection alone may do 8 MB/s.
      expect(answer.totalMs).toBeGreaterThanOrEqual(250);
      expect(answer.headers.etag).toBeUndefined();
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  });
});
