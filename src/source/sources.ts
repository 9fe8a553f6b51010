// src/source/: the walks that yield assets: the assets windows (paginate), the task history (tasks), the merged
// account stream (this file) and the fresh URL of one asset (refresh). Knows the API client; never imports the
// engine, the store, a run or a report.
import type { AssetsClient } from '../api/client.js';
import type { Task } from '../api/parse-task.js';
import { UsageError } from '../errors.js';
import type { Asset, MediaType } from '../types.js';
import { isMediaType, MEDIA_TYPES } from '../types.js';
import { iterateAssets, type ListingEvent, type WindowName } from './paginate.js';
import { iterateTasks, type TaskEvent } from './tasks.js';

/** auto: walk the task history when any assets window is capped; always; never. */
export type TaskHistoryMode = 'auto' | 'always' | 'never';
export const TASK_HISTORY_MODES: readonly TaskHistoryMode[] = ['auto', 'always', 'never'];

export type SourceEvent =
  /** The assets walk's own events, passed through. */
  | { type: 'listing'; event: ListingEvent }
  /** One page of the task history: `tasks` answered, `artifacts` new assets found in it. */
  | { type: 'tasks-page'; offset: number; tasks: number; artifacts: number }
  /** A malformed item, task or artifact: reported and skipped. */
  | { type: 'skipped'; source: 'assets' | 'tasks'; assetId: string | undefined; reason: string }
  /** A deleted artifact or a directory: nothing to fetch; counted, not a failure. */
  | { type: 'artifact-skipped'; assetId: string; taskId: string; reason: 'deleted' | 'directory' }
  /** A window that may hide older assets: its last page was full at the API's last offset. */
  | { type: 'capped'; window: WindowName | 'tasks'; seen: number }
  /**
   * The task history's walk was cut short (request budget, drift re-read out of requests): an incomplete listing,
   * as the assets walk's own `incomplete` event (passed in `listing`) is for its windows.
   */
  | { type: 'incomplete'; window: 'tasks'; seen: number; requests: number };

export interface AccountSourceOptions {
  /** The account, required by the API when several are configured. */
  email?: string | undefined;
  /** The media types wanted; every type means one unfiltered window (split by type when capped). */
  mediaTypes: MediaType[];
  /** @default 'auto' */
  taskHistory?: TaskHistoryMode;
  /** Safety stop on the task history's page requests (iterateTasks' `maxRequests`). @default 100 */
  maxTaskRequests?: number | undefined;
  signal?: AbortSignal;
  onEvent?: (e: SourceEvent) => void;
  /** Every task the task-history walk reads (when it walks): see `IterateTasksOptions.onTask`. */
  onTask?: ((task: Task) => void) | undefined;
}

/** The task history's events, as the account stream's: what the accounting and the CLI read. */
function taskEventAsSource(event: TaskEvent, emit: (e: SourceEvent) => void): void {
  switch (event.type) {
    case 'page':
      emit({ type: 'tasks-page', offset: event.offset, tasks: event.rawCount, artifacts: event.artifacts });
      break;
    case 'skipped':
      emit({ type: 'skipped', source: 'tasks', assetId: undefined, reason: event.item.reason });
      break;
    case 'artifact-unusable':
      emit({ type: 'skipped', source: 'tasks', assetId: event.assetId, reason: event.reason });
      break;
    case 'artifact-skipped':
      emit({
        type: 'artifact-skipped',
        assetId: event.assetId,
        taskId: event.taskId,
        reason: event.reason,
      });
      break;
    case 'capped':
      emit({ type: 'capped', window: 'tasks', seen: event.seen });
      break;
    case 'incomplete':
      emit({ type: 'incomplete', window: 'tasks', seen: event.seen, requests: event.requests });
      break;
    case 'request-limit':
      // Always followed by `incomplete`, which says it.
      break;
    case 'drift':
      break;
  }
}

/** Checks a `--task-history` value. */
export function parseTaskHistoryMode(value: string | undefined): TaskHistoryMode | undefined {
  if (value === undefined) return undefined;
  const mode = TASK_HISTORY_MODES.find((m) => m === value.trim());
  if (mode === undefined) {
    throw new UsageError(
      `Expected \`task-history\` to be one of ${TASK_HISTORY_MODES.join(', ')}, got "${value.slice(0, 40)}"`,
    );
  }
  return mode;
}

/**
 * The API filters by type already; this guards against an API that does not, and sorts the task history's
 * artifacts, whose type is inferred. An asset of a type we do not know (or none) is kept when every type is
 * wanted, and goes to `other/`.
 */
export function wanted(mediaType: string | undefined, types: readonly MediaType[]): boolean {
  if (isMediaType(mediaType)) return types.includes(mediaType);
  return types.length === MEDIA_TYPES.length;
}

/** The assets windows to walk: one unfiltered window when every type is wanted (it splits by itself when capped). */
function windowsFor(types: MediaType[]): (MediaType | undefined)[] {
  return types.length === MEDIA_TYPES.length ? [undefined] : types;
}

/**
 * Every wanted asset of one account once (deduped by assetId across the assets windows and the task history):
 * first the assets windows, then, when one of them is capped (or always, on request), the SUCCEEDED tasks'
 * artifacts that no window listed. Only the set of assetIds handed out grows with the account; tasks are read a
 * page at a time.
 */
export async function* iterateAccount(
  client: AssetsClient,
  options: AccountSourceOptions,
): AsyncGenerator<Asset> {
  const { email, signal, onEvent } = options;
  const mode = options.taskHistory ?? 'auto';
  if (!TASK_HISTORY_MODES.includes(mode)) {
    throw new UsageError(`Expected \`taskHistory\` to be one of ${TASK_HISTORY_MODES.join(', ')}`);
  }
  const types = [...new Set(options.mediaTypes)];
  if (types.length === 0 || !types.every(isMediaType)) {
    throw new UsageError(`Expected \`mediaTypes\` to be a list of ${MEDIA_TYPES.join(', ')}`);
  }
  const emit = onEvent ?? (() => {});
  const seen = new Set<string>();
  let capped = false;
  for (const mediaType of windowsFor(types)) {
    const onListing = (event: ListingEvent): void => {
      emit({ type: 'listing', event });
      if (event.type === 'capped' && !event.splitting) {
        capped = true;
        emit({ type: 'capped', window: event.window, seen: event.seen });
      } else if (event.type === 'request-limit' || event.type === 'incomplete') {
        // Cut short, not capped: reported as `incomplete` by the walk itself; the task history may reach the rest.
        // (`incomplete` alone: a drift re-read ran out of requests and the window then ended on a short page.)
        capped = true;
      } else if (event.type === 'skipped') {
        emit({ type: 'skipped', source: 'assets', assetId: event.item.assetId, reason: event.item.reason });
      }
    };
    const assets = iterateAssets(client, {
      email,
      mediaType,
      ...(signal ? { signal } : {}),
      onEvent: onListing,
    });
    for await (const asset of assets) {
      // Several windows of one account can return the same asset.
      if (seen.has(asset.assetId)) continue;
      seen.add(asset.assetId);
      if (wanted(asset.mediaType, types)) yield asset;
    }
  }

  const walk = mode === 'always' || (mode === 'auto' && capped && typeof client.listTasks === 'function');
  if (!walk) return;
  const onTask = (event: TaskEvent): void => taskEventAsSource(event, emit);
  for await (const asset of iterateTasks(client, {
    email,
    seen,
    signal,
    onEvent: onTask,
    onTask: options.onTask,
    maxRequests: options.maxTaskRequests,
  })) {
    if (wanted(asset.mediaType, types)) yield asset;
  }
}
