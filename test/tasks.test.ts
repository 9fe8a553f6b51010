import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import type { Simulator } from '../src/simulator/index.js';
import { iterateTasks, type TaskEvent } from '../src/source/tasks.js';
import type { Asset } from '../src/types.js';
import { sim, simClient } from './helpers/sim.js';

async function collect(iterable: AsyncIterable<Asset>): Promise<Asset[]> {
  const all: Asset[] = [];
  for await (const asset of iterable) all.push(asset);
  return all;
}

/** What the newest `window` SUCCEEDED tasks produced and still exists, newest task first. */
function reachable(s: Simulator, window = 2000): string[] {
  return s
    .tasks()
    .filter((t) => t.status === 'SUCCEEDED')
    .slice(0, window)
    .flatMap((t) => t.artifacts.filter((a) => !a.deleted).map((a) => a.assetId));
}

describe('iterateTasks over the simulator', () => {
  it('yields every artifact of the SUCCEEDED tasks once, in history order; deleted ones are only counted', async () => {
    const s = await sim({ assets: 260, deletedArtifactEvery: 7 });
    const tasks = s.tasks();
    expect(tasks.some((t) => t.status === 'FAILED')).toBe(true);
    expect(tasks.some((t) => t.artifacts.length > 1)).toBe(true);
    const events: TaskEvent[] = [];
    const assets = await collect(
      iterateTasks(simClient(s), { pageSize: 40, onEvent: (e) => events.push(e) }),
    );
    expect(assets.map((a) => a.assetId)).toEqual(reachable(s));
    expect(assets.every((a) => a.source === 'tasks' && a.taskId !== undefined)).toBe(true);
    // Uploads come from no task.
    const fromTasks = new Set(tasks.flatMap((t) => t.artifacts.map((a) => a.assetId)));
    expect(s.assets().filter((a) => !fromTasks.has(a.assetId)).length).toBeGreaterThan(0);
    const deleted = tasks.flatMap((t) => t.artifacts.filter((a) => a.deleted).map((a) => a.assetId));
    expect(deleted.length).toBeGreaterThan(0);
    expect(
      events
        .filter((e) => e.type === 'artifact-skipped')
        .map((e) => e.type === 'artifact-skipped' && e.assetId),
    ).toEqual(deleted);
    // Every request asked for SUCCEEDED tasks only, in pages of 40 that overlap by one.
    expect(s.stats.taskQueries.every((q) => q.includes('statuses=SUCCEEDED'))).toBe(true);
    expect(s.stats.taskQueries.slice(0, 3)).toEqual([
      'offset=0&limit=40&statuses=SUCCEEDED',
      'offset=39&limit=40&statuses=SUCCEEDED',
      'offset=78&limit=40&statuses=SUCCEEDED',
    ]);
    expect(events.some((e) => e.type === 'capped')).toBe(false);
  });

  it('reaches the newest 2,000 tasks, the last page asking 1000 at offset 1000, and reports the cap', async () => {
    const s = await sim({
      assets: 2100,
      mediaMix: { video: 1 },
      uploadShare: 0,
      failedTaskEvery: 0,
      fixedSizes: 10,
    });
    const events: TaskEvent[] = [];
    const assets = await collect(iterateTasks(simClient(s), { onEvent: (e) => events.push(e) }));
    expect(assets).toHaveLength(2000);
    expect(assets.map((a) => a.assetId)).toEqual(reachable(s));
    expect(events).toContainEqual({ type: 'capped', seen: 2000 });
    // 0, 99, …, 990 in pages of 100, then the window's last page.
    expect(s.stats.taskQueries).toHaveLength(12);
    expect(s.stats.taskQueries.at(-1)).toBe('offset=1000&limit=1000&statuses=SUCCEEDED');
  });

  it('drift while walking (tasks added at the top, tasks deleted in the middle) loses nothing', async () => {
    const s = await sim({ assets: 900, fixedSizes: 10, drift: { insertEvery: 2, deleteEvery: 3 } });
    const before = new Set(reachable(s));
    const events: TaskEvent[] = [];
    const assets = await collect(
      iterateTasks(simClient(s), { pageSize: 30, onEvent: (e) => events.push(e) }),
    );
    const got = assets.map((a) => a.assetId);
    expect(new Set(got).size).toBe(got.length);
    // Whatever stood in the history from start to end was found; tasks deleted meanwhile may or may not be.
    const stayed = reachable(s).filter((id) => before.has(id));
    expect(stayed.length).toBeGreaterThan(700);
    expect(got).toEqual(expect.arrayContaining(stayed));
    expect(events.filter((e) => e.type === 'drift').length).toBeGreaterThan(0);
  });

  it('tasks deleted behind the walk (more than the one-task overlap per page) lose nothing', async () => {
    const s = await sim({ assets: 600, fixedSizes: 10, listLatencyMs: 5 });
    const deleted = new Set<string>();
    const events: TaskEvent[] = [];
    const onEvent = (e: TaskEvent): void => {
      events.push(e);
      if (e.type !== 'page' || e.offset === 0) return;
      // Five tasks the walk has read already disappear: everything after them shifts five places left.
      const history = s.tasks();
      for (let i = 0; i < 5; i++) {
        const victim = history[Math.max(0, e.offset - 10 - i)];
        if (victim && s.deleteTask(victim.taskId)) deleted.add(victim.taskId);
      }
    };
    const before = s.tasks().map((t) => t.taskId);
    const assets = await collect(iterateTasks(simClient(s), { pageSize: 25, onEvent }));
    const got = new Set(assets.map((a) => a.assetId));
    expect(deleted.size).toBeGreaterThan(40);
    expect(s.tasks().map((t) => t.taskId)).toEqual(before.filter((id) => !deleted.has(id)));
    const stayed = reachable(s);
    expect(stayed.filter((id) => !got.has(id))).toEqual([]);
    expect(events.filter((e) => e.type === 'drift').length).toBeGreaterThan(5);
  });

  it('a mass deletion that empties the next page still loses nothing', async () => {
    const s = await sim({
      assets: 150,
      mediaMix: { video: 1 },
      uploadShare: 0,
      failedTaskEvery: 0,
      listLatencyMs: 40,
    });
    let done = false;
    const onEvent = (e: TaskEvent): void => {
      if (e.type !== 'page' || done) return;
      done = true;
      // 60 of the 100 tasks just read vanish while the next page (offset 99) is being answered: it comes back
      // empty, and the 50 unread tasks now sit at offsets 40..89.
      for (const t of s.tasks().slice(20, 80)) s.deleteTask(t.taskId);
    };
    const assets = await collect(iterateTasks(simClient(s), { pageSize: 100, onEvent }));
    const got = new Set(assets.map((a) => a.assetId));
    expect(s.tasks()).toHaveLength(90);
    expect(reachable(s).filter((id) => !got.has(id))).toEqual([]);
    expect(s.stats.taskQueries[1]).toBe('offset=99&limit=100&statuses=SUCCEEDED');
  });

  it('break cancels the page in flight at once', async () => {
    const s = await sim({ assets: 400, listLatencyMs: 300 });
    const client = simClient(s);
    let n = 0;
    for await (const _ of iterateTasks(client, { pageSize: 50 })) {
      if (++n === 1) {
        // The next page is on its way (requested before this page was handed out).
        await expect.poll(() => s.inFlight, { timeout: 200, interval: 2 }).toBe(1);
        break;
      }
    }
    await expect.poll(() => s.inFlight, { timeout: 150, interval: 5 }).toBe(0);
    expect(s.stats.taskQueries).toHaveLength(2);
    client.close();
  });

  it('without lookahead: the next page is asked for only when the walk goes on, and the same tasks come out', async () => {
    const s = await sim({ assets: 300, fixedSizes: 10 });
    const client = simClient(s);
    let n = 0;
    for await (const _ of iterateTasks(client, { pageSize: 50, lookahead: false })) {
      if (++n === 1) {
        // Nothing is on its way while the first page is handed out.
        expect(s.stats.taskQueries).toHaveLength(1);
        expect(s.inFlight).toBe(0);
      }
    }
    const pages = s.stats.taskQueries.length;
    expect(pages).toBeGreaterThan(2);
    // Leaving after the first page's assets: no second request at all.
    const before = s.stats.taskQueries.length;
    for await (const _ of iterateTasks(client, { pageSize: 50, lookahead: false })) break;
    expect(s.stats.taskQueries.length - before).toBe(1);
    // The walk itself is the same, page for page.
    const ahead = await collect(iterateTasks(client, { pageSize: 50 }));
    const step = await collect(iterateTasks(client, { pageSize: 50, lookahead: false }));
    expect(step.map((a) => a.assetId)).toEqual(ahead.map((a) => a.assetId));
    client.close();
  });

  it('the signal stops the walk with AbortError and no request left behind', async () => {
    const s = await sim({ assets: 400, listLatencyMs: 200 });
    const controller = new AbortController();
    const walk = collect(iterateTasks(simClient(s), { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await expect(walk).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await expect.poll(() => s.inFlight, { timeout: 150, interval: 5 }).toBe(0);
  });

  it.each([1, 1001, 2.5])('rejects pageSize %s before any request', async (pageSize) => {
    const s = await sim({ assets: 5 });
    await expect(collect(iterateTasks(simClient(s), { pageSize }))).rejects.toBeInstanceOf(UsageError);
    expect(s.stats.taskQueries).toEqual([]);
  });

  it('stops at maxRequests and says so', async () => {
    const s = await sim({ assets: 300, fixedSizes: 10 });
    const events: TaskEvent[] = [];
    const assets = await collect(
      iterateTasks(simClient(s), { pageSize: 20, maxRequests: 3, onEvent: (e) => events.push(e) }),
    );
    expect(s.stats.taskQueries).toHaveLength(3);
    expect(assets.length).toBeGreaterThan(0);
    expect(events).toContainEqual(expect.objectContaining({ type: 'request-limit', requests: 3 }));
    // Cut short is an incomplete listing (exit 1), never a capped window (issue 17, item 10).
    expect(events).toContainEqual(expect.objectContaining({ type: 'incomplete', requests: 3 }));
    expect(events.some((e) => e.type === 'capped')).toBe(false);
  });
});
