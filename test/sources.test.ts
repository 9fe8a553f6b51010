import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssetsClient, createClient } from '../src/api/client.js';
import { ApiError, UsageError } from '../src/errors.js';
import type { Simulator } from '../src/simulator/index.js';
import { createRelister } from '../src/source/refresh.js';
import { iterateAccount, parseTaskHistoryMode, type SourceEvent } from '../src/source/sources.js';
import type { Asset, MediaType } from '../src/types.js';
import { MEDIA_TYPES } from '../src/types.js';
import { sim, simClient } from './helpers/sim.js';

const ALL = [...MEDIA_TYPES];

async function collect(iterable: AsyncIterable<Asset>): Promise<Asset[]> {
  const all: Asset[] = [];
  for await (const asset of iterable) all.push(asset);
  return all;
}

/** The assets newest-first listing reaches (its first 1,050 per media type) and what the task window reaches. */
function reach(s: Simulator, types: MediaType[] = ALL): { assets: Set<string>; tasks: Set<string> } {
  const assets = new Set(
    types.flatMap((t) =>
      s
        .assets()
        .filter((a) => a.mediaType === t)
        .slice(0, 1050)
        .map((a) => a.assetId),
    ),
  );
  const live = new Map(s.assets().map((a) => [a.assetId, a.mediaType]));
  const tasks = new Set(
    s
      .tasks()
      .filter((t) => t.status === 'SUCCEEDED')
      .slice(0, 2000)
      .flatMap((t) => t.artifacts.filter((a) => !a.deleted).map((a) => a.assetId))
      .filter((id) => types.includes(live.get(id) as MediaType)),
  );
  return { assets, tasks };
}

