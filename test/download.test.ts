import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadFile } from '../src/engine/download.js';
import { OVERLAP_BYTES } from '../src/engine/transfer.js';
import { type TestServer, withServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const BODY = randomBytes(300_000);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ETAG = '"v1"';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Serves BODY like a CDN: Range, strong ETag, If-Range; `fault(n, req, res)` may take over a request. */
function cdn(
  fault?: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => boolean,
  body: () => Buffer = () => BODY,
  etag: () => string = () => ETAG,
) {
  return (req: http.IncomingMessage, res: http.ServerResponse, n: number) => {
    if (fault?.(n, req, res)) return;
    const data = body();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etag())) {
      const start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': data.length - start,
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
        etag: etag(),
      });
      res.end(data.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': data.length, etag: etag(), 'accept-ranges': 'bytes' });
    res.end(data);
  };
}

/** Sends headers for the whole body, then half of it, then kills the socket. */
function truncated(res: http.ServerResponse, data = BODY) {
  res.writeHead(200, { 'content-length': data.length, etag: ETAG });
  // The pause lets the half body reach the client before the socket goes; destroying at once can lose it.
  res.write(data.subarray(0, data.length / 2), () => setTimeout(() => res.socket?.destroy(), 20));
}

/** Runs a fault and tells the CDN handler the request was taken care of. */
function handled(fault: () => unknown): true {
  fault();
  return true;
}

async function setup(handler: Parameters<typeof withServer>[0]) {
  server = await withServer(handler);
  const dir = await tempDir();
  return {
    dest: path.join(dir, 'video', 'clip.mp4'),
    url: `${server.url}/file.mp4?Expires=9999999999&Signature=s`,
  };
}

const fast = { backoffBaseMs: 1, assetId: 'asset-1', key: 'main-0' };

