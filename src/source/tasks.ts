import { setMaxListeners } from 'node:events';
import type { AssetsClient, TaskPage } from '../api/client.js';
import { MAX_OFFSET, MAX_TASK_LIMIT } from '../api/client.js';
import type { SkippedItem } from '../api/parse.js';
import type { Task } from '../api/parse-task.js';
import { AbortError, UsageError } from '../errors.js';
import type { Asset } from '../types.js';

export type TaskEvent =
  /** One page of the history: `tasks` answered, `artifacts` new assets found in it. */
  | { type: 'page'; offset: number; rawCount: number; tasks: number; artifacts: number }
  /** A task that could not be read at all. */
  | { type: 'skipped'; offset: number; item: SkippedItem }
  /** An artifact that could not be used (no id, no url). */
  | { type: 'artifact-unusable'; taskId: string | undefined; assetId: string | undefined; reason: string }
  /** Deleted in Runway, or a directory: nothing to fetch, not a failure. */
  | { type: 'artifact-skipped'; taskId: string; assetId: string; reason: 'deleted' | 'directory' }
  | { type: 'drift'; offset: number; reread: number }
  /** The window's last page was full: older tasks exist than the API can list. */
  | { type: 'capped'; seen: number }
  /** The walk stopped at `maxRequests`: older tasks may exist. `seen` as for `capped`. Followed by `incomplete`. */
  | { type: 'request-limit'; requests: number; seen: number }
  /**
   * The walk was cut short (the request budget ran out, while walking or while re-reading after drift): tasks of
   * the window may be missing from what was yielded. Not `capped`: the window itself may have ended in reach.
   */
  | { type: 'incomplete'; requests: number; seen: number };

export interface IterateTasksOptions {
  /** The account, required by the API when several are configured. */
  email?: string | undefined;
  /**
   * Tasks per request before offset 1000, 2..1000. The page at offset 1000 always asks for 1000, the only way to
   * reach the 2,000th task; memory is bounded by that page, whatever the account's size. @default 100
   */
  pageSize?: number | undefined;
  /** Safety stop on page requests, so a misbehaving API cannot keep us looping. @default 100 */
  maxRequests?: number | undefined;
  /**
   * Asks for the next page while the current one is handed out. Off for a reader that may stop after any page
   * (the generation records): a page of 1,000 tasks is ~2 MB of JSON, and one asked for in vain costs a request
   * and the memory of two pages at once. @default true
   */
  lookahead?: boolean | undefined;
  /**
   * Asset ids already handed out (by the assets windows): not yielded again; every yielded asset is added.
   * @default a new set
   */
  seen?: Set<string> | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: TaskEvent) => void) | undefined;
  /** Called once for every task read (new to this walk), before its artifacts are yielded: its generation record. */
  onTask?: ((task: Task) => void) | undefined;
}

type ListTasks = NonNullable<AssetsClient['listTasks']>;

/**
 * Yields the assets the account's SUCCEEDED tasks produced, newest task first, each assetId once, walking the task
 * history's window (offsets 0..1000, up to 1000 per page: the newest 2,000 tasks).
 *
 * Consecutive pages overlap by one task, as in `iterateAssets`: when the last task of a page does not come back in
 * the next one, tasks were deleted above it and the history shifted towards offset 0, so the stretch before is read
 * again until a page shows a task already seen. New tasks shift the other way and only repeat tasks, which are
 * skipped by taskId. The next page is requested while the current one is handed out; leaving the loop (`break`,
 * an error, the signal) cancels it.
 */
