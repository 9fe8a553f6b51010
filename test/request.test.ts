import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiRequester, type RequesterOptions } from '../src/api/request.js';
import { ApiError, MalformedResponseError } from '../src/errors.js';
import { RateGate, type RetryInfo } from '../src/retry.js';

const BASE = 'https://api.example.test';

function requester(
  onRetry?: (info: RetryInfo) => void,
  gate = new RateGate(),
  extra: Partial<RequesterOptions> = {},
) {
  return new ApiRequester({
    base: new URL(BASE),
    token: 'tok-1',
    timeoutMs: 5000,
    retries: 2,
    maxRetryAfterMs: 50,
    backoffBaseMs: 1,
    gate,
    onRetry,
    ...extra,
  });
}

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('ApiRequester', () => {
  it('retries a 5xx and an HTML page, counting every request, and answers the parsed JSON', async () => {
    nock(BASE, { reqheaders: { authorization: 'Bearer tok-1' } })
      .get('/v1/x')
      .query({ a: '1' })
      .reply(503, 'down')
      .get('/v1/x')
      .query({ a: '1' })
      .reply(200, '<html>login</html>', { 'content-type': 'text/html' })
      .get('/v1/x')
      .query({ a: '1' })
      .reply(200, { ok: true });
    const reasons: string[] = [];
    const api = requester((info) => reasons.push(info.reason));
    await expect(api.get('v1/x', new URLSearchParams({ a: '1' }))).resolves.toEqual({ ok: true });
    expect(api.requestCount).toBe(3);
    expect(api.host).toBe('api.example.test');
    expect(reasons).toEqual([
      'api.example.test answered 503 (server error)',
      'api.example.test answered an HTML page instead of JSON (HTTP 200)',
    ]);
    api.close();
  });

  it('pauses the shared gate for a 429 with Retry-After, capped, and waits that long', async () => {
    nock(BASE).get('/v1/x').reply(429, '', { 'retry-after': '120' }).get('/v1/x').reply(200, []);
    const gate = new RateGate();
    const delays: number[] = [];
    const api = requester((info) => delays.push(info.delayMs), gate);
    await expect(api.get('v1/x', new URLSearchParams())).resolves.toEqual([]);
    expect(gate.pauses).toBe(1);
    expect(delays).toEqual([50]);
  });

  it('does not retry a refusal, and says what the API said', async () => {
    nock(BASE).get('/v1/x').once().reply(403, { error: 'no\naccess' });
    const api = requester();
    const error = await api.get('v1/x', new URLSearchParams()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('the API refused access (403 Forbidden): no access');
    expect(api.requestCount).toBe(1);
  });

  it('gives up with the last failure once the retries are spent', async () => {
    nock(BASE).get('/v1/x').times(3).reply(200, 'not json');
    const error = await requester()
      .get('v1/x', new URLSearchParams())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as Error).message).toBe('api.example.test answered something that is not JSON (HTTP 200)');
  });
});

describe('what a refusal says (issue 17, items 8 and 14)', () => {
  it('quotes the API, without the token in any form it may be echoed in', async () => {
    const token = 'tok-1:secret/part';
    const api = requester(undefined, new RateGate(), { token, retries: 0 });
    nock(BASE)
      .get('/v1/x')
      .query(true)
      .reply(400, { error: `bad account for Bearer ${token}, ${encodeURIComponent(token)}`, code: 400 });
    const error = (await api.get('v1/x', new URLSearchParams()).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toMatch(
      /^the API rejected the request \(400\): bad account for Bearer \*\*\*, \*\*\*$/,
    );
  });

  it('a 404 under a base URL with a path points at --base-url', async () => {
    const api = requester(undefined, new RateGate(), { base: new URL(`${BASE}/v1/`), retries: 0 });
    nock(BASE).get('/v1/v1/runwayml/assets/').query(true).reply(404, { error: 'Not found', code: 404 });
    const error = (await api
      .get('v1/runwayml/assets/', new URLSearchParams())
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/has a path: --base-url \(USEAPI_BASE_URL\) is the API's origin/);
    // At the origin, a 404 is a plain one (a deleted asset's lookup says this).
    nock(BASE).get('/v1/runwayml/assets/').query(true).reply(404, { error: 'Not found', code: 404 });
    const plain = (await requester()
      .get('v1/runwayml/assets/', new URLSearchParams())
      .catch((e: unknown) => e)) as Error;
    expect(plain.message).toBe('not found (404): Not found');
  });
});
