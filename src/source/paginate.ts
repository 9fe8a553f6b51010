import { setMaxListeners } from 'node:events';
import type { AssetsClient, ListPage } from '../api/client.js';
import { MAX_LIMIT, MAX_OFFSET } from '../api/client.js';
import type { SkippedItem } from '../api/parse.js';
import { AbortError, UsageError } from '../errors.js';
import type { Asset, MediaType } from '../types.js';
import { isMediaType, MEDIA_TYPES } from '../types.js';

/** A window is one offset range the API can walk: all media types, or one of them. */
export type WindowName = MediaType | 'all';

export type ListingEvent =
  | { type: 'page'; window: WindowName; offset: number; rawCount: number; fresh: number }
  | { type: 'skipped'; window: WindowName; offset: number; item: SkippedItem }
  | { type: 'drift'; window: WindowName; offset: number; reread: number }
  | { type: 'capped'; window: WindowName; seen: number; splitting: boolean }
  | { type: 'request-limit'; window: WindowName; requests: number }
  /**
   * The window's walk was cut short (the request budget ran out, while walking or re-reading after drift): assets
   * of this window may be missing from what was yielded. `seen`: items of this window that were listed.
   */
  | { type: 'incomplete'; window: WindowName; seen: number; requests: number };

export interface IterateOptions {
  /** The account, required by the API when several are configured. */
  email?: string | undefined;
  /** Only this media type. Without it every type is listed, with per-type windows when the full one is capped. */
  mediaType?: MediaType | undefined;
  /** Items per request, 1..50. @default 50 */
  pageSize?: number | undefined;
  /** Safety stop on page requests for the whole walk, so a misbehaving API cannot keep us looping. @default 200 */
  maxRequests?: number | undefined;
  /**
   * Pages requested ahead of the one being consumed, once the first page came back full. More pages in flight
   * shorten a long listing on a slow API; past the end of the account they are wasted requests (at most this many
   * per window). @default 3
   */
  lookahead?: number | undefined;
  /** Walk one window per media type when the unfiltered window is capped. @default true */
  splitWhenCapped?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Reports pages, skipped items, drift, capped windows and walks cut short (`incomplete`) as they happen. */
  onEvent?: ((event: ListingEvent) => void) | undefined;
}

/**
 * Yields every asset of the account once, newest first, walking useapi.net's offset window (offsets 0..1000,
 * pages of at most 50).
 *
 * Consecutive pages overlap by one item (offsets 0, 49, 98, ...): the last id of a page must reappear in the next.
 * When it does not, assets were deleted while walking and every later item shifted towards offset 0, so the page
 * before is read again and nothing shifted over the boundary is lost. Additions shift items the other way and are
 * caught by deduplication by assetId. The next page is requested before the current one is handed out (a lookahead
 * of one), and leaving the loop (`break`, an error, the signal) cancels what is still in flight.
 */
