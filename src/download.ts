import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, fdatasync, promises as fs } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import got, { RequestError } from 'got';
import { AbortError, DownloadError, redactUrl } from './errors.js';
import { ensureDir, fileSize, isDiskError, setAside, toDiskError } from './fsutil.js';
import { backoffDelay, parseRetryAfter, type RateGate, sleep } from './retry.js';
import { urlExpiresAt } from './url-expiry.js';

/** What a `.part` file needs to be continued by a later run, under a fresh URL. */
export interface ResumeState {
  /** Strong ETag, or Last-Modified when there is no strong ETag: what `If-Range` must carry. */
  validator: string;
  /** The full size the server announced. */
  total: number | undefined;
}

/**
 * Where the resume state of one file lives, keyed by assetId and file (never by URL: signatures change every
 * listing). `backup()` keeps it in the manifest journal (one appended line, no extra file per download); the
 * default keeps it in `<dest>.part.json`.
 */
export interface ResumeStore {
  get(): ResumeState | undefined | Promise<ResumeState | undefined>;
  set(state: ResumeState | undefined): void | Promise<void>;
}

interface SidecarState extends ResumeState {
  assetId: string;
  key: string;
}

/** The default store: a small JSON file beside the `.part`. A torn or foreign one is ignored. */
export function sidecarResumeStore(dest: string, assetId: string, key: string): ResumeStore {
  const file = `${dest}.part.json`;
  return {
    async get() {
      try {
        const state = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<SidecarState>;
        if (
          state.assetId === assetId &&
          state.key === key &&
          typeof state.validator === 'string' &&
          state.validator
        ) {
          return {
            validator: state.validator,
            total: typeof state.total === 'number' ? state.total : undefined,
          };
        }
      } catch {
        // Missing or unreadable: the .part cannot be continued safely.
      }
      return undefined;
    },
    async set(state) {
      if (state === undefined) await removeIfExists(file);
      else await fs.writeFile(file, JSON.stringify({ assetId, key, ...state } satisfies SidecarState));
    },
  };
}

export interface DownloadOptions {
  /** Where the file goes once complete (absolute). `<dest>.part` and `<dest>.part.json` are used meanwhile. */
  dest: string;
  /** The URL to fetch; may be replaced through `refreshUrl`. */
  url: string;
  /** Partial state is keyed by assetId + `key` (role and index), never by URL: signatures change every listing. */
  assetId: string;
  key: string;
  /** Bytes the API says the file has (main files); checked along with Content-Length when given. */
  expectedSize?: number | undefined;
  /** Returns a fresh URL for this file (expired or about to expire). */
  refreshUrl?: (() => Promise<string>) | undefined;
  signal?: AbortSignal | undefined;
  /** Shared with the API client: a 429 anywhere slows every worker. */
  gate?: RateGate | undefined;
  /** Attempts after the first for transient failures (reset, timeout, 5xx, short body). @default 5 */
  retries?: number | undefined;
  /** URL refreshes allowed after 403 or near expiry. @default 3 */
  refreshes?: number | undefined;
  /** Idle time, in ms, after which a silent connection counts as stalled. @default 30_000 */
  timeoutMs?: number | undefined;
  /** Base of the backoff, in ms. @default 500 */
  backoffBaseMs?: number | undefined;
  /** Refresh a URL this long before the expiry it carries, in ms. @default 60_000 */
  refreshMarginMs?: number | undefined;
  /** Called with each chunk's length as it is written. Must be cheap. */
  onBytes?: ((bytes: number) => void) | undefined;
  /** Called when a transfer starts: the file's full size when the server says it, and the bytes kept from a .part. */
  onStart?: ((info: { total: number | undefined; offset: number }) => void) | undefined;
  /** Where the resume state lives. @default sidecarResumeStore(dest, assetId, key) */
  resumeStore?: ResumeStore | undefined;
  /**
   * What one run knows of its folders: each folder it has made or read once, with the names in it. Saves a mkdir
   * and a stat per file; safe because a run holds the folder's lock and its own paths are unique.
   */
  knownDirs?: Map<string, Set<string>> | undefined;
  /** Called before each retry. */
  onRetry?: ((info: { attempt: number; delayMs: number; reason: string }) => void) | undefined;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** Bytes that were already in a `.part` and kept. */
  resumedFrom: number;
  attempts: number;
  urlRefreshes: number;
  /** When a different file already stood at `dest`, where it was moved. */
  movedAside: string | undefined;
  /** True when an identical file already stood at `dest` and was kept as is. */
  adopted: boolean;
}

