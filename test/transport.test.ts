// Both transports keep one contract (src/engine/transport.ts): the status before the body, redirects followed, an idle
// timeout, abort, and every network failure a retryable DownloadError. Each case runs against a real server on
// 127.0.0.1, for nodeTransport (the default) and gotTransport alike.
import { afterEach, describe, expect, it } from 'vitest';
import {
  gotTransport,
  nodeTransport,
  type Transport,
  type TransportResponse,
} from '../src/engine/transport.js';
import { DownloadError } from '../src/errors.js';
import { type TestServer, withServer } from './helpers/server.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(...args: Parameters<typeof withServer>): Promise<TestServer> {
  const s = await withServer(...args);
  servers.push(s);
  return s;
}

async function readAll(response: TransportResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const get = (transport: Transport, url: string, extra: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
  transport({
    url,
    headers: { 'accept-encoding': 'identity', range: 'bytes=0-' },
    timeoutMs: extra.timeoutMs ?? 5000,
    signal: extra.signal ?? new AbortController().signal,
  });

async function rejection(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  return error as DownloadError;
}

describe.each([
  ['nodeTransport', nodeTransport],
  ['gotTransport', gotTransport],
])('%s', (_name, transport) => {
  it('answers the status and headers, then the body byte for byte; the request headers reach the server', async () => {
    const body = Buffer.alloc(300_000, 7);
    body.write('head');
    const s = await serve((_req, res) => {
      res.writeHead(206, { 'content-length': body.length, etag: '"v1"' });
      res.end(body);
    });
    const response = await get(transport, `${s.url}/f.mp4`);
    expect(response.status).toBe(206);
    expect(response.headers.etag).toBe('"v1"');
    expect((await readAll(response)).equals(body)).toBe(true);
    expect(s.requests[0]?.headers.range).toBe('bytes=0-');
    expect(s.requests[0]?.headers['accept-encoding']).toBe('identity');
  });

  it('hands an error page back as a status, its body unread', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>not here</html>');
    });
    const response = await get(transport, `${s.url}/gone`);
    expect(response.status).toBe(404);
    response.destroy();
  });

  it('follows relative and absolute redirects to the file', async () => {
    const target = await serve((_req, res) => res.end('moved bytes'));
    const s = await serve((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(307, { location: `${target.url}/c` }).end();
      else res.writeHead(500).end();
    });
    const response = await get(transport, `${s.url}/a`);
    expect(response.status).toBe(200);
    expect((await readAll(response)).toString()).toBe('moved bytes');
    expect(s.requests.map((r) => r.url)).toEqual(['/a', '/b']);
    expect(target.requests.map((r) => r.url)).toEqual(['/c']);
  });

  it('gives up on a redirect loop with a DownloadError', async () => {
    const s = await serve((_req, res) => res.writeHead(302, { location: '/again' }).end());
    const error = await rejection(get(transport, `${s.url}/loop`));
    expect(error.code).toBe('ERR_DOWNLOAD_NETWORK');
    // Ten hops allowed, then it stops: no endless loop.
    expect(s.requests.length).toBeGreaterThanOrEqual(10);
    expect(s.requests.length).toBeLessThanOrEqual(12);
  });

  it('times out a server that never answers, retryably', async () => {
    const s = await serve(() => {
      // never answers
    });
    const error = await rejection(get(transport, `${s.url}/slow`, { timeoutMs: 200 }));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ETIMEDOUT|timeout|timed out/i);
  });

  it('times out a body that stops half way, retryably, after the bytes that came', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(Buffer.alloc(1000, 1));
      // ...and nothing more
    });
    const response = await get(transport, `${s.url}/stall`, { timeoutMs: 200 });
    let received = 0;
    const error = await (async () => {
      try {
        for await (const chunk of response.body) received += chunk.length;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    // The body never ends quietly short: the stall surfaces as an error the transfer retries.
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).retryable).toBe(true);
    expect(received).toBe(1000);
    response.destroy();
  });

  it('a refused connection is a retryable DownloadError naming the cause', async () => {
    const s = await serve((_req, res) => res.end());
    const url = s.url;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const error = await rejection(get(transport, `${url}/x`));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('the signal aborts a request waiting for its answer', async () => {
    const s = await serve(() => {
      // never answers
    });
    const controller = new AbortController();
    const pending = get(transport, `${s.url}/wait`, { signal: controller.signal });
    await expect.poll(() => s.requests.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expect.poll(() => s.requests[0]?.socket.destroyed ?? false).toBe(true);
  });

  it('destroy() mid-body closes the connection; the server sees it go', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 10_000_000 });
      res.write(Buffer.alloc(65_536, 2));
    });
    const response = await get(transport, `${s.url}/big`);
    const first = await response.body[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
    response.destroy();
    await expect.poll(() => s.requests[0]?.socket.destroyed ?? false).toBe(true);
  });

  it('reuses a kept-alive connection for the next file', async () => {
    const s = await serve((_req, res) => res.end('x'));
    for (let i = 0; i < 3; i++) await readAll(await get(transport, `${s.url}/${i}`));
    const sockets = new Set(s.requests.map((r) => r.socket));
    expect(sockets.size).toBe(1);
  });
});

it('nodeTransport refuses a protocol it cannot speak, without retrying', async () => {
  const error = await rejection(get(nodeTransport, 'ftp://127.0.0.1/file'));
  expect(error.retryable).toBe(false);
  expect(error.message).toMatch(/ftp/);
});

it('nodeTransport refuses a malformed URL or redirect location, without retrying', async () => {
  const bad = await rejection(get(nodeTransport, 'not a url'));
  expect(bad.retryable).toBe(false);
  expect(bad.message).toBe('malformed URL');
  const s = await serve((_req, res) => res.writeHead(302, { location: 'http://[broken' }).end());
  const error = await rejection(get(nodeTransport, `${s.url}/x`));
  expect(error.retryable).toBe(false);
  expect(error.message).toBe('malformed redirect location');
});