export async function* iterateAssets(
  client: AssetsClient,
  options: IterateOptions = {},
): AsyncGenerator<Asset> {
  const {
    email,
    mediaType,
    pageSize = MAX_LIMIT,
    maxRequests = 200,
    splitWhenCapped = true,
    lookahead = 3,
    onEvent,
  } = options;
  if (!Number.isInteger(lookahead) || lookahead < 1 || lookahead > 8) {
    throw new UsageError(`Expected \`lookahead\` to be an integer from 1 to 8, got ${String(lookahead)}`);
  }
  if (!Number.isInteger(pageSize) || pageSize < 2 || pageSize > MAX_LIMIT) {
    // 2, not 1: a page must hold the overlap item plus at least one new one.
    throw new UsageError(
      `Expected \`pageSize\` to be an integer from 2 to ${MAX_LIMIT}, got ${String(pageSize)}`,
    );
  }
  if (mediaType !== undefined && !isMediaType(mediaType)) {
    throw new UsageError(
      `Expected \`mediaType\` to be one of ${MEDIA_TYPES.join(', ')}, got "${String(mediaType)}"`,
    );
  }
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const outer = options.signal;
  const onOuterAbort = (): void => controller.abort();
  if (outer?.aborted) throw new AbortError();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const seen = new Set<string>();
  const budget = { requests: 0, max: maxRequests };
  // Everything but the window is shared: one `seen` set dedupes across windows, one budget bounds them all.
  const walk = (mediaType: MediaType | undefined) =>
    walkWindow(client, {
      window: mediaType ?? 'all',
      email,
      mediaType,
      pageSize,
      lookahead,
      seen,
      budget,
      signal: controller.signal,
      onEvent,
    });
  try {
    const first = yield* walk(mediaType);
    if (first.capped) {
      const splitting = mediaType === undefined && splitWhenCapped;
      onEvent?.({ type: 'capped', window: mediaType ?? 'all', seen: seen.size, splitting });
      if (splitting) {
        // The three type windows are walked side by side: on a slow API the listing takes as long as the
        // longest of them, not their sum.
        const walks = MEDIA_TYPES.map((type) => walk(type));
        const results = yield* merge(walks, () => controller.abort());
        results.forEach((result, i) => {
          if (result.capped) {
            onEvent?.({ type: 'capped', window: MEDIA_TYPES[i]!, seen: result.count, splitting: false });
          }
        });
      }
    }
  } finally {
    controller.abort();
    outer?.removeEventListener('abort', onOuterAbort);
  }
  if (outer?.aborted) throw new AbortError();
}

/**
 * Yields from several generators as their items arrive, and returns their return values in order. Leaving early
 * closes every one of them, so their `finally` blocks cancel what they have in flight.
 */
async function* merge<T, R>(generators: AsyncGenerator<T, R>[], cancel: () => void): AsyncGenerator<T, R[]> {
  const results: R[] = [];
  const step = (i: number) => generators[i]!.next().then((result) => ({ i, result }));
  const pending = new Map(generators.map((_, i) => [i, step(i)]));
  try {
    while (pending.size > 0) {
      const { i, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(i);
        results[i] = result.value;
      } else {
        pending.set(i, step(i));
        yield result.value;
      }
    }
  } finally {
    // Leaving early (break, an error): cancel the requests in flight first, so the steps below settle at once.
    if (pending.size > 0) cancel();
    // A generator that is mid-step cannot be returned until that step settles; wait for it, then close it.
    await Promise.allSettled(
      generators.map(async (generator, i) => {
        if (pending.has(i)) await pending.get(i)!.catch(() => {});
        await generator.return(undefined as R).catch(() => {});
      }),
    );
  }
  return results;
}

interface WalkOptions {
  window: WindowName;
  lookahead: number;
  email: string | undefined;
  mediaType: MediaType | undefined;
  pageSize: number;
  seen: Set<string>;
  budget: { requests: number; max: number };
  signal: AbortSignal;
  onEvent: ((event: ListingEvent) => void) | undefined;
}

interface WalkResult {
  capped: boolean;
  /** Items of this window, new or not. */
  count: number;
  /** The request budget ran out before the window was read to its end (or a drift re-read was cut). */
  incomplete: boolean;
}