// Separate pools from the API's: many long downloads must not starve listing requests.
const agent = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** A longer Retry-After is capped to this: a misconfigured server must not park the run for a day. */
const MAX_RETRY_AFTER_MS = 60_000;

// Options that never change, normalised once rather than on every request.
const cdn = got.extend({
  decompress: false,
  throwHttpErrors: false,
  retry: { limit: 0 },
  followRedirect: true,
  agent,
});

/** Bytes written between two background flushes of a large file. */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

/** Counts and hashes the bytes flowing to disk without copying them; asks for a flush every SYNC_EVERY_BYTES. */
class HashCounter extends Transform {
  bytes = 0;
  #unsynced = 0;
  constructor(
    readonly hash: Hash,
    readonly onBytes: ((bytes: number) => void) | undefined,
    readonly onSyncPoint: () => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.#unsynced += chunk.length;
    if (this.#unsynced >= SYNC_EVERY_BYTES) {
      this.#unsynced = 0;
      this.onSyncPoint();
    }
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }
}

const syncing = new Set<number>();

/**
 * Starts flushing what a large file has written so far, in the background, while the download goes on. Without
 * it, gigabytes of dirty pages wait for the final fsync, so the disk idles during the transfer and then holds up
 * the end (large-file backups took ~25 % longer). Best effort: the fsync at close is what completeness rests on.
 */
function syncSoFar(fd: number | undefined): void {
  if (fd === undefined || syncing.has(fd)) return;
  syncing.add(fd);
  fdatasync(fd, () => syncing.delete(fd));
}

