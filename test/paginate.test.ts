import { describe, expect, it } from 'vitest';
import { createClient } from '../src/api/client.js';
import { iterateAssets, type ListingEvent } from '../src/source/paginate.js';
import type { Asset, MediaType } from '../src/types.js';
import { driftingServer } from './helpers/drifting-server.js';
import { sim, simClient } from './helpers/sim.js';

async function collect(iterable: AsyncIterable<Asset>): Promise<Asset[]> {
  const all: Asset[] = [];
  for await (const asset of iterable) all.push(asset);
  return all;
}

describe('iterateAssets over the simulator', () => {
  it.each([0, 1, 49, 50, 51, 99, 100, 1000, 1049])(
    'lists all %i assets, newest first, once each',
    async (n) => {
      // Pages overlap by one, so each request after the first brings 49 new items; a short page ends the walk.
      const exact = n < 50 ? 1 : Math.ceil((n - 50) / 49) + 1 + ((n - 50) % 49 === 0 ? 1 : 0);
      for (const lookahead of [1, 3]) {
        const s = await sim({ assets: n });
        const events: ListingEvent[] = [];
        const client = simClient(s);
        const seen = await collect(iterateAssets(client, { lookahead, onEvent: (e) => events.push(e) }));
        expect(seen.map((a) => a.assetId)).toEqual(s.assets().map((a) => a.assetId));
        expect(events.some((e) => e.type === 'capped')).toBe(false);
        // With a lookahead of 3, at most 2 pages are requested past the end of the account.
        expect(s.stats.listRequests).toBeGreaterThanOrEqual(exact);
        expect(s.stats.listRequests).toBeLessThanOrEqual(exact + lookahead - 1);
        client.close();
        await s.close();
      }
    },
  );

  it('the lookahead keeps several pages in flight on a slow API', async () => {
    const s = await sim({ assets: 500, listLatencyMs: 60 });
    let most = 0;
    const probe = setInterval(() => {
      most = Math.max(most, s.inFlight);
    }, 5);
    await collect(iterateAssets(simClient(s), { lookahead: 3 }));
    clearInterval(probe);
    expect(most).toBe(3);
  });

  it('1,050 assets fill the window exactly: capped, then per-type windows find nothing more', async () => {
    const s = await sim({ assets: 1050 });
    const events: ListingEvent[] = [];
    const seen = await collect(iterateAssets(simClient(s), { onEvent: (e) => events.push(e) }));
    expect(new Set(seen.map((a) => a.assetId)).size).toBe(1050);
    expect(events).toContainEqual({ type: 'capped', window: 'all', seen: 1050, splitting: true });
    expect(events.filter((e) => e.type === 'capped' && !e.splitting)).toEqual([]);
    expect(s.stats.listQueries.filter((q) => q.includes('mediaType')).length).toBeGreaterThan(0);
  });

  it('1,300 assets: the capped window is split by media type and every asset is reached', async () => {
    const s = await sim({ assets: 1300 });
    const events: ListingEvent[] = [];
    const seen = await collect(iterateAssets(simClient(s), { onEvent: (e) => events.push(e) }));
    expect(seen.map((a) => a.assetId).sort()).toEqual(
      s
        .assets()
        .map((a) => a.assetId)
        .sort(),
    );
    expect(events.filter((e) => e.type === 'capped' && !e.splitting)).toEqual([]);
    expect(s.stats.listRequests).toBeLessThanOrEqual(60);
  });

  it('reports a type window that is itself capped (more than 1,050 videos)', async () => {
    const s = await sim({ assets: 1200, mediaMix: { video: 1 } });
    const events: ListingEvent[] = [];
    const seen = await collect(iterateAssets(simClient(s), { onEvent: (e) => events.push(e) }));
    expect(seen).toHaveLength(1050);
    expect(events).toContainEqual({ type: 'capped', window: 'video', seen: 1050, splitting: false });
  });

  it.each(['video', 'image', 'audio'] as MediaType[])(
    'filters by mediaType %s through the API',
    async (type) => {
      const s = await sim({ assets: 130 });
      const seen = await collect(iterateAssets(simClient(s), { mediaType: type }));
      const expected = s.assets().filter((a) => a.mediaType === type);
      expect(expected.length).toBeGreaterThan(0);
      expect(seen.map((a) => a.assetId)).toEqual(expected.map((a) => a.assetId));
      expect(s.stats.listQueries.every((q) => q.includes(`mediaType=${type}`))).toBe(true);
    },
  );

  it('passes email when several accounts are configured', async () => {
    const s = await sim({ assets: 60, accounts: ['a@x.io', 'b@x.io'] });
    const seen = await collect(iterateAssets(simClient(s), { email: 'b@x.io' }));
    expect(seen.map((a) => a.assetId)).toEqual(s.assets('b@x.io').map((a) => a.assetId));
    await expect(collect(iterateAssets(simClient(s, { retries: 0 })))).rejects.toMatchObject({
      code: 'ERR_API_BAD_REQUEST',
    });
  });

  it('drift: assets added while walking are not lost and not repeated', async () => {
    const s = await sim({ assets: 300, drift: { insertEvery: 1 } });
    const before = new Set(s.assets().map((a) => a.assetId));
    const seen = await collect(iterateAssets(simClient(s)));
    const ids = seen.map((a) => a.assetId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of before) expect(ids).toContain(id);
  });

  it('drift: assets deleted while walking do not make others disappear', async () => {
    const s = await sim({ assets: 300 });
    const original = s.assets().map((a) => a.assetId);
    s.configure({ drift: { deleteEvery: 1 } });
    const events: ListingEvent[] = [];
    const seen = new Set(
      (await collect(iterateAssets(simClient(s), { onEvent: (e) => events.push(e) }))).map((a) => a.assetId),
    );
    const remaining = new Set(s.assets().map((a) => a.assetId));
    // Every asset that still exists at the end was seen, even though deletions shifted the offsets under us.
    for (const id of original) if (remaining.has(id)) expect(seen.has(id)).toBe(true);
    expect(events.some((e) => e.type === 'drift')).toBe(true);
  });

  it.each([1, 3])(
    'drift: a mass deletion (more than a page) loses no remaining asset (lookahead %i)',
    async (lookahead) => {
      const s = await sim({ assets: 400 });
      const client = simClient(s);
      const seen = new Set<string>();
      let deleted = false;
      const events: ListingEvent[] = [];
      for await (const asset of iterateAssets(client, { lookahead, onEvent: (e) => events.push(e) })) {
        seen.add(asset.assetId);
        if (seen.size === 120 && !deleted) {
          // 130 assets above the walk's position vanish at once: every later item shifts left by more than a page.
          deleted = true;
          for (const a of s.assets().slice(0, 130)) s.deleteAsset(a.assetId);
        }
      }
      for (const a of s.assets()) expect(seen.has(a.assetId), a.assetId).toBe(true);
      expect(events.filter((e) => e.type === 'drift').length).toBeGreaterThan(0);
      client.close();
    },
  );

  it('fetches the next page while the current one is consumed (lookahead)', async () => {
    const s = await sim({ assets: 200, listLatencyMs: 150 });
    const iterator = iterateAssets(simClient(s));
    await iterator.next();
    // The first page is in hand; the second was requested at once, before the consumer asked.
    await new Promise((r) => setTimeout(r, 20));
    expect(s.stats.listRequests + s.inFlight).toBeGreaterThanOrEqual(2);
    await iterator.return(undefined);
  });

  it('break cancels the request in flight and leaves no timer', async () => {
    const s = await sim({ assets: 200, listLatencyMs: 300 });
    const client = simClient(s);
    const handlesBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for await (const asset of iterateAssets(client)) {
      expect(asset.assetId).toBeTruthy();
      break;
    }
    // The lookahead request was in flight at the break: the server sees it abandoned.
    await expect.poll(() => s.inFlight, { timeout: 2000 }).toBe(0);
    expect(s.stats.listRequests).toBeLessThanOrEqual(2);
    client.close();
    await expect.poll(() => s.openSockets, { timeout: 2000 }).toBe(0);
    const handlesAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(handlesAfter).toBeLessThanOrEqual(handlesBefore);
  });

  it('break during the side-by-side type windows cancels what is in flight instead of waiting for it', async () => {
    const s = await sim({ assets: 1300, listLatencyMs: 1000 });
    s.configure({ listLatencyMs: 0 });
    const client = simClient(s);
    let n = 0;
    let inFlightAtBreak = 0;
    let broke = 0;
    for await (const asset of iterateAssets(client)) {
      expect(asset.assetId).toBeTruthy();
      // Past the first window's 1,050: the type windows are walking. Make their next answers slow, then leave.
      if (++n === 1060) s.configure({ listLatencyMs: 10_000 });
      if (n === 1100) {
        await expect.poll(() => s.inFlight, { timeout: 2000, interval: 5 }).toBeGreaterThan(0);
        inFlightAtBreak = s.inFlight;
        broke = Date.now();
        break;
      }
    }
    const left = Date.now() - broke;
    expect(inFlightAtBreak).toBeGreaterThan(0);
    // Waiting for the slow pages would take up to ten seconds; cancelling them takes a few milliseconds.
    expect(left).toBeLessThan(3000);
    await expect.poll(() => s.inFlight, { timeout: 1000 }).toBe(0);
    client.close();
  });

  it('an AbortSignal stops the walk with AbortError', async () => {
    const s = await sim({ assets: 200, listLatencyMs: 200 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(collect(iterateAssets(simClient(s), { signal: controller.signal }))).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });

  it('retries through 429 bursts and 5xx on listing', async () => {
    const s = await sim({
      assets: 120,
      rateLimit: { every: 1, burst: 1, retryAfterSeconds: 0 },
      listFaults: { status5xx: 0.3 },
    });
    const seen = await collect(iterateAssets(simClient(s, { retries: 8 })));
    expect(seen).toHaveLength(120);
    expect(s.stats.status429).toBeGreaterThan(0);
  });

  it('the request limit stops a walk that would not end and says so', async () => {
    const s = await sim({ assets: 500 });
    const events: ListingEvent[] = [];
    const seen = await collect(
      iterateAssets(simClient(s), { maxRequests: 3, onEvent: (e) => events.push(e) }),
    );
    expect(seen).toHaveLength(50 + 49 + 49);
    expect(events.some((e) => e.type === 'request-limit')).toBe(true);
  });

  it('item 2: a walk cut short by the request budget is reported as incomplete, not as a whole window', async () => {
    const s = await sim({ assets: 500 });
    const events: ListingEvent[] = [];
    const seen = await collect(
      iterateAssets(simClient(s), { maxRequests: 3, onEvent: (e) => events.push(e) }),
    );
    expect(seen).toHaveLength(148);
    expect(events.filter((e) => e.type === 'incomplete')).toEqual([
      { type: 'incomplete', window: 'all', seen: 148, requests: 3 },
    ]);
    // A walk that reads its window to the end says nothing of the kind.
    const whole: ListingEvent[] = [];
    await collect(iterateAssets(simClient(s), { onEvent: (e) => whole.push(e) }));
    expect(whole.some((e) => e.type === 'incomplete' || e.type === 'request-limit')).toBe(false);
  });

  it('item 2: a drift re-read the budget cannot finish makes the walk incomplete too', async () => {
    const server = await driftingServer();
    const client = createClient({ token: 't', baseUrl: server.url, retries: 0 });
    const events: ListingEvent[] = [];
    try {
      // Page 49 rereads 0 (3 requests), page 98 rereads 49 and would reread 0: the fifth request is over budget.
      await collect(iterateAssets(client, { maxRequests: 4, lookahead: 1, onEvent: (e) => events.push(e) }));
    } finally {
      client.close();
      await server.close();
    }
    expect(events.some((e) => e.type === 'drift')).toBe(true);
    expect(events.filter((e) => e.type === 'incomplete')).toHaveLength(1);
  });
});

describe('a mass deletion that empties the next page', () => {
  it('re-reads the stretch before it instead of ending the walk early', async () => {
    const s = await sim({ assets: 100, listLatencyMs: 40 });
    const before = s.assets().map((a) => a.assetId);
    let done = false;
    const onEvent = (e: ListingEvent): void => {
      if (e.type !== 'page' || done) return;
      done = true;
      // 60 of the newest 100 vanish while the page at offset 49 is being answered: it comes back empty, and the
      // 20 assets never read yet (the oldest) now sit at offsets 20..39.
      for (const id of before.slice(20, 80)) s.deleteAsset(id);
    };
    const seen = await collect(iterateAssets(simClient(s), { lookahead: 1, onEvent }));
    const got = new Set(seen.map((a) => a.assetId));
    expect(s.assets()).toHaveLength(40);
    expect(s.assets().filter((a) => !got.has(a.assetId))).toEqual([]);
  });
});