async function* walkWindow(client: AssetsClient, options: WalkOptions): AsyncGenerator<Asset, WalkResult> {
  const { window, email, mediaType, pageSize, lookahead, budget, signal, onEvent } = options;
  const inFlight: { offset: number; page: Promise<ListPage> | undefined; controller: AbortController }[] = [];
  const fetchPage = (offset: number, pageSignal: AbortSignal): Promise<ListPage> | undefined => {
    if (budget.requests >= budget.max) return undefined;
    budget.requests++;
    const promise = client.listPage({ offset, limit: pageSize, email, mediaType, signal: pageSignal });
    // A prefetched page may be abandoned; its rejection must not surface as unhandled.
    promise.catch(() => {});
    return promise;
  };
  const walk: WindowWalk = { options, windowIds: new Set<string>(), fetchPage };
  // Offsets are known in advance (each page starts on the last item of the one before), so the next pages can
  // be requested before this one is consumed.
  let nextOffset: number | undefined = 0;
  const request = (): void => {
    if (nextOffset === undefined) return;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const page = fetchPage(nextOffset, controller.signal);
    page?.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
    inFlight.push({ offset: nextOffset, page, controller });
    nextOffset = nextOffset >= MAX_OFFSET ? undefined : Math.min(nextOffset + pageSize - 1, MAX_OFFSET);
  };

  let anchor: string | undefined;
  let anchorPage: (string | undefined)[] = [];
  // Set when a drift re-read could not be finished for lack of budget: items may have slipped past.
  let cut = false;
  const result = (capped: boolean, incomplete: boolean): WalkResult => {
    if (incomplete) {
      onEvent?.({ type: 'incomplete', window, seen: walk.windowIds.size, requests: budget.requests });
    }
    return { capped, count: walk.windowIds.size, incomplete };
  };
  request();
  try {
    for (;;) {
      const head = inFlight.shift();
      if (head?.page === undefined) {
        onEvent?.({ type: 'request-limit', window, requests: budget.requests });
        return result(false, true);
      }
      const { offset } = head;
      const page = await head.page;
      const full = page.rawCount >= pageSize;
      // Only a full page says there is more: then keep `lookahead` pages on their way.
      if (full) while (inFlight.length < lookahead && nextOffset !== undefined) request();

      // An empty page after a full one is the same sign: only deletions can have emptied it.
      if (anchor !== undefined && !page.rawIds.includes(anchor)) {
        const finished = yield* rereadBefore(walk, offset, anchorPage);
        if (!finished) cut = true;
      }
      const count = yield* fresh(walk, page, offset);
      onEvent?.({ type: 'page', window, offset, rawCount: page.rawCount, fresh: count });
      if (!full) return result(false, cut);
      if (offset >= MAX_OFFSET) return result(true, cut);
      anchor = page.rawIds.at(-1);
      anchorPage = page.rawIds;
    }
  } finally {
    // Pages requested past the end, or abandoned by `break`, are cancelled.
    for (const pending of inFlight) pending.controller.abort();
  }
}

/** What the steps of one window's walk share. */
interface WindowWalk {
  options: WalkOptions;
  /** Items of this window, new or not. */
  windowIds: Set<string>;
  /** The page at `offset`, requested now; undefined once the request budget is spent. */
  fetchPage: (offset: number, pageSignal: AbortSignal) => Promise<ListPage> | undefined;
}

/**
 * The previous page's last item did not come back: items were deleted above this offset and everything shifted
 * left, so some items now sit before `offset`. Read the stretch before it again, stepping back until a page shows
 * an item of the previous page: from there on, nothing can have slipped through. Reports the drift; returns false
 * when the budget ran out before that page was found.
 */
async function* rereadBefore(
  walk: WindowWalk,
  offset: number,
  anchorPage: (string | undefined)[],
): AsyncGenerator<Asset, boolean> {
  const { window, pageSize, signal, onEvent } = walk.options;
  const previous = new Set(anchorPage);
  let finished = true;
  let count = 0;
  for (let back = offset; back > 0; ) {
    back = Math.max(0, back - (pageSize - 1));
    // Awaited at once, so the walk's own signal is enough to cancel it.
    const reread = walk.fetchPage(back, signal);
    if (reread === undefined) {
      finished = false;
      break;
    }
    const earlier = await reread;
    count += yield* fresh(walk, earlier, back);
    if (earlier.rawIds.some((id) => id !== undefined && previous.has(id))) break;
  }
  onEvent?.({ type: 'drift', window, offset, reread: count });
  return finished;
}

/** The page's assets not handed out before (`seen`, shared by every window); its skipped items reported. */
function* fresh(walk: WindowWalk, page: ListPage, offset: number): Generator<Asset, number> {
  const { window, seen, onEvent } = walk.options;
  let count = 0;
  for (const item of page.skipped) onEvent?.({ type: 'skipped', window, offset, item });
  for (const asset of page.assets) {
    walk.windowIds.add(asset.assetId);
    if (seen.has(asset.assetId)) continue;
    seen.add(asset.assetId);
    count++;
    yield asset;
  }
  return count;
}