export async function* iterateTasks(
  client: AssetsClient,
  options: IterateTasksOptions = {},
): AsyncGenerator<Asset> {
  const { email, pageSize = 100, maxRequests = 100, onEvent, lookahead = true } = options;
  const listTasks = checkedListTasks(client, pageSize, maxRequests);
  const seen = options.seen ?? new Set<string>();
  const outer = options.signal;
  if (outer?.aborted) throw new AbortError();
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onOuterAbort = (): void => controller.abort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;

  const limitAt = (offset: number): number => (offset >= MAX_OFFSET ? MAX_TASK_LIMIT : pageSize);
  const after = (offset: number): number | undefined =>
    offset >= MAX_OFFSET ? undefined : Math.min(offset + pageSize - 1, MAX_OFFSET);
  let requests = 0;
  const fetchPage = (offset: number): Promise<TaskPage> | undefined => {
    if (requests >= maxRequests) return undefined;
    requests++;
    const promise = listTasks({ offset, limit: limitAt(offset), email, statuses: ['SUCCEEDED'], signal });
    // A prefetched page may be abandoned; its rejection must not surface as unhandled.
    promise.catch(() => {});
    return promise;
  };
  // Bounded by the window (2,000 tasks plus what drift adds), so the walk never re-emits a task's events.
  const walk: TaskWalk = {
    fetchPage,
    pageSize,
    seen,
    doneTasks: new Set<string>(),
    onEvent,
    onTask: options.onTask,
    requests: () => requests,
  };

  let offset = 0;
  // The page of `offset`; undefined when the request budget is spent, null when not asked for yet (no lookahead:
  // it is asked for once the consumer comes back for more).
  let pending: Promise<TaskPage> | undefined | null = fetchPage(0);
  let anchor: string | undefined;
  let anchorPage = new Set<string | undefined>();
  try {
    for (;;) {
      if (pending === null) pending = fetchPage(offset);
      if (pending === undefined) {
        onEvent?.({ type: 'request-limit', requests, seen: walk.doneTasks.size });
        onEvent?.({ type: 'incomplete', requests, seen: walk.doneTasks.size });
        return;
      }
      const page: TaskPage = await pending;
      const full = page.rawCount >= limitAt(offset);
      const next = full ? after(offset) : undefined;
      // With lookahead, requested before this page is handed out, so the listing keeps pace with a fast consumer.
      pending = next === undefined ? undefined : lookahead ? fetchPage(next) : null;

      // The page after a full one always holds that page's last task, unless tasks were deleted above this offset
      // and some moved to before it; an empty page says the same. Step back until a page shows a task of the
      // previous page: from there on nothing can have slipped through.
      if (anchor !== undefined && !page.rawIds.includes(anchor)) {
        yield* rereadBefore(walk, offset, anchorPage);
      }
      const artifacts = yield* fresh(walk, page, offset);
      onEvent?.({ type: 'page', offset, rawCount: page.rawCount, tasks: page.tasks.length, artifacts });
      if (full && offset >= MAX_OFFSET) onEvent?.({ type: 'capped', seen: walk.doneTasks.size });
      if (next === undefined) return;
      anchor = page.rawIds.at(-1);
      anchorPage = new Set(page.rawIds);
      offset = next;
    }
  } finally {
    // Whatever ended the walk, the page still in flight is cancelled.
    controller.abort();
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** The client's `listTasks`, bound, once the options are known to be valid; else a UsageError. */
function checkedListTasks(client: AssetsClient, pageSize: number, maxRequests: number): ListTasks {
  if (!Number.isInteger(pageSize) || pageSize < 2 || pageSize > MAX_TASK_LIMIT) {
    // 2, not 1: a page must hold the overlap task plus at least one new one.
    throw new UsageError(
      `Expected \`pageSize\` to be an integer from 2 to ${MAX_TASK_LIMIT}, got ${String(pageSize)}`,
    );
  }
  if (!Number.isInteger(maxRequests) || maxRequests < 1) {
    throw new UsageError(`Expected \`maxRequests\` to be an integer >= 1, got ${String(maxRequests)}`);
  }
  if (typeof client.listTasks !== 'function') {
    throw new UsageError('This API client cannot list the task history (it has no `listTasks`)');
  }
  return client.listTasks.bind(client);
}

/** What the steps of one walk of the history share. */
interface TaskWalk {
  /** The page at `offset`, requested now; undefined once `maxRequests` pages were requested. */
  fetchPage: (offset: number) => Promise<TaskPage> | undefined;
  pageSize: number;
  /** Asset ids handed out: not yielded again. */
  seen: Set<string>;
  /** Tasks whose artifacts were handed out (or reported): not read again. */
  doneTasks: Set<string>;
  onEvent: ((event: TaskEvent) => void) | undefined;
  onTask: ((task: Task) => void) | undefined;
  /** Page requests sent so far. */
  requests: () => number;
}

/**
 * Drift before `offset`: reads the stretch before it again, stepping back until a page shows a task of
 * `anchorPage` (or the request budget runs out), and reports the drift with how many new assets that found.
 */
async function* rereadBefore(
  walk: TaskWalk,
  offset: number,
  anchorPage: Set<string | undefined>,
): AsyncGenerator<Asset, void> {
  let reread = 0;
  for (let back = offset; back > 0; ) {
    back = Math.max(0, back - (walk.pageSize - 1));
    const again = walk.fetchPage(back);
    if (again === undefined) {
      // Out of requests before the re-read reached known ground: what drifted may have been missed.
      walk.onEvent?.({ type: 'incomplete', requests: walk.requests(), seen: walk.doneTasks.size });
      break;
    }
    const earlier = await again;
    reread += yield* fresh(walk, earlier, back);
    if (earlier.rawIds.some((id) => id !== undefined && anchorPage.has(id))) break;
  }
  walk.onEvent?.({ type: 'drift', offset, reread });
}

/** The new assets of the page's tasks not read before; its unreadable tasks reported. Returns how many. */
function* fresh(walk: TaskWalk, page: TaskPage, offset: number): Generator<Asset, number> {
  let count = 0;
  for (const item of page.skipped) walk.onEvent?.({ type: 'skipped', offset, item });
  for (const task of page.tasks) {
    if (task.taskId !== undefined) {
      if (walk.doneTasks.has(task.taskId)) continue;
      walk.doneTasks.add(task.taskId);
    }
    walk.onTask?.(task);
    count += yield* artifactsOf(walk, task);
  }
  return count;
}

/** The task's assets not handed out before; its unusable and skipped artifacts reported. Returns how many. */
function* artifactsOf(walk: TaskWalk, task: Task): Generator<Asset, number> {
  // Asked for SUCCEEDED only; an API that ignored the filter still gets no files taken from unfinished tasks.
  if (task.status !== undefined && task.status !== 'SUCCEEDED') return 0;
  let count = 0;
  for (const artifact of task.artifacts) {
    if (artifact.kind === 'skipped') {
      const { assetId, reason } = artifact;
      walk.onEvent?.({ type: 'artifact-unusable', taskId: task.taskId, assetId, reason });
    } else if (artifact.kind !== 'asset') {
      const { assetId, kind } = artifact;
      walk.onEvent?.({ type: 'artifact-skipped', taskId: task.taskId ?? '', assetId, reason: kind });
    } else if (!walk.seen.has(artifact.asset.assetId)) {
      walk.seen.add(artifact.asset.assetId);
      count++;
      yield artifact.asset;
    }
  }
  return count;
}
