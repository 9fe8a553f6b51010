// src/api/: the useapi.net client. One request at a time: auth, timeouts, retries, the shared 429 gate, typed
// errors and the parsing of what comes back. Imports nothing of the tool above it (no walks, no disk, no run).
import { MalformedResponseError, UsageError } from '../errors.js';
import { RateGate, type RetryInfo } from '../retry.js';
import type { Asset, MediaType } from '../types.js';
import { isMediaType, MEDIA_TYPES } from '../types.js';
import { parseAsset, type SkippedItem } from './parse.js';
import { isTaskStatus, parseTask, TASK_STATUSES, type Task, type TaskStatus } from './parse-task.js';
import { ApiRequester } from './request.js';

export const DEFAULT_BASE_URL = 'https://api.useapi.net';
export const MAX_OFFSET = 1000;
export const MAX_LIMIT = 50;
/** The task history takes pages of up to 1000 (offset still 0..1000): it reaches the newest 2,000 tasks. */
export const MAX_TASK_LIMIT = 1000;

export interface ClientOptions {
  /** The useapi.net API token. Sent only in the Authorization header; never printed. */
  token: string;
  /** @default 'https://api.useapi.net' */
  baseUrl?: string | undefined;
  /** Milliseconds to wait for the answer of one request. @default 30_000 */
  timeoutMs?: number | undefined;
  /** Retries of one request after a 429, 5xx, malformed answer or network error. @default 5 */
  retries?: number | undefined;
  /** Longest `Retry-After` obeyed, in ms; a longer one is capped to this. @default 60_000 */
  maxRetryAfterMs?: number | undefined;
  /** Base of the exponential backoff, in ms. @default 500 */
  backoffBaseMs?: number | undefined;
  /** The gate shared with downloads so a 429 slows every worker. @default a new RateGate */
  gate?: RateGate | undefined;
  /** Called before each retry; for progress output. */
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

export type { RetryInfo } from '../retry.js';

export interface ListPageParams {
  offset: number;
  limit: number;
  email?: string | undefined;
  mediaType?: MediaType | undefined;
  signal?: AbortSignal | undefined;
}

export interface ListPage {
  /** Valid assets, in the API's order. */
  assets: Asset[];
  /** Length of the array the API answered, valid or not: a page is short when this is below `limit`. */
  rawCount: number;
  /** The id of every item answered, valid or not, in order (undefined where an item had none). */
  rawIds: (string | undefined)[];
  /** Items that could not be used, with the reason. */
  skipped: SkippedItem[];
}

export interface GetAssetParams {
  email?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface ListTasksParams {
  offset: number;
  limit: number;
  /** Only tasks in these states; the API's own filter (comma-separated in the query). */
  statuses?: readonly TaskStatus[] | undefined;
  email?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface TaskPage {
  /** Usable tasks, in the API's order (newest first), artifacts parsed. */
  tasks: Task[];
  /** Length of the array the API answered: a page is short when this is below `limit`. */
  rawCount: number;
  /** The id of every task answered, valid or not, in order (undefined where a task had none). */
  rawIds: (string | undefined)[];
  /** Tasks that could not be used, with the reason. */
  skipped: SkippedItem[];
}

export interface GetTaskParams {
  email?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface AssetsClient {
  /** One page of `GET /v1/runwayml/assets/`. */
  listPage(params: ListPageParams): Promise<ListPage>;
  /** `GET /v1/runwayml/assets/{assetId}`: one asset with fresh URLs. 404 (ApiError) when it is gone. */
  getAsset(assetId: string, params?: GetAssetParams): Promise<Asset>;
  /**
   * One page of `GET /v1/runwayml/tasks/`, the task history. Optional so that a custom client written for the
   * assets endpoints still fits; `createClient` always has it.
   */
  listTasks?(params: ListTasksParams): Promise<TaskPage>;
  /** `GET /v1/runwayml/tasks/{taskId}`: one task with fresh artifact URLs. 404 (ApiError) when unknown. */
  getTask?(taskId: string, params?: GetTaskParams): Promise<Task>;
  /** The rate gate this client obeys; pass it to downloads so they slow down together. */
  readonly gate: RateGate;
  /** Requests sent, retries included. */
  readonly requestCount: number;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

/** Checks a token and base URL as `createClient` would, without creating anything. Throws UsageError. */
export function checkClientOptions(options: Pick<ClientOptions, 'token' | 'baseUrl'>): void {
  validateToken(options.token);
  validateBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
}

function validateToken(token: unknown): string {
  if (typeof token !== 'string' || token.trim() === '') {
    throw new UsageError('No API token: set USEAPI_TOKEN to your useapi.net token (see README, "Token")');
  }
  // A newline in a header value would be a header injection; got would throw with the value in the message.
  if (/[\s\u0000-\u001f\u007f]/.test(token.trim())) {
    throw new UsageError('The API token contains whitespace or control characters; check USEAPI_TOKEN');
  }
  return token.trim();
}

function validateBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`Expected \`base-url\` to be an http(s) URL, got "${baseUrl.slice(0, 100)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Expected \`base-url\` to be an http(s) URL, got "${baseUrl.slice(0, 100)}"`);
  }
  if (url.username || url.password) {
    throw new UsageError('`base-url` must not carry credentials; use USEAPI_TOKEN');
  }
  return url;
}

export function validateListParams(params: ListPageParams): void {
  const { offset, limit, email, mediaType } = params;
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new UsageError(
      `Expected \`offset\` to be an integer from 0 to ${MAX_OFFSET}, got ${String(offset)}`,
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new UsageError(`Expected \`limit\` to be an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}`);
  }
  if (mediaType !== undefined && !isMediaType(mediaType)) {
    throw new UsageError(
      `Expected \`mediaType\` to be one of ${MEDIA_TYPES.join(', ')}, got "${String(mediaType)}"`,
    );
  }
  validateEmail(email);
}

function validateEmail(email: string | undefined): void {
  if (email !== undefined && (typeof email !== 'string' || email.trim() === '' || /[\s/]/.test(email))) {
    throw new UsageError(`Expected \`email\` to be an account email, got "${String(email).slice(0, 100)}"`);
  }
}

export function validateTaskParams(params: ListTasksParams): void {
  const { offset, limit, statuses, email } = params;
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new UsageError(
      `Expected \`offset\` to be an integer from 0 to ${MAX_OFFSET}, got ${String(offset)}`,
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TASK_LIMIT) {
    throw new UsageError(
      `Expected \`limit\` to be an integer from 1 to ${MAX_TASK_LIMIT}, got ${String(limit)}`,
    );
  }
  if (
    statuses !== undefined &&
    (!Array.isArray(statuses) || statuses.length === 0 || !statuses.every(isTaskStatus))
  ) {
    throw new UsageError(
      `Expected \`statuses\` to be a non-empty list of ${TASK_STATUSES.join(', ')}, got ${JSON.stringify(statuses)?.slice(0, 100)}`,
    );
  }
  validateEmail(email);
}

/** Creates a client for useapi.net's RunwayML assets endpoints. Validates the token and base URL at once. */
export function createClient(options: ClientOptions): AssetsClient {
  const token = validateToken(options.token);
  const base = validateBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
  const {
    timeoutMs = 30_000,
    retries = 5,
    maxRetryAfterMs = 60_000,
    backoffBaseMs = 500,
    gate = new RateGate(),
    onRetry,
  } = options;
  const requester = new ApiRequester({
    base,
    token,
    timeoutMs,
    retries,
    maxRetryAfterMs,
    backoffBaseMs,
    gate,
    onRetry,
  });
  const { host } = requester;

  return {
    gate,
    get requestCount() {
      return requester.requestCount;
    },
    close() {
      requester.close();
    },
    async listPage(params) {
      validateListParams(params);
      const search = new URLSearchParams({ offset: String(params.offset), limit: String(params.limit) });
      if (params.email !== undefined) search.set('email', params.email);
      if (params.mediaType !== undefined) search.set('mediaType', params.mediaType);
      return assetPage(await requester.get('v1/runwayml/assets/', search, params.signal), host);
    },
    async getAsset(assetId, params = {}) {
      if (typeof assetId !== 'string' || assetId.trim() === '') {
        throw new UsageError('Expected `assetId` to be a non-empty string');
      }
      const path = `v1/runwayml/assets/${encodeURIComponent(assetId)}`;
      const body = await requester.get(path, emailSearch(params.email), params.signal);
      const parsed = parseAsset(body, 0);
      if (!parsed.ok) {
        throw new MalformedResponseError(`${host} answered an unusable asset: ${parsed.skipped.reason}`);
      }
      return parsed.asset;
    },
    async listTasks(params) {
      validateTaskParams(params);
      const search = new URLSearchParams({ offset: String(params.offset), limit: String(params.limit) });
      if (params.statuses !== undefined) search.set('statuses', [...new Set(params.statuses)].join(','));
      if (params.email !== undefined) search.set('email', params.email);
      return taskPage(await requester.get('v1/runwayml/tasks/', search, params.signal), host);
    },
    async getTask(taskId, params = {}) {
      if (typeof taskId !== 'string' || taskId.trim() === '') {
        throw new UsageError('Expected `taskId` to be a non-empty string');
      }
      validateEmail(params.email);
      const path = `v1/runwayml/tasks/${encodeURIComponent(taskId)}`;
      const body = await requester.get(path, emailSearch(params.email), params.signal);
      const parsed = parseTask(body, 0);
      if (!parsed.ok) {
        throw new MalformedResponseError(`${host} answered an unusable task: ${parsed.skipped.reason}`);
      }
      return parsed.task;
    },
  };
}

/** The query of a single-item lookup: the account's email, when given. */
function emailSearch(email: string | undefined): URLSearchParams {
  const search = new URLSearchParams();
  if (email !== undefined) search.set('email', email);
  return search;
}

/** A page of the assets listing from its JSON: every item parsed, the unusable ones kept aside with the reason. */
function assetPage(body: unknown, host: string): ListPage {
  if (!Array.isArray(body)) {
    throw new MalformedResponseError(`${host} answered JSON that is not a list of assets`);
  }
  const page: ListPage = { assets: [], rawCount: body.length, rawIds: [], skipped: [] };
  body.forEach((item, index) => {
    const parsed = parseAsset(item, index);
    if (parsed.ok) page.assets.push(parsed.asset);
    else page.skipped.push(parsed.skipped);
    page.rawIds.push(parsed.ok ? parsed.asset.assetId : parsed.skipped.assetId);
  });
  return page;
}

/** A page of the task history from its JSON: every task parsed, the unusable ones kept aside with the reason. */
function taskPage(body: unknown, host: string): TaskPage {
  if (!Array.isArray(body)) {
    throw new MalformedResponseError(`${host} answered JSON that is not a list of tasks`);
  }
  const page: TaskPage = { tasks: [], rawCount: body.length, rawIds: [], skipped: [] };
  body.forEach((item, index) => {
    const parsed = parseTask(item, index);
    if (parsed.ok) page.tasks.push(parsed.task);
    else page.skipped.push(parsed.skipped);
    page.rawIds.push(parsed.ok ? parsed.task.taskId : undefined);
  });
  return page;
}