describe('iterateAccount', () => {
  it('auto: an account inside one window is listed without touching the task history', async () => {
    const s = await sim({ assets: 120 });
    const assets = await collect(iterateAccount(simClient(s), { mediaTypes: ALL }));
    expect(assets.map((a) => a.assetId)).toEqual(s.assets().map((a) => a.assetId));
    expect(assets.every((a) => a.source === 'assets')).toBe(true);
    expect(s.stats.taskQueries).toEqual([]);
  });

  it('auto: a capped window sends it through the task history; one stream, each asset once', async () => {
    const s = await sim({ assets: 1400, mediaMix: { video: 1 }, fixedSizes: 10, deletedArtifactEvery: 50 });
    const events: SourceEvent[] = [];
    const assets = await collect(
      iterateAccount(simClient(s), { mediaTypes: ALL, onEvent: (e) => events.push(e) }),
    );
    const ids = assets.map((a) => a.assetId);
    expect(new Set(ids).size).toBe(ids.length);
    const { assets: byListing, tasks: byTasks } = reach(s);
    expect(new Set(ids)).toEqual(new Set([...byListing, ...byTasks]));
    // Found first in the listing says 'assets'; the rest came from tasks, with the task that made them.
    for (const asset of assets) {
      expect(asset.source).toBe(byListing.has(asset.assetId) ? 'assets' : 'tasks');
      if (asset.source === 'tasks') expect(asset.taskId).toMatch(/-task:/);
    }
    expect(assets.filter((a) => a.source === 'tasks').length).toBeGreaterThan(100);
    // Uploads older than the window have no task: they, and only they, stay out of reach.
    const missed = s.assets().filter((a) => !ids.includes(a.assetId));
    const fromTasks = new Set(s.tasks().flatMap((t) => t.artifacts.map((a) => a.assetId)));
    expect(missed.length).toBeGreaterThan(0);
    expect(missed.every((a) => !fromTasks.has(a.assetId))).toBe(true);
    expect(events.filter((e) => e.type === 'capped')).toEqual([
      { type: 'capped', window: 'video', seen: 1050 },
    ]);
    const deleted = s.tasks().flatMap((t) => t.artifacts.filter((a) => a.deleted));
    expect(events.filter((e) => e.type === 'artifact-skipped')).toHaveLength(deleted.length);
    expect(events.some((e) => e.type === 'tasks-page')).toBe(true);
    expect(events.some((e) => e.type === 'listing' && e.event.type === 'page')).toBe(true);
  });

  it('never: the capped window is reported and the task history left alone', async () => {
    const s = await sim({ assets: 1100, mediaMix: { video: 1 }, fixedSizes: 10 });
    const events: SourceEvent[] = [];
    const assets = await collect(
      iterateAccount(simClient(s), { mediaTypes: ALL, taskHistory: 'never', onEvent: (e) => events.push(e) }),
    );
    expect(assets).toHaveLength(1050);
    expect(s.stats.taskQueries).toEqual([]);
    expect(events).toContainEqual({ type: 'capped', window: 'video', seen: 1050 });
  });

  it('always: walks the task history even when no window is capped; it finds nothing new', async () => {
    const s = await sim({ assets: 60, deletedArtifactEvery: 9 });
    const events: SourceEvent[] = [];
    const assets = await collect(
      iterateAccount(simClient(s), {
        mediaTypes: ALL,
        taskHistory: 'always',
        onEvent: (e) => events.push(e),
      }),
    );
    expect(assets.map((a) => a.assetId)).toEqual(s.assets().map((a) => a.assetId));
    expect(assets.every((a) => a.source === 'assets')).toBe(true);
    expect(s.stats.taskQueries).toEqual(['offset=0&limit=100&statuses=SUCCEEDED']);
    expect(events.filter((e) => e.type === 'artifact-skipped').length).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'capped')).toBe(false);
  });

  it('one media type: its own window, then only artifacts of that type from the history', async () => {
    const s = await sim({ assets: 2400, mediaMix: { video: 1, image: 1 }, fixedSizes: 10 });
    const assets = await collect(iterateAccount(simClient(s), { mediaTypes: ['image'] }));
    expect(assets.every((a) => a.mediaType === 'image')).toBe(true);
    const { assets: byListing, tasks: byTasks } = reach(s, ['image']);
    expect(new Set(assets.map((a) => a.assetId))).toEqual(new Set([...byListing, ...byTasks]));
    expect(assets.some((a) => a.source === 'tasks')).toBe(true);
    expect(s.stats.listQueries.every((q) => q.includes('mediaType=image'))).toBe(true);
  });

  it('break in the middle of the task history cancels its page in flight', async () => {
    const s = await sim({ assets: 1200, mediaMix: { video: 1 }, fixedSizes: 10 });
    let tasksFound = 0;
    s.configure({ listLatencyMs: 0 });
    for await (const asset of iterateAccount(simClient(s), { mediaTypes: ALL })) {
      if (asset.source !== 'tasks') continue;
      if (++tasksFound === 1) {
        s.configure({ listLatencyMs: 400 });
        await expect.poll(() => s.inFlight, { timeout: 300, interval: 2 }).toBe(1);
        break;
      }
    }
    await expect.poll(() => s.inFlight, { timeout: 150, interval: 5 }).toBe(0);
  });

  it('a client without the task methods: auto quietly keeps to the windows, always is a usage error', async () => {
    const s = await sim({ assets: 1100, mediaMix: { video: 1 }, fixedSizes: 10 });
    const real = simClient(s);
    const client: AssetsClient = {
      listPage: (params) => real.listPage(params),
      getAsset: (id, params) => real.getAsset(id, params),
      gate: real.gate,
      get requestCount() {
        return real.requestCount;
      },
      close: () => real.close(),
    };
    expect(await collect(iterateAccount(client, { mediaTypes: ALL }))).toHaveLength(1050);
    await expect(collect(iterateAccount(client, { mediaTypes: ALL, taskHistory: 'always' }))).rejects.toThrow(
      UsageError,
    );
  });

  it.each([
    [{ mediaTypes: [] }, /`mediaTypes`/],
    [{ mediaTypes: ['gif'] }, /`mediaTypes`/],
    [{ mediaTypes: ALL, taskHistory: 'sometimes' }, /`taskHistory`/],
  ])('rejects %j before any request', async (options, message) => {
    const s = await sim({ assets: 3 });
    await expect(collect(iterateAccount(simClient(s), options as never))).rejects.toThrow(message);
    expect(s.stats.listRequests + s.stats.taskQueries.length).toBe(0);
  });

  it('parseTaskHistoryMode takes auto, always, never and nothing else', () => {
    expect(['auto', 'always', 'never', undefined].map(parseTaskHistoryMode)).toEqual([
      'auto',
      'always',
      'never',
      undefined,
    ]);
    expect(() => parseTaskHistoryMode('yes')).toThrow(/`task-history` to be one of auto, always, never/);
  });
});

