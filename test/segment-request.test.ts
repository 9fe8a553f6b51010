// Sending one segment's request (src/engine/segment-request.ts) through a fake transport: the headers the plan
// calls for, and the URL refreshed ahead of its expiry or after a 403, once for lanes that ask together.
import { describe, expect, it } from 'vitest';
import { SegmentRequests } from '../src/engine/segment-request.js';
import { SegmentPlan } from '../src/engine/segments.js';
import type { Transport, TransportRequest, TransportResponse } from '../src/engine/transport.js';
import { AbortError } from '../src/errors.js';

const reply = (status: number): TransportResponse => ({
  status,
  headers: {},
  body: (async function* () {})(),
  destroy() {},
});

/** A transport answering `statuses` in turn (200 once they run out), logging every request. */
function fakeTransport(statuses: number[] = []) {
  const sent: TransportRequest[] = [];
  const transport: Transport = async (request) => {
    sent.push(request);
    return reply(statuses.shift() ?? 200);
  };
  return { transport, sent };
}

const live = () => new AbortController().signal;
/** A URL carrying its expiry (CloudFront's `Expires`, in seconds). */
const expiringIn = (ms: number, name = 'a') =>
  `https://cdn.example.test/${name}.mp4?Expires=${Math.floor((Date.now() + ms) / 1000)}`;

describe('SegmentRequests: sending', () => {
  it('sends the Range and If-Range of the plan, with the timeout, and counts what it sends', async () => {
    const { transport, sent } = fakeTransport();
    const requests = new SegmentRequests(
      { url: 'https://cdn.example.test/a.mp4', timeoutMs: 1234 },
      transport,
    );
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: '"v1"', total: 3000, bytes: 1000 });
    const { response, back } = await requests.send(plan, plan.segments[0]!, live());
    expect(response.status).toBe(200);
    expect(back).toBe(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      url: 'https://cdn.example.test/a.mp4',
      timeoutMs: 1234,
      headers: { 'accept-encoding': 'identity', range: 'bytes=1000-', 'if-range': '"v1"' },
    });
    expect(requests.sent).toBe(1);
  });

  it('answers a 403 with a fresh URL and asks again', async () => {
    const { transport, sent } = fakeTransport([403]);
    const requests = new SegmentRequests(
      {
        url: 'https://cdn.example.test/a.mp4?sig=old',
        refreshUrl: async () => 'https://cdn.example.test/a.mp4?sig=new',
      },
      transport,
    );
    const plan = new SegmentPlan();
    const { response } = await requests.send(plan, plan.startOver(), live());
    expect(response.status).toBe(200);
    expect(sent.map((r) => r.url)).toEqual([
      'https://cdn.example.test/a.mp4?sig=old',
      'https://cdn.example.test/a.mp4?sig=new',
    ]);
    expect([requests.sent, requests.refreshes, requests.url]).toEqual([
      2,
      1,
      'https://cdn.example.test/a.mp4?sig=new',
    ]);
  });

  it('gives up with ERR_URL_EXPIRED once the refreshes allowed are spent, or without a way to refresh', async () => {
    const { transport } = fakeTransport([403, 403, 403]);
    let n = 0;
    const requests = new SegmentRequests(
      {
        url: 'https://cdn.example.test/a.mp4',
        refreshes: 2,
        refreshUrl: async () => `https://cdn.example.test/${++n}`,
      },
      transport,
    );
    const plan = new SegmentPlan();
    await expect(requests.send(plan, plan.startOver(), live())).rejects.toMatchObject({
      code: 'ERR_URL_EXPIRED',
      status: 403,
      retryable: false,
    });
    expect(requests.refreshes).toBe(2);
    const bare = new SegmentRequests(
      { url: 'https://cdn.example.test/a.mp4' },
      fakeTransport([403]).transport,
    );
    await expect(bare.send(plan, plan.segments[0]!, live())).rejects.toMatchObject({
      code: 'ERR_URL_EXPIRED',
    });
  });

  it('sends nothing once the run is aborted', async () => {
    const { transport, sent } = fakeTransport();
    const run = new AbortController();
    run.abort();
    const requests = new SegmentRequests(
      { url: 'https://cdn.example.test/a.mp4', signal: run.signal },
      transport,
    );
    const plan = new SegmentPlan();
    await expect(requests.send(plan, plan.startOver(), live())).rejects.toBeInstanceOf(AbortError);
    expect(sent).toHaveLength(0);
  });
});

describe('SegmentRequests: refreshing the URL', () => {
  it('refreshes a listed URL about to expire before sending it, and uses a fresh one as it is', async () => {
    const { transport, sent } = fakeTransport();
    const fresh = expiringIn(10_000, 'fresh');
    const requests = new SegmentRequests(
      { url: expiringIn(30_000), refreshMarginMs: 60_000, refreshUrl: async () => fresh },
      transport,
    );
    const plan = new SegmentPlan();
    await requests.send(plan, plan.startOver(), live());
    // The fresh URL expires within the margin too: it is not refreshed again.
    await requests.send(plan, plan.segments[0]!, live());
    expect(sent.map((r) => r.url)).toEqual([fresh, fresh]);
    expect(requests.refreshes).toBe(1);
  });

  it('leaves a URL far from its expiry alone', async () => {
    const { transport, sent } = fakeTransport();
    const url = expiringIn(3_600_000);
    const requests = new SegmentRequests(
      { url, refreshUrl: async () => 'https://cdn.example.test/other' },
      transport,
    );
    const plan = new SegmentPlan();
    await requests.send(plan, plan.startOver(), live());
    expect(sent.map((r) => r.url)).toEqual([url]);
    expect(requests.refreshes).toBe(0);
  });

  it('refreshes once for lanes that find the URL stale together', async () => {
    let calls = 0;
    const requests = new SegmentRequests(
      {
        url: 'https://cdn.example.test/a.mp4',
        refreshUrl: async () => {
          calls++;
          await new Promise((resolve) => setTimeout(resolve, 10));
          return 'https://cdn.example.test/b.mp4';
        },
      },
      fakeTransport().transport,
    );
    await Promise.all([requests.refresh('expired (403)'), requests.refresh('expired (403)')]);
    expect(calls).toBe(1);
    expect(requests.refreshes).toBe(1);
    expect(requests.url).toBe('https://cdn.example.test/b.mp4');
  });
});
