import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHUNK_SIZE,
  createCatalog,
  decideRange,
  fileBytes,
  fileContent,
  fileSha256,
  fileSlice,
  HOSTILE_NAMES,
  type SimAssetView,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../src/simulator/index.js';
import type { RawAsset } from '../src/types.js';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection failed or the body ended before Content-Length. */
  error: Error | undefined;
}

/** A request on a fresh connection (no keep-alive pool), resolving with whatever arrived, even when cut short. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let error: Error | undefined;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (e) => {
        error = e;
      });
      res.on('close', () => {
        if (!res.complete) error ??= new Error('incomplete body');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error });
      });
    });
    req.on('error', (error) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error }));
    req.end();
  });
}

/** `token: null` sends no Authorization header. */
async function api(sim: Simulator, path: string, token: string | null = sim.token) {
  const response = await fetch(
    `${sim.url}${path}`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

async function listPage(sim: Simulator, query: string): Promise<RawAsset[]> {
  const answer = await api(sim, `/v1/runwayml/assets/?${query}`);
  expect(answer.status).toBe(200);
  return answer.json as RawAsset[];
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function mainOf(view: SimAssetView | undefined) {
  const file = view?.files[0];
  if (!file) throw new Error('asset without main file');
  return file;
}

async function withSim<T>(options: SimulatorOptions, body: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator(options);
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

describe('content', () => {
  it('streams any range equal to the same bytes in memory, across chunk boundaries', async () => {
    const size = CHUNK_SIZE * 3 + 1234;
    const whole = fileBytes('seed-a', size);
    expect(whole.length).toBe(size);
    for (const [start, end] of [
      [0, size],
      [1, 10],
      [CHUNK_SIZE - 5, CHUNK_SIZE + 5],
      [CHUNK_SIZE * 2 + 7, size],
      [size, size],
    ] as const) {
      const chunks: Buffer[] = [];
      for await (const chunk of fileContent('seed-a', size, start, end)) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(whole.subarray(start, end))).toBe(true);
      expect(fileSlice('seed-a', size, start, end).equals(whole.subarray(start, end))).toBe(true);
    }
  });

  it('makes chunks differ from each other and files differ by seed', () => {
    const bytes = fileBytes('seed-b', CHUNK_SIZE * 2);
    expect(bytes.subarray(0, CHUNK_SIZE).equals(bytes.subarray(CHUNK_SIZE))).toBe(false);
    expect(fileBytes('seed-c', 1000).equals(fileBytes('seed-b', 1000))).toBe(false);
    expect(fileBytes('seed-b', 1000).equals(fileBytes('seed-b', 1000))).toBe(true);
  });

  it('computes the sha256 without holding the file: the content comes in bounded chunks', async () => {
    const size = 300_001;
    expect(await fileSha256('seed-d', size)).toBe(sha256(fileBytes('seed-d', size)));
    const big = 64 * 1024 * 1024;
    const hash = createHash('sha256');
    let largest = 0;
    let total = 0;
    for await (const chunk of fileContent('seed-e', big)) {
      const buffer = chunk as Buffer;
      largest = Math.max(largest, buffer.length);
      total += buffer.length;
      hash.update(buffer);
    }
    expect(total).toBe(big);
    // Never more than the stream buffers (its high-water mark is four chunks), far from the 64 MiB file.
    expect(largest).toBeLessThanOrEqual(4 * CHUNK_SIZE);
    expect(hash.digest('hex')).toBe(await fileSha256('seed-e', big));
    // Its speed is the bench's business (`npm run bench`), not a test's: a time bound here failed on busy cores.
  });

  it('refuses ranges outside the file', () => {
    expect(() => fileContent('s', 10, 5, 11)).toThrow(RangeError);
    expect(() => fileContent('s', 10, 6, 5)).toThrow(RangeError);
  });
});

describe('catalog', () => {
  it('generates 3000 assets, each id once', () => {
    // No time bound: a CPU bound (100 ms for ~15 ms of work) still failed in CI while other files ran beside it.
    const listed = createCatalog({ assets: 3000 }).list('demo@example.com');
    expect(listed).toHaveLength(3000);
    expect(new Set(listed.map((a) => a.id)).size).toBe(3000);
  });

  it('is deterministic from the seed, newest first, with the documented shapes', () => {
    const a = createCatalog({ assets: 600, seed: 7 }).list('demo@example.com');
    const b = createCatalog({ assets: 600, seed: 7 }).list('demo@example.com');
    const c = createCatalog({ assets: 600, seed: 8 }).list('demo@example.com');
    expect(a.map((x) => x.id)).toEqual(b.map((x) => x.id));
    expect(a.map((x) => x.name)).toEqual(b.map((x) => x.name));
    expect(a[0]?.id).not.toBe(c[0]?.id);
    expect(new Set(a.map((x) => x.id)).size).toBe(600);
    for (let i = 0; i < a.length; i++) {
      const asset = a[i];
      if (!asset) continue;
      expect(asset.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(asset.assetId).toBe(`user:${asset.userId}-runwayml:demo@example.com-asset:${asset.id}`);
      expect(asset.createdAt >= '2026-11-01T00:00:00.000Z').toBe(true);
      if (i > 0) expect(asset.createdAt < (a[i - 1]?.createdAt ?? '')).toBe(true);
      const previews = asset.files.filter((f) => f.role === 'preview');
      if (asset.mediaType === 'video') expect(previews.length).toBeGreaterThanOrEqual(1);
      if (asset.mediaType === 'image') expect(previews.map((f) => f.ext)).toEqual(['webp']);
      if (asset.mediaType === 'audio') expect(previews).toHaveLength(0);
      expect(asset.files[0]?.size).toBeGreaterThanOrEqual(20_000);
      expect(asset.files[0]?.size).toBeLessThanOrEqual(200_000);
    }
    const videos = a.filter((x) => x.mediaType === 'video').length / a.length;
    const images = a.filter((x) => x.mediaType === 'image').length / a.length;
    expect(videos).toBeGreaterThan(0.5);
    expect(videos).toBeLessThan(0.7);
    expect(images).toBeGreaterThan(0.2);
    expect(images).toBeLessThan(0.4);
  });

  it('cycles hostile names, including an absent one and duplicates, oldest first', () => {
    const list = createCatalog({ assets: HOSTILE_NAMES.length, hostileNames: true }).list('demo@example.com');
    expect([...list].reverse().map((x) => x.name)).toEqual(HOSTILE_NAMES);
  });

  it('honours fixedSizes and mediaMix', () => {
    const list = createCatalog({
      assets: 20,
      fixedSizes: { main: 1234, preview: 10 },
      mediaMix: { image: 1 },
    }).list('demo@example.com');
    expect(list.every((x) => x.mediaType === 'image')).toBe(true);
    expect(list.every((x) => x.files[0]?.size === 1234 && x.files[1]?.size === 10)).toBe(true);
    expect(() => createCatalog({ mainSize: { min: 5, max: 1 } })).toThrow(/mainSize/);
  });
});

describe('listing API', () => {
  let sim: Simulator;
  let multi: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ assets: 120, seed: 3 });
    multi = await startSimulator({ accounts: ['a@example.com', 'b@example.com'], assets: 10 });
  });
  afterAll(async () => {
    await sim.close();
    await multi.close();
  });

  it('answers 401 without a token or with a wrong one', async () => {
    for (const token of [null, 'nope']) {
      const answer = await api(sim, '/v1/runwayml/assets/?offset=0&limit=10', token);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: 'Unauthorized', code: 401 });
    }
  });

  it.each([
    ['offset=-1&limit=10', /offset/],
    ['offset=1001&limit=10', /offset/],
    ['offset=x&limit=10', /offset/],
    ['limit=10', /offset.*required/],
    ['offset=0&limit=0', /limit/],
    ['offset=0&limit=51', /limit/],
    ['offset=0', /limit.*required/],
    ['offset=0&limit=10&mediaType=gif', /mediaType/],
    [
      'offset=0&limit=10&email=nobody@example.com',
      /Unable to find configuration for account nobody@example.com/,
    ],
  ])('answers 400 for %s', async (query, message) => {
    const answer = await api(sim, `/v1/runwayml/assets/?${query}`);
    expect(answer.status).toBe(400);
    const body = answer.json as { error: string; code: number };
    expect(body.code).toBe(400);
    expect(body.error).toMatch(message);
  });

  it('requires email when several accounts are configured, and rejects unknown ones', async () => {
    const missing = await api(multi, '/v1/runwayml/assets/?offset=0&limit=10');
    expect(missing.status).toBe(400);
    expect((missing.json as { error: string }).error).toMatch(/email/);
    const unknown = await api(multi, '/v1/runwayml/assets/?offset=0&limit=10&email=c@example.com');
    expect(unknown.status).toBe(400);
    const b = await listPage(multi, 'offset=0&limit=50&email=b%40example.com');
    expect(b).toHaveLength(10);
    expect(b.every((item) => item.assetId?.includes('-runwayml:b@example.com-asset:'))).toBe(true);
    expect(multi.assets()).toHaveLength(20);
  });

  it('looks single assets up within the given account only', async () => {
    const [a] = multi.assets('a@example.com');
    const wrong = await api(multi, `/v1/runwayml/assets/${a?.id}?email=b@example.com`);
    expect(wrong.status).toBe(404);
    const right = await api(
      multi,
      `/v1/runwayml/assets/${encodeURIComponent(a?.assetId ?? '')}?email=A@example.com`,
    );
    expect(right.status).toBe(200);
    expect(() => multi.configure({ rateLimit: { every: 0, burst: 1, retryAfterSeconds: 1 } })).toThrow(
      /rateLimit.every/,
    );
  });

  it('pages newest first with offset/limit slices', async () => {
    const pages = [
      await listPage(sim, 'offset=0&limit=50'),
      await listPage(sim, 'offset=50&limit=50'),
      await listPage(sim, 'offset=100&limit=50'),
    ];
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    const items = pages.flat();
    expect(items.map((x) => x.assetId)).toEqual(sim.assets().map((x) => x.assetId));
    const dates = items.map((x) => x.createdAt ?? '');
    expect([...dates].sort().reverse()).toEqual(dates);
    expect((await listPage(sim, 'offset=1000&limit=50')).length).toBe(0);
    const slice = await listPage(sim, 'offset=7&limit=3');
    expect(slice.map((x) => x.id)).toEqual(items.slice(7, 10).map((x) => x.id));
    expect(sim.stats.listQueries).toContain('offset=7&limit=3');
  });

  it('filters by mediaType and shows both metadata shapes and the model fields', async () => {
    const videos = await listPage(sim, 'offset=0&limit=50&mediaType=video');
    expect(videos.length).toBeGreaterThan(10);
    expect(videos.every((x) => x.mediaType === 'video' && x.fileExtStandardized === 'mp4')).toBe(true);
    const expected = sim.assets().filter((x) => x.mediaType === 'video');
    expect(videos.map((x) => x.id)).toEqual(expected.slice(0, 50).map((x) => x.id));
    expect(videos.some((x) => Array.isArray(x.metadata?.dimensions) && x.metadata?.size?.width)).toBe(true);
    expect(
      videos.some((x) => typeof x.metadata?.width === 'number' && 'hasAudio' in (x.metadata ?? {})),
    ).toBe(true);
    const first = videos[0];
    expect(first).toMatchObject({ fileCount: 1, mediaSubtype: null, isUserUpload: expect.any(Boolean) });
    expect(first?.url).toMatch(/\/cdn\/[0-9a-f-]{36}\/main-0\.mp4\?Expires=\d+&Signature=[0-9a-f]{64}$/);
    expect(first?.previewUrls?.[0]).toMatch(/\/preview-0\.webp\?/);
    for (const key of [
      'username',
      'userId',
      'private',
      'favorite',
      'taskId',
      'parentAssetGroupId',
      'updatedAt',
    ]) {
      expect(first).toHaveProperty(key);
    }
    const audio = await listPage(sim, 'offset=0&limit=50&mediaType=audio');
    expect(audio.every((x) => x.mediaType === 'audio' && x.previewUrls?.length === 0)).toBe(true);
  });

  it('returns one asset by encoded assetId or by id, and 404 once deleted', async () => {
    const target = sim.assets()[5];
    if (!target) throw new Error('no asset');
    const byAssetId = await api(sim, `/v1/runwayml/assets/${encodeURIComponent(target.assetId)}`);
    expect(byAssetId.status).toBe(200);
    expect((byAssetId.json as RawAsset).assetId).toBe(target.assetId);
    expect((byAssetId.json as RawAsset).url).toMatch(/Signature=/);
    const byId = await api(sim, `/v1/runwayml/assets/${target.id}?email=demo@example.com`);
    expect((byId.json as RawAsset).id).toBe(target.id);
    expect(sim.deleteAsset(target.assetId)).toBe(true);
    const gone = await api(sim, `/v1/runwayml/assets/${encodeURIComponent(target.assetId)}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ code: 404, error: expect.stringMatching(/not found/) });
    expect(sim.assets()).toHaveLength(119);
    expect((await api(sim, `/v1/runwayml/assets/${target.id}`, 'bad')).status).toBe(401);
  });

  it('omits the name field for the hostile "missing name" asset', async () => {
    await withSim({ assets: HOSTILE_NAMES.length, hostileNames: true }, async (hostile) => {
      const items = await listPage(hostile, `offset=0&limit=50`);
      expect(items.filter((x) => !('name' in x))).toHaveLength(1);
      expect(items.filter((x) => x.name === 'same name.mp4')).toHaveLength(2);
      expect(items.some((x) => x.name === 'name\u0000with nul')).toBe(true);
    });
  });
});

describe('CDN', () => {
  let sim: Simulator;
  let asset: SimAssetView;
  let url: string;

  beforeAll(async () => {
    sim = await startSimulator({ assets: 30, seed: 5 });
    const [first] = await listPage(sim, 'offset=0&limit=1');
    asset = sim.asset(first?.assetId ?? '') as SimAssetView;
    url = first?.url ?? '';
  });
  afterAll(() => sim.close());

  it('serves the exact bytes with the documented headers', async () => {
    const file = mainOf(asset);
    const answer = await get(url);
    expect(answer.status).toBe(200);
    expect(answer.error).toBeUndefined();
    expect(answer.body.equals(fileBytes(file.seed, file.size))).toBe(true);
    expect(sha256(answer.body)).toBe(await sim.sha256(file));
    expect(answer.headers['content-length']).toBe(String(file.size));
    expect(answer.headers['content-type']).toBe(file.contentType);
    expect(answer.headers['accept-ranges']).toBe('bytes');
    expect(answer.headers.etag).toBe(file.etag);
    expect(answer.headers.etag).toBe(`"${asset.id}-main-0-v1"`);
    expect(answer.headers['last-modified']).toBe(file.lastModified);
    const head = await get(url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(file.size));
  });

  it('serves previews', async () => {
    const preview = asset.files[1];
    if (!preview) return;
    const answer = await get(sim.cdnUrl(asset.assetId, 'preview', 0));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('image/webp');
    expect(answer.body.equals(sim.fileBytes(preview))).toBe(true);
  });

  it('answers ranges with 206 and unsatisfiable ones with 416', async () => {
    const file = mainOf(asset);
    const whole = fileBytes(file.seed, file.size);
    const open = await get(url, { range: 'bytes=1000-' });
    expect(open.status).toBe(206);
    expect(open.headers['content-range']).toBe(`bytes 1000-${file.size - 1}/${file.size}`);
    expect(open.body.equals(whole.subarray(1000))).toBe(true);
    const closed = await get(url, { range: 'bytes=10-19' });
    expect(closed.status).toBe(206);
    expect(closed.headers['content-range']).toBe(`bytes 10-19/${file.size}`);
    expect(closed.headers['content-length']).toBe('10');
    expect(closed.body.equals(whole.subarray(10, 20))).toBe(true);
    const beyond = await get(url, { range: `bytes=${file.size}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${file.size}`);
  });

  it('honours If-Range only for the exact strong ETag or the exact Last-Modified', async () => {
    const file = mainOf(asset);
    const range = { range: 'bytes=100-' };
    expect((await get(url, { ...range, 'if-range': file.etag })).status).toBe(206);
    expect((await get(url, { ...range, 'if-range': file.lastModified })).status).toBe(206);
    expect((await get(url, { ...range, 'if-range': '"something-else"' })).status).toBe(200);
    expect((await get(url, { ...range, 'if-range': `W/${file.etag}` })).status).toBe(200);
    const full = await get(url, { ...range, 'if-range': 'Thu, 01 Jan 1970 00:00:00 GMT' });
    expect(full.status).toBe(200);
    expect(full.body.length).toBe(file.size);
    expect(decideRange('bytes=0-1,5-6', undefined, 10, '"x"', 'd')).toEqual({ kind: 'full' });
    expect(decideRange('bytes=-4', undefined, 10, '"x"', 'd')).toEqual({
      kind: 'partial',
      start: 6,
      end: 10,
    });
  });

  it('serves a new object after mutateFile, so an old validator gets a full 200', async () => {
    const target = sim.assets()[3];
    if (!target) throw new Error('no asset');
    const before = mainOf(target);
    const after = sim.mutateFile(target.assetId);
    expect(after.version).toBe(2);
    expect(after.etag).not.toBe(before.etag);
    expect(after.lastModified).not.toBe(before.lastModified);
    expect(after.size).not.toBe(before.size);
    expect(sim.asset(target.id)?.fileSize).toBe(after.size);
    const answer = await get(sim.cdnUrl(target.id), { range: 'bytes=10-', 'if-range': before.etag });
    expect(answer.status).toBe(200);
    expect(answer.headers.etag).toBe(after.etag);
    expect(answer.body.equals(fileBytes(after.seed, after.size))).toBe(true);
    const same = sim.mutateFile(target.id, 'main', 0, { size: after.size });
    expect(same.size).toBe(after.size);
    expect(fileBytes(same.seed, same.size).equals(fileBytes(after.seed, after.size))).toBe(false);
  });

  it('answers 404 on the CDN once the asset is deleted, and counts what it served', async () => {
    const victim = sim.assets()[10];
    if (!victim) throw new Error('no asset');
    const link = sim.cdnUrl(victim.id);
    sim.resetStats();
    expect((await get(link)).status).toBe(200);
    sim.deleteAsset(victim.id);
    const gone = await get(link);
    expect(gone.status).toBe(404);
    expect(gone.body.toString()).toMatch(/NoSuchKey/);
    expect(sim.stats).toMatchObject({
      cdnRequests: 2,
      cdnBytes: victim.fileSize,
      cdnStatuses: { 200: 1, 404: 1 },
    });
    expect(sim.asset(victim.assetId)).toBeUndefined();
  });

  it('refuses expired URLs with S3-style XML and bad or missing signatures with 403', async () => {
    const signature = url.match(/Signature=([0-9a-f]+)/)?.[1] ?? '';
    const forged = url.replace(
      signature,
      signature.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
    );
    expect((await get(forged)).status).toBe(403);
    expect((await get(url.split('?')[0] ?? '')).status).toBe(403);
    const otherPath = url.replace('main-0', 'preview-0');
    expect((await get(otherPath)).status).toBe(403);

    sim.expireAllUrls();
    const expired = await get(url);
    expect(expired.status).toBe(403);
    expect(expired.headers['content-type']).toBe('application/xml');
    expect(expired.body.toString()).toMatch(
      /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/,
    );
    const [fresh] = await listPage(sim, 'offset=0&limit=1');
    expect((await get(fresh?.url ?? '')).status).toBe(200);
    expect(sim.stats.status403).toBeGreaterThanOrEqual(4);
  });
});

describe('CDN options', () => {
  it('acceptRanges false ignores Range; weakEtags never satisfies If-Range', async () => {
    await withSim({ assets: 3, acceptRanges: false }, async (sim) => {
      const file = mainOf(sim.assets()[0]);
      const answer = await get(sim.cdnUrl(sim.assets()[0]?.id ?? ''), { range: 'bytes=5-' });
      expect(answer.status).toBe(200);
      expect(answer.headers['accept-ranges']).toBeUndefined();
      expect(answer.body.length).toBe(file.size);
    });
    await withSim({ assets: 3, weakEtags: true }, async (sim) => {
      const view = sim.assets()[0];
      const file = mainOf(view);
      const link = sim.cdnUrl(view?.id ?? '');
      const plain = await get(link);
      expect(plain.headers.etag).toBe(`W/${file.etag}`);
      expect((await get(link, { range: 'bytes=5-', 'if-range': `W/${file.etag}` })).status).toBe(200);
      expect((await get(link, { range: 'bytes=5-', 'if-range': file.etag })).status).toBe(200);
      expect((await get(link, { range: 'bytes=5-' })).status).toBe(206);
    });
  });

  it('paces bodies with cdnBytesPerSecond and delays listings with listLatencyMs', async () => {
    await withSim(
      { assets: 2, fixedSizes: 40_000, cdnBytesPerSecond: 200_000, listLatencyMs: 150 },
      async (sim) => {
        let started = performance.now();
        await listPage(sim, 'offset=0&limit=1');
        expect(performance.now() - started).toBeGreaterThanOrEqual(140);
        started = performance.now();
        const answer = await get(sim.cdnUrl(sim.assets()[0]?.id ?? ''));
        expect(answer.body.length).toBe(40_000);
        expect(performance.now() - started).toBeGreaterThanOrEqual(150);
        expect(sim.stats.cdnBytes).toBe(40_000);
      },
    );
  });
});

describe('faults', () => {
  it('answers bursts of 429 with Retry-After after every N successes, on the API and the CDN', async () => {
    await withSim(
      {
        assets: 5,
        rateLimit: { every: 3, burst: 2, retryAfterSeconds: 7 },
        cdnRateLimit: { every: 1, burst: 1, retryAfterSeconds: 2 },
      },
      async (sim) => {
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) {
          const answer = await api(sim, '/v1/runwayml/assets/?offset=0&limit=1');
          statuses.push(answer.status);
          if (answer.status === 429) {
            expect(answer.headers.get('retry-after')).toBe('7');
            expect(answer.json).toEqual({ error: 'Too Many Requests', code: 429 });
          }
        }
        expect(statuses).toEqual([200, 200, 200, 429, 429, 200, 200]);
        const link = sim.cdnUrl(sim.assets()[0]?.id ?? '');
        const cdn = [await get(link), await get(link), await get(link)];
        expect(cdn.map((r) => r.status)).toEqual([200, 429, 200]);
        expect(cdn[1]?.headers['retry-after']).toBe('2');
        expect(sim.stats.status429).toBe(3);
      },
    );
  });

  it('drifts: inserts a newest asset and deletes one from the middle on schedule', async () => {
    await withSim({ assets: 20, drift: { insertEvery: 2, deleteEvery: 3 } }, async (sim) => {
      const first = await listPage(sim, 'offset=0&limit=50');
      expect(first).toHaveLength(20);
      const second = await listPage(sim, 'offset=0&limit=50');
      expect(second).toHaveLength(21);
      expect(second.slice(1).map((x) => x.id)).toEqual(first.map((x) => x.id));
      expect((second[0]?.createdAt ?? '') > (first[0]?.createdAt ?? '')).toBe(true);
      const third = await listPage(sim, 'offset=0&limit=50');
      expect(third).toHaveLength(20);
      const missing = second.filter((x) => !third.some((y) => y.id === x.id));
      expect(missing).toHaveLength(1);
      expect(second.indexOf(missing[0] as RawAsset)).toBe(10);
    });
  });

  it('injects listing 5xx and malformed HTML answers', async () => {
    await withSim({ assets: 5, listFaults: { status5xx: 1 } }, async (sim) => {
      const answer = await api(sim, '/v1/runwayml/assets/?offset=0&limit=5');
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(answer.json).toMatchObject({ code: answer.status });
      sim.configure({ listFaults: { malformed: 1 } });
      const html = await api(sim, '/v1/runwayml/assets/?offset=0&limit=5');
      expect(html.status).toBe(200);
      expect(html.headers.get('content-type')).toBe('text/html');
      expect(html.text).toBe('<html>502 Bad Gateway</html>');
      sim.configure({ listFaults: undefined });
      expect(await listPage(sim, 'offset=0&limit=5')).toHaveLength(5);
      expect(sim.stats.faultsInjected).toBe(2);
    });
  });

  it('truncates bodies with reset and short faults, and lets the file through after maxPerFile', async () => {
    for (const kind of ['reset', 'short'] as const) {
      await withSim(
        { assets: 3, fixedSizes: 500_000, cdnFaults: { [kind]: 1, maxPerFile: 2 } },
        async (sim) => {
          const view = sim.assets()[0];
          const file = mainOf(view);
          const link = sim.cdnUrl(view?.id ?? '');
          for (let attempt = 0; attempt < 2; attempt++) {
            const broken = await get(link);
            expect(broken.error).toBeDefined();
            expect(broken.body.length).toBeLessThan(file.size);
            if (broken.status !== 0) {
              expect(broken.status).toBe(200);
              expect(broken.headers['content-length']).toBe(String(file.size));
              // What did arrive is the true prefix of the file.
              expect(
                broken.body.equals(fileBytes(file.seed, file.size).subarray(0, broken.body.length)),
              ).toBe(true);
            }
          }
          const whole = await get(link);
          expect(whole.error).toBeUndefined();
          expect(sha256(whole.body)).toBe(await sim.sha256(file));
          expect(sim.stats.faultsByKind[kind]).toBe(2);
        },
      );
    }
  });

  it('answers 503 for status5xx faults', async () => {
    await withSim({ assets: 1, cdnFaults: { status5xx: 1, maxPerFile: 1 } }, async (sim) => {
      const link = sim.cdnUrl(sim.assets()[0]?.id ?? '');
      expect((await get(link)).status).toBe(503);
      expect((await get(link)).status).toBe(200);
    });
  });

  it('close() resolves quickly with a stalled transfer and idle keep-alive connections open', async () => {
    const sim = await startSimulator({ assets: 2, fixedSizes: 1_000_000, cdnFaults: { stall: 1 } });
    await listPage(sim, 'offset=0&limit=1');
    const link = sim.cdnUrl(sim.assets()[0]?.id ?? '');
    const stalled = new Promise<{ received: number; error: Error | undefined }>((resolve) => {
      let received = 0;
      const req = request(link, { agent: false }, (res) => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        res.on('error', () => {});
        res.on('close', () => resolve({ received, error: res.complete ? undefined : new Error('cut') }));
      });
      req.on('error', (error) => resolve({ received, error }));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    await sim.close();
    // Closing waits for nothing: the stalled response would hold it until the test timed out.
    expect(performance.now() - started).toBeLessThan(3000);
    const outcome = await stalled;
    expect(outcome.error).toBeDefined();
    expect(outcome.received).toBeGreaterThan(0);
    expect(outcome.received).toBeLessThan(1_000_000);
  });
});