describe('iterateAccount against odd answers (nock)', () => {
  const BASE = 'https://api.example.test';
  const OWNER = 'user:1-runwayml:a@b.c';
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('malformed tasks and artifacts are reported and skipped; directories counted; the rest downloads', async () => {
    const good = (n: number) => ({
      assetId: `${OWNER}-asset:${n}`,
      url: `https://cdn.example.test/${n}.mp4`,
      filename: `clip ${n}`,
    });
    nock(BASE)
      .get('/v1/runwayml/assets/')
      .query(true)
      .reply(200, [{ ...good(1), mediaType: 'video' }, { name: 'no id' }])
      .get('/v1/runwayml/tasks/')
      .query({ offset: '0', limit: '100', statuses: 'SUCCEEDED' })
      .reply(200, [
        { taskId: `${OWNER}-task:a`, status: 'SUCCEEDED', artifacts: [good(1), good(2)] },
        42,
        { taskId: `${OWNER}-task:b`, artifacts: { oops: true } },
        {
          taskId: `${OWNER}-task:c`,
          status: 'SUCCEEDED',
          artifacts: [{ assetId: 'dir', isDirectory: true }, { assetId: 'x' }, good(3)],
        },
        { taskId: `${OWNER}-task:d`, status: 'FAILED', artifacts: [good(4)] },
      ]);
    const events: SourceEvent[] = [];
    const client = createClient({ token: 't', baseUrl: BASE, retries: 0 });
    const assets = await collect(
      iterateAccount(client, { mediaTypes: ALL, taskHistory: 'always', onEvent: (e) => events.push(e) }),
    );
    expect(assets.map((a) => [a.assetId, a.source, a.mediaType])).toEqual([
      [`${OWNER}-asset:1`, 'assets', 'video'],
      [`${OWNER}-asset:2`, 'tasks', 'video'],
      [`${OWNER}-asset:3`, 'tasks', 'video'],
    ]);
    expect(events.filter((e) => e.type === 'skipped' || e.type === 'artifact-skipped')).toEqual([
      { type: 'skipped', source: 'assets', assetId: undefined, reason: 'item has no assetId' },
      { type: 'skipped', source: 'tasks', assetId: undefined, reason: 'task is not an object' },
      {
        type: 'skipped',
        source: 'tasks',
        assetId: undefined,
        reason: `task ${OWNER}-task:b has an artifacts field that is not a list`,
      },
      { type: 'artifact-skipped', assetId: 'dir', taskId: `${OWNER}-task:c`, reason: 'directory' },
      { type: 'skipped', source: 'tasks', assetId: 'x', reason: 'artifact has no usable url' },
    ]);
    client.close();
  });
});

