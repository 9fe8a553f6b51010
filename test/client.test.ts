import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/api/client.js';
import { ApiError, MalformedResponseError, NetworkError, UsageError } from '../src/errors.js';

const BASE = 'https://api.example.test';
const TOKEN = 'tok-SECRET-123';

function client(extra: Partial<Parameters<typeof createClient>[0]> = {}) {
  return createClient({ token: TOKEN, baseUrl: BASE, backoffBaseMs: 1, retries: 3, ...extra });
}

const asset = (n: number) => ({
  assetId: `user:1-runwayml:a@b.c-asset:${n}`,
  id: `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`,
  url: `https://cdn.example.test/${n}.mp4?Expires=9999999999&Signature=abc`,
  previewUrls: [`https://cdn.example.test/${n}.webp`],
  mediaType: 'video',
  name: `clip ${n}.mp4`,
  fileSize: 100,
});

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('listPage', () => {
  it('sends the Bearer token and the exact query string', async () => {
    const scope = nock(BASE, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .get('/v1/runwayml/assets/')
      .query({ offset: '50', limit: '50', email: 'a@b.c', mediaType: 'image' })
      .reply(200, [asset(1)]);
    const page = await client().listPage({ offset: 50, limit: 50, email: 'a@b.c', mediaType: 'image' });
    expect(page.rawCount).toBe(1);
    expect(page.assets[0]?.assetId).toBe(asset(1).assetId);
    expect(page.assets[0]?.previewUrls).toEqual([asset(1).previewUrls[0]]);
    scope.done();
  });

  it('omits email and mediaType when not given', async () => {
    nock(BASE).get('/v1/runwayml/assets/?offset=0&limit=10').reply(200, []);
    const page = await client().listPage({ offset: 0, limit: 10 });
    expect(page).toEqual({ assets: [], rawCount: 0, rawIds: [], skipped: [] });
  });

  it.each([
    [{ offset: -1, limit: 50 }, /`offset` to be an integer from 0 to 1000/],
    [{ offset: 1001, limit: 50 }, /`offset`/],
    [{ offset: 1.5, limit: 50 }, /`offset`/],
    [{ offset: 0, limit: 0 }, /`limit` to be an integer from 1 to 50/],
    [{ offset: 0, limit: 51 }, /`limit`/],
    [{ offset: 0, limit: 50, mediaType: 'gif' }, /`mediaType` to be one of video, image, audio/],
    [{ offset: 0, limit: 50, email: 'a b' }, /`email`/],
  ])('rejects %j before any request', async (params, message) => {
    // No interceptor: a request would fail with a nock "no match" error instead of UsageError.
    await expect(client().listPage(params as never)).rejects.toThrow(message);
    await expect(client().listPage(params as never)).rejects.toBeInstanceOf(UsageError);
  });

  it('accepts both metadata shapes and skips unusable items without failing', async () => {
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(200, [
        {
          ...asset(1),
          metadata: { dimensions: [1280, 768], size: { width: 1280, height: 768 }, duration: 5 },
        },
        { ...asset(2), metadata: { width: 640, height: 480, hasAudio: true, hasAlphaChannel: false } },
        { ...asset(3), url: undefined },
        { name: 'no id', url: 'https://cdn.example.test/x.mp4' },
        'not an object',
        { ...asset(4), assetId: undefined, url: 'javascript:alert(1)' },
        { id: 'only-id', url: 'https://cdn.example.test/y.png', fileSize: 'big', previewUrls: 'nope' },
      ]);
    const page = await client().listPage({ offset: 0, limit: 50 });
    expect(page.rawCount).toBe(7);
    expect(page.assets.map((a) => [a.assetId, a.width, a.height])).toEqual([
      [asset(1).assetId, 1280, 768],
      [asset(2).assetId, 640, 480],
      ['only-id', undefined, undefined],
    ]);
    expect(page.assets[2]?.fileSize).toBeUndefined();
    expect(page.assets[2]?.previewUrls).toEqual([]);
    expect(page.skipped.map((s) => s.reason)).toEqual([
      'item has no usable url',
      'item has no assetId',
      'item is not an object',
      'item has no usable url',
    ]);
    expect(page.rawIds).toEqual([
      asset(1).assetId,
      asset(2).assetId,
      asset(3).assetId,
      undefined,
      undefined,
      asset(4).id,
      'only-id',
    ]);
  });
});

describe('errors', () => {
  it('400 shows the API message', async () => {
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(400, { error: 'Parameter email is required', code: 400 });
    const error = await client()
      .listPage({ offset: 0, limit: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('ERR_API_BAD_REQUEST');
    expect((error as ApiError).message).toBe(
      'the API rejected the request (400): Parameter email is required',
    );
  });

  it.each([
    [401, 'ERR_API_UNAUTHORIZED', /401 Unauthorized.*USEAPI_TOKEN/],
    [402, 'ERR_API_PAYMENT_REQUIRED', /subscription has expired/],
    [403, 'ERR_API_FORBIDDEN', /403 Forbidden/],
    [404, 'ERR_API_NOT_FOUND', /404/],
    [596, 'ERR_API_ACCOUNT_ERROR', /error state \(596\)/],
  ])('%i is a typed error, not retried, without the token', async (status, code, message) => {
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .once()
      .reply(status, { error: `echo ${TOKEN}`, code: status });
    const error = (await client()
      .listPage({ offset: 0, limit: 50 })
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
  });

  it('retries 5xx then succeeds', async () => {
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(502, 'bad gateway')
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(503)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(200, [asset(1)]);
    const c = client();
    const page = await c.listPage({ offset: 0, limit: 50 });
    expect(page.assets).toHaveLength(1);
    expect(c.requestCount).toBe(3);
  });

  it('gives up on 5xx after the retries with a server error', async () => {
    nock(BASE).get('/v1/runwayml/assets/').query(true).times(4).reply(500);
    const c = client();
    await expect(c.listPage({ offset: 0, limit: 50 })).rejects.toMatchObject({
      code: 'ERR_API_SERVER',
      status: 500,
    });
    expect(c.requestCount).toBe(4);
  });

  it('obeys Retry-After on 429, through the shared gate', async () => {
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(429, { error: 'Too Many Requests', code: 429 }, { 'Retry-After': '1' })
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(200, []);
    const c = client();
    const started = Date.now();
    await c.listPage({ offset: 0, limit: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(c.gate.pauses).toBe(1);
  });

  it('caps a huge Retry-After', async () => {
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(429, '', { 'Retry-After': '86400' })
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(200, []);
    const started = Date.now();
    await client({ maxRetryAfterMs: 100 }).listPage({ offset: 0, limit: 50 });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.each([
    [
      'an HTML page',
      200,
      '<!DOCTYPE html><html><body>502 Bad Gateway</body></html>',
      { 'content-type': 'text/html' },
      /HTML page/,
    ],
    ['not JSON', 200, 'garbage{', { 'content-type': 'application/json' }, /not JSON/],
    [
      'JSON that is not a list',
      200,
      '{"assets":[]}',
      { 'content-type': 'application/json' },
      /not a list of assets/,
    ],
  ])('malformed answer: %s', async (_name, status, body, headers, message) => {
    const times = message.source.includes('list') ? 1 : 4;
    nock(BASE).get('/v1/runwayml/assets/').query(true).times(times).reply(status, body, headers);
    const error = await client()
      .listPage({ offset: 0, limit: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as Error).message).toMatch(message);
  });

  it('network errors become NetworkError after the retries, naming the host only', async () => {
    // A real closed port (nock's replyWithError leaves got hanging): ECONNREFUSED on every attempt.
    nock.enableNetConnect('127.0.0.1');
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const c = createClient({
      token: TOKEN,
      baseUrl: `http://127.0.0.1:${port}`,
      backoffBaseMs: 1,
      retries: 2,
    });
    const error = await c.listPage({ offset: 0, limit: 50 }).catch((e: unknown) => e);
    nock.disableNetConnect();
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe(`Could not reach 127.0.0.1:${port}: ECONNREFUSED`);
    expect(c.requestCount).toBe(3);
  });

  it('refuses a missing or multi-line token before any request', () => {
    expect(() => createClient({ token: '' })).toThrow(/USEAPI_TOKEN/);
    expect(() => createClient({ token: 'a\nb' })).toThrow(UsageError);
    expect(() => createClient({ token: 'x', baseUrl: 'ftp://x' })).toThrow(/base-url/);
  });
});

describe('getAsset', () => {
  it('fetches one asset by encoded id', async () => {
    const a = asset(7);
    nock(BASE)
      .get(`/v1/runwayml/assets/${encodeURIComponent(a.assetId)}`)
      .query({ email: 'a@b.c' })
      .reply(200, a);
    const got = await client().getAsset(a.assetId, { email: 'a@b.c' });
    expect(got.url).toBe(a.url);
  });

  it('404 when gone', async () => {
    nock(BASE)
      .get(/\/v1\/runwayml\/assets\/.+/)
      .reply(404, { error: 'not found', code: 404 });
    await expect(client().getAsset('gone')).rejects.toMatchObject({ status: 404, code: 'ERR_API_NOT_FOUND' });
  });
});