async function removeIfExists(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(file, hash);
  return hash.digest('hex');
}

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The validator `If-Range` may carry. Weak ETags never match an If-Range on real CDNs, so they are not used. */
function validatorOf(response: IncomingMessage): string | undefined {
  const etag = header(response, 'etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return header(response, 'last-modified');
}

function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number | undefined } | undefined {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

const retryable = (code: string, message: string, status?: number) =>
  new DownloadError(code, message, { retryable: true, status });
const final = (code: string, message: string, status?: number) =>
  new DownloadError(code, message, { retryable: false, status });

class Expired extends Error {}

/**
 * Downloads one file: streams into `<dest>.part`, checks the exact byte count, fsyncs, renames. A leftover `.part`
 * is continued with `Range` + `If-Range` (keyed by assetId, so a fresh URL can continue it); a 200 answer to that
 * means the object changed, and the file is written again from byte 0. A non-2xx body is never written to disk.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const {
    dest,
    assetId,
    key,
    expectedSize,
    refreshUrl,
    signal,
    gate,
    retries = 5,
    refreshes = 3,
    timeoutMs = 30_000,
    backoffBaseMs = 500,
    refreshMarginMs = 60_000,
    onBytes,
    onRetry,
  } = options;
  const part = `${dest}.part`;
  const store = options.resumeStore ?? sidecarResumeStore(dest, assetId, key);
  let url = options.url;
  let attempts = 0;
  let failures = 0;
  let urlRefreshes = 0;
  let freshUrl = false;
  let resumedFrom = 0;

  const refresh = async (why: string): Promise<void> => {
    if (!refreshUrl || urlRefreshes >= refreshes) {
      throw final('ERR_URL_EXPIRED', `the download URL ${why} and no fresh one could be had`, 403);
    }
    urlRefreshes++;
    url = await refreshUrl();
    freshUrl = true;
  };

  const dir = path.dirname(dest);
  let names = options.knownDirs?.get(dir);
  if (names === undefined) {
    try {
      await ensureDir(dir);
      names = new Set(await fs.readdir(dir));
    } catch (error) {
      if (isDiskError(error)) throw toDiskError(error, dir);
      throw error;
    }
    options.knownDirs?.set(dir, names);
  }
  const dirNames = options.knownDirs ? names : undefined;

  for (;;) {
    if (signal?.aborted) throw new AbortError();
    const expiresAt = urlExpiresAt(url);
    // Only a URL from the listing is refreshed ahead of time: a fresh one that is short-lived anyway is used as it
    // is (refreshing it again would only burn the refresh budget), and a 403 still gets it replaced.
    if (!freshUrl && expiresAt !== undefined && expiresAt - Date.now() < refreshMarginMs && refreshUrl) {
      await refresh('is about to expire');
    }
    attempts++;
    try {
      const result = await attempt();
      return { ...result, attempts, urlRefreshes, resumedFrom };
    } catch (error) {
      if (signal?.aborted) throw new AbortError();
      if (error instanceof Expired) {
        await refresh('expired (403)');
        continue;
      }
      if (isDiskError(error)) throw toDiskError(error, dest);
      const failure =
        error instanceof DownloadError
          ? error
          : error instanceof RequestError
            ? retryable(
                'ERR_DOWNLOAD_NETWORK',
                `${error.code ?? 'network error'}: ${error.message.split('\n')[0]}`,
              )
            : retryable('ERR_DOWNLOAD_IO', (error as Error).message);
      failures++;
      if (!failure.retryable || failures > retries) throw failure;
      const delayMs = failure.retryAfterMs ?? backoffDelay(failures, { baseMs: backoffBaseMs });
      onRetry?.({ attempt: failures, delayMs, reason: failure.message });
      await sleep(delayMs, signal);
    }
  }

  async function attempt(): Promise<Omit<DownloadResult, 'attempts' | 'urlRefreshes' | 'resumedFrom'>> {
    // got leaves its abort listener on the signal it is given; a per-attempt signal keeps the run's shared one
    // from collecting thousands of listeners (addEventListener is linear in their number).
    const local = new AbortController();
    const onAbort = (): void => local.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await attemptWith(local.signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function attemptWith(
    signal: AbortSignal,
  ): Promise<Omit<DownloadResult, 'attempts' | 'urlRefreshes' | 'resumedFrom'>> {
    await gate?.wait(signal);
    // No resume state means nothing to continue: a stray .part is simply truncated, without a stat.
    const state = await store.get();
    const partBytes = state ? ((await fileSize(part)) ?? 0) : 0;
    const offset = state && (state.total === undefined || partBytes < state.total) ? partBytes : 0;
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0 && state) {
      headers.range = `bytes=${offset}-`;
      headers['if-range'] = state.validator;
    }
    const stream = cdn.stream(url, {
      headers,
      timeout: { connect: Math.min(timeoutMs, 15_000), response: timeoutMs, socket: timeoutMs },
      signal,
    });
    // Wait for the status before anything touches the disk: an error page must never become a file.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
    const status = response.statusCode ?? 0;
    if (status !== 200 && status !== 206) {
      stream.destroy();
      const where = redactUrl(url);
      if (status === 403) throw new Expired();
      if (status === 416) {
        // The .part claims more than the server has: start again rather than call it complete.
        await removeIfExists(part);
        await store.set(undefined);
        throw retryable('ERR_DOWNLOAD_RANGE', `${where} answered 416 to a resume; starting over`, 416);
      }
      if (status === 429) {
        const wait = parseRetryAfter(header(response, 'retry-after'));
        const retryAfterMs = wait === undefined ? undefined : Math.min(wait, MAX_RETRY_AFTER_MS);
        // Everyone waits, not just this worker: the gate is shared with the other downloads and the listing.
        if (retryAfterMs !== undefined) gate?.pause(retryAfterMs);
        throw new DownloadError('ERR_DOWNLOAD_RATE_LIMITED', `${where} answered 429`, {
          retryable: true,
          status: 429,
          retryAfterMs,
        });
      }
      if (status === 404 || status === 410)
        throw final('ERR_DOWNLOAD_GONE', `${where} answered ${status}: the file is gone`, status);
      if (status >= 500 || status === 408)
        throw retryable('ERR_DOWNLOAD_HTTP', `${where} answered ${status}`, status);
      throw final('ERR_DOWNLOAD_HTTP', `${where} answered ${status}`, status);
    }

    const hash = createHash('sha256');
    let start = 0;
    let total: number | undefined;
    const length = header(response, 'content-length');
    const contentLength = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    if (status === 206) {
      const range = parseContentRange(header(response, 'content-range'));
      if (!range || range.start !== offset || (state?.total !== undefined && range.total !== state.total)) {
        stream.destroy();
        await removeIfExists(part);
        await store.set(undefined);
        throw retryable(
          'ERR_DOWNLOAD_RANGE',
          'the server answered a different range than asked; starting over',
        );
      }
      start = offset;
      total = range.total;
      await hashFile(part, hash);
      resumedFrom = Math.max(resumedFrom, offset);
    } else {
      total = contentLength;
    }
    if (expectedSize !== undefined && total !== undefined && total !== expectedSize) {
      stream.destroy();
      throw final(
        'ERR_DOWNLOAD_SIZE',
        `the server offers ${total} bytes but the API says the file has ${expectedSize}; not saved`,
      );
    }
    if (status === 200) {
      // Recorded before the first byte lands in the .part, so a kill at any later instant can resume it.
      const validator = validatorOf(response);
      await store.set(validator ? { validator, total } : undefined);
    }

    options.onStart?.({ total, offset: start });
    // `flush` fsyncs before close: the bytes are on disk before the rename can expose the file.
    const file = createWriteStream(part, {
      flags: status === 206 ? 'a' : 'w',
      highWaterMark: 1 << 16,
      flush: true,
    });
    let fd: number | undefined;
    file.once('open', (opened: number) => {
      fd = opened;
    });
    file.once('close', () => {
      fd = undefined;
    });
    const counter = new HashCounter(hash, onBytes, () => syncSoFar(fd));
    await pipeline(stream, counter, file);
    const written = start + counter.bytes;
    const want = total ?? expectedSize;
    if (want !== undefined && written !== want) {
      // Keep the .part: the next attempt continues it with Range.
      throw retryable('ERR_DOWNLOAD_SHORT', `got ${written} of ${want} bytes`);
    }
    const sha256 = hash.digest('hex');
    const { movedAside, adopted } = await place(part, dest, sha256, dirNames);
    await store.set(undefined);
    // No fsync of the folder: if a crash loses the rename, the next run finds the file missing and fetches it
    // again, because the manifest is always checked against the disk.
    return { bytes: written, sha256, movedAside, adopted };
  }
}

/**
 * Renames the verified `.part` to `dest`. A file already at `dest` (one the manifest does not know) is never
 * overwritten: kept if identical, else moved aside to `<stem>.conflict-N.<ext>`.
 */
async function place(
  part: string,
  dest: string,
  sha256: string,
  dirNames: Set<string> | undefined,
): Promise<{ movedAside: string | undefined; adopted: boolean }> {
  const name = path.basename(dest);
  // With the folder's listing at hand, a name it never held needs no stat.
  const mayExist = dirNames === undefined || dirNames.has(name);
  dirNames?.add(name);
  if (mayExist && (await fileSize(dest)) !== undefined) {
    if ((await sha256File(dest)) === sha256) {
      await removeIfExists(part);
      return { movedAside: undefined, adopted: true };
    }
    const aside = await setAside(dest, 'conflict');
    await fs.rename(part, dest);
    return { movedAside: aside, adopted: false };
  }
  await fs.rename(part, dest);
  return { movedAside: undefined, adopted: false };
}