describe('fresh URLs for assets found through the task history', () => {
  async function taskOnlyAsset(s: Simulator): Promise<Asset> {
    for await (const asset of iterateAccount(simClient(s), { mediaTypes: ALL })) {
      if (asset.source === 'tasks') return asset;
    }
    throw new Error('no task-only asset');
  }

  it('come from the single-task endpoint', async () => {
    const s = await sim({ assets: 1100, mediaMix: { video: 1 }, fixedSizes: 10 });
    const asset = await taskOnlyAsset(s);
    s.expireAllUrls();
    expect((await fetch(asset.url)).status).toBe(403);
    s.resetStats();
    const relister = createRelister(simClient(s), undefined, new AbortController().signal);
    const fresh = await relister.fresh(asset.assetId, asset.taskId);
    expect(fresh.assetId).toBe(asset.assetId);
    const response = await fetch(fresh.url);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(s.fileBytes(s.asset(asset.assetId)!.files[0]!));
    expect(s.stats.taskQueries).toEqual([`task/${encodeURIComponent(asset.taskId!)}`]);
    expect(s.stats.listRequests + s.stats.singleRequests).toBe(0);
  });

  it('else from one walk of the task history, shared by every caller', async () => {
    const s = await sim({ assets: 1100, mediaMix: { video: 1 }, fixedSizes: 10 });
    const asset = await taskOnlyAsset(s);
    const real = simClient(s, { retries: 0 });
    let singles = 0;
    const client: AssetsClient = {
      listPage: (p) => real.listPage(p),
      getAsset: (id, p) => real.getAsset(id, p),
      listTasks: (p) => real.listTasks!(p),
      getTask: async () => {
        singles++;
        throw new ApiError(503, 'single-task endpoint unavailable');
      },
      gate: real.gate,
      get requestCount() {
        return real.requestCount;
      },
      close: () => real.close(),
    };
    s.resetStats();
    const relister = createRelister(client, undefined, new AbortController().signal);
    const [a, b] = await Promise.all([
      relister.fresh(asset.assetId, asset.taskId),
      relister.fresh(asset.assetId, asset.taskId),
    ]);
    expect(a.url).toBe(b.url);
    expect(singles).toBe(2);
    // One walk served both: each page was asked for once.
    const walk = s.stats.taskQueries.filter((q) => q.startsWith('offset='));
    expect(walk.length).toBeGreaterThan(1);
    expect(new Set(walk).size).toBe(walk.length);
    expect((await fetch(a.url)).status).toBe(200);
  });

  it('a task-found asset deleted since is gone, not failed', async () => {
    const s = await sim({ assets: 1100, mediaMix: { video: 1 }, fixedSizes: 10 });
    const asset = await taskOnlyAsset(s);
    s.deleteAsset(asset.assetId);
    const relister = createRelister(simClient(s), undefined, new AbortController().signal);
    await expect(relister.fresh(asset.assetId, asset.taskId)).rejects.toMatchObject({
      code: 'ERR_ASSET_GONE',
    });
    expect(s.stats.taskQueries.at(-1)).toBe(`task/${encodeURIComponent(asset.taskId!)}`);
  });
});

describe('a task-history walk cut short (issue 17, item 10)', () => {
  it('is an incomplete listing, not a capped window', async () => {
    const s = await sim({ assets: 300, fixedSizes: 10 });
    const events: SourceEvent[] = [];
    await collect(
      iterateAccount(simClient(s), {
        mediaTypes: ALL,
        taskHistory: 'always',
        maxTaskRequests: 2,
        onEvent: (e) => events.push(e),
      }),
    );
    expect(events).toContainEqual({
      type: 'incomplete',
      window: 'tasks',
      seen: expect.any(Number),
      requests: 2,
    });
    expect(events.filter((e) => e.type === 'capped')).toEqual([]);
  });

  it('walked to its end it is neither', async () => {
    const s = await sim({ assets: 300, fixedSizes: 10 });
    const events: SourceEvent[] = [];
    await collect(
      iterateAccount(simClient(s), {
        mediaTypes: ALL,
        taskHistory: 'always',
        onEvent: (e) => events.push(e),
      }),
    );
    expect(events.filter((e) => e.type === 'incomplete' || e.type === 'capped')).toEqual([]);
  });
});