describe('downloadFile', () => {
  it('streams to .part, verifies, renames; the result carries the sha256', async () => {
    const { dest, url } = await setup(cdn());
    const result = await downloadFile({ ...fast, dest, url, expectedSize: BODY.length });
    expect(result).toMatchObject({ bytes: BODY.length, sha256: sha(BODY), resumedFrom: 0, attempts: 1 });
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
    await expect(fs.stat(`${dest}.part`)).rejects.toThrow();
    await expect(fs.stat(`${dest}.part.json`)).rejects.toThrow();
  });

  it('continues a reset transfer with Range + If-Range and ends byte-identical', async () => {
    const { dest, url } = await setup(cdn((n, _req, res) => n === 1 && handled(() => truncated(res))));
    const result = await downloadFile({ ...fast, dest, url });
    expect(result.attempts).toBe(2);
    expect(result.resumedFrom).toBeGreaterThan(0);
    expect(server!.requests[1]?.headers.range).toBe(`bytes=${result.resumedFrom}-`);
    expect(server!.requests[1]?.headers['if-range']).toBe(ETAG);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('continues a .part left by an earlier run, under a different URL', async () => {
    const first = await setup(cdn((_n, _req, res) => handled(() => truncated(res))));
    await expect(downloadFile({ ...fast, ...first, retries: 0 })).rejects.toMatchObject({ retryable: true });
    const kept = (await fs.stat(`${first.dest}.part`)).size;
    expect(kept).toBeGreaterThan(0);
    await server!.close();
    server = await withServer(cdn());
    const result = await downloadFile({ ...fast, dest: first.dest, url: `${server.url}/new-signature.mp4` });
    expect(result.resumedFrom).toBe(kept);
    expect(server.requests[0]?.headers.range).toBe(`bytes=${kept}-`);
    expect(sha(await fs.readFile(first.dest))).toBe(sha(BODY));
  });

  it('starts over when the object changed (If-Range mismatch answers 200)', async () => {
    const changed = randomBytes(250_000);
    let version = 1;
    const { dest, url } = await setup(
      cdn(
        (n, _req, res) => {
          if (n !== 1) return false;
          truncated(res);
          version = 2; // the file changes on the server after the first attempt
          return true;
        },
        () => (version === 1 ? BODY : changed),
        () => `"v${version}"`,
      ),
    );
    const result = await downloadFile({ ...fast, dest, url });
    expect(server!.requests[1]?.headers['if-range']).toBe('"v1"');
    expect(result.resumedFrom).toBe(0);
    expect(sha(await fs.readFile(dest))).toBe(sha(changed));
  });

  it('continues without a strong validator (weak ETag only) through the overlap check', async () => {
    const answered: number[] = [];
    const { dest, url } = await setup((req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-length': BODY.length, etag: 'W/"weak"', 'accept-ranges': 'bytes' });
        // The pause lets the bytes reach the client before the socket goes.
        res.write(BODY.subarray(0, 200_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (!range || req.headers['if-range'] !== undefined) {
        answered.push(200);
        res.writeHead(200, { 'content-length': BODY.length, etag: 'W/"weak"' }).end(BODY);
        return;
      }
      const start = Number(range[1]);
      answered.push(206);
      res.writeHead(206, {
        'content-length': BODY.length - start,
        'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
        etag: 'W/"weak"',
      });
      res.end(BODY.subarray(start));
    });
    const result = await downloadFile({ ...fast, dest, url });
    // The weak ETag is never sent as If-Range; the kept bytes are proven by re-reading the 64 KiB before their end.
    expect(result.resumedFrom).toBeGreaterThan(OVERLAP_BYTES);
    expect(result.resumedFrom).toBeLessThanOrEqual(200_000);
    expect(server!.requests).toHaveLength(2);
    expect(server!.requests[0]?.headers.range).toBeUndefined();
    expect(server!.requests[1]?.headers.range).toBe(`bytes=${result.resumedFrom - OVERLAP_BYTES}-`);
    expect(server!.requests[1]?.headers['if-range']).toBeUndefined();
    expect(answered).toEqual([206]);
    expect(result).toMatchObject({ attempts: 2, restarts: 0, bytes: BODY.length, sha256: sha(BODY) });
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('416 on a resume restarts from zero instead of calling the .part complete', async () => {
    const { dest, url } = await setup(cdn());
    await fs.mkdir(path.dirname(dest), { recursive: true });
    // A .part longer than the file, with a matching validator: the server answers 416.
    await fs.writeFile(`${dest}.part`, Buffer.alloc(BODY.length + 10));
    await fs.writeFile(
      `${dest}.part.json`,
      JSON.stringify({ assetId: 'asset-1', key: 'main-0', validator: ETAG }),
    );
    const result = await downloadFile({ ...fast, dest, url });
    expect(server!.requests.map((r) => r.headers.range)).toEqual([`bytes=${BODY.length + 10}-`, undefined]);
    expect(result.bytes).toBe(BODY.length);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('a short body that never completes fails, and nothing is renamed into place', async () => {
    const { dest, url } = await setup((_req, res) => truncated(res));
    const error = await downloadFile({ ...fast, dest, url, retries: 2 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true });
    await expect(fs.stat(dest)).rejects.toThrow();
    expect(server!.requests).toHaveLength(3);
  });

  it('a clean close with fewer bytes than Content-Length is not complete', async () => {
    // Content-Length larger than the body: Node sees a premature close.
    const { dest, url } = await setup((_req, res, n) => {
      if (n === 1) {
        res.socket?.write(
          `HTTP/1.1 200 OK\r\ncontent-length: ${BODY.length}\r\netag: ${ETAG}\r\nconnection: close\r\n\r\n`,
        );
        res.socket?.end(BODY.subarray(0, 5000));
        return;
      }
      cdn()(_req, res, n);
    });
    const result = await downloadFile({ ...fast, dest, url });
    expect(result.attempts).toBe(2);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('a 403 (expired URL) takes a fresh URL and goes on', async () => {
    const { dest, url } = await setup((req, res, n) => {
      if (!req.url?.includes('fresh')) {
        res
          .writeHead(403, { 'content-type': 'application/xml' })
          .end('<Error><Code>AccessDenied</Code></Error>');
        return;
      }
      cdn()(req, res, n);
    });
    let refreshed = 0;
    const result = await downloadFile({
      ...fast,
      dest,
      url,
      refreshUrl: async () => {
        refreshed++;
        return `${server!.url}/fresh.mp4`;
      },
    });
    expect(refreshed).toBe(1);
    expect(result.urlRefreshes).toBe(1);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('refreshes a URL whose Expires is about to pass before using it', async () => {
    const { dest } = await setup(cdn());
    const soon = Math.floor(Date.now() / 1000) + 5;
    const result = await downloadFile({
      ...fast,
      dest,
      url: `${server!.url}/old.mp4?Expires=${soon}&Signature=x`,
      refreshUrl: async () => `${server!.url}/fresh.mp4?Expires=${soon + 3600}&Signature=y`,
    });
    expect(result.urlRefreshes).toBe(1);
    expect(server!.requests.map((r) => r.url)).toEqual([`/fresh.mp4?Expires=${soon + 3600}&Signature=y`]);
  });

  it('an error body is never written as media; 403 without refresh fails with the URL redacted', async () => {
    const { dest, url } = await setup((_req, res) => res.writeHead(403).end('<html>denied</html>'));
    const error = (await downloadFile({ ...fast, dest, url }).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'ERR_URL_EXPIRED', retryable: false });
    expect(error.message).not.toContain('Signature');
    await expect(fs.stat(dest)).rejects.toThrow();
    await expect(fs.stat(`${dest}.part`)).rejects.toThrow();
  });

  it('retries 5xx and 429, gives up on 404', async () => {
    const first = await setup(
      cdn(
        (n, _req, res) =>
          n <= 2 && handled(() => res.writeHead(n === 1 ? 503 : 429, { 'retry-after': '0' }).end('busy')),
      ),
    );
    const ok = await downloadFile({ ...fast, ...first });
    expect(ok.attempts).toBe(3);
    await server!.close();
    const gone = await setup((_req, res) => res.writeHead(404).end('nope'));
    await expect(downloadFile({ ...fast, ...gone })).rejects.toMatchObject({
      code: 'ERR_DOWNLOAD_GONE',
      retryable: false,
    });
    expect(server!.requests).toHaveLength(1);
  });

  it('refuses a file whose size disagrees with the API', async () => {
    const { dest, url } = await setup(cdn());
    await expect(downloadFile({ ...fast, dest, url, expectedSize: BODY.length + 1 })).rejects.toMatchObject({
      code: 'ERR_DOWNLOAD_SIZE',
    });
    await expect(fs.stat(dest)).rejects.toThrow();
  });

  it('never overwrites a different file already at the destination', async () => {
    const { dest, url } = await setup(cdn());
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(dest, 'precious');
    const result = await downloadFile({ ...fast, dest, url });
    expect(result.movedAside).toBe(path.join(path.dirname(dest), 'clip.conflict-1.mp4'));
    expect(await fs.readFile(result.movedAside!, 'utf8')).toBe('precious');
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
    // An identical file is adopted, not duplicated.
    await fs.rm(result.movedAside!);
    const again = await downloadFile({ ...fast, dest, url });
    expect(again.adopted).toBe(true);
    expect(await fs.readdir(path.dirname(dest))).toEqual(['clip.mp4']);
  });

  it('a stalled connection times out and is retried', async () => {
    const { dest, url } = await setup(
      cdn((n, _req, res) => {
        if (n !== 1) return false;
        res.writeHead(200, { 'content-length': BODY.length, etag: ETAG });
        res.write(BODY.subarray(0, 1000)); // then silence
        return true;
      }),
    );
    const result = await downloadFile({ ...fast, dest, url, timeoutMs: 300 });
    expect(result.attempts).toBe(2);
    expect(sha(await fs.readFile(dest))).toBe(sha(BODY));
  });

  it('abort keeps the .part and rejects with AbortError', async () => {
    const controller = new AbortController();
    const { dest, url } = await setup((_req, res) => {
      res.writeHead(200, { 'content-length': BODY.length, etag: ETAG });
      res.write(BODY.subarray(0, 100_000), () => setTimeout(() => controller.abort(), 50));
    });
    await expect(downloadFile({ ...fast, dest, url, signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    expect((await fs.stat(`${dest}.part`)).size).toBe(100_000);
    expect(JSON.parse(await fs.readFile(`${dest}.part.json`, 'utf8'))).toMatchObject({
      assetId: 'asset-1',
      validator: ETAG,
    });
  });
});
