/** The simulator's public option, view and stats types, and the checks on the knobs that can change at run time. */
import type { CatalogOptions, FileRole } from './catalog.js';

/** After every `every` successful requests, the next `burst` requests answer 429 with `Retry-After`. */
export interface RateLimitOptions {
  every: number;
  burst: number;
  retryAfterSeconds: number;
}

/** Probabilities (0..1) per listing request. */
export interface ListFaultOptions {
  /** Answer 500, 502, 503 or 504 with a JSON error. */
  status5xx?: number;
  /** Answer 200 with an HTML error page, as a broken proxy does. */
  malformed?: number;
}

/** Probabilities (0..1) per CDN GET; at most one fault per request. */
export interface CdnFaultOptions {
  /** Send the headers and about half the body, then reset the connection. */
  reset?: number;
  /** Send the headers (full Content-Length) and about half the body, then close the connection cleanly. */
  short?: number;
  /** Answer 503. */
  status5xx?: number;
  /** Send the headers and some bytes, then nothing for `stallMs`, then the rest. */
  stall?: number;
  /** The most faults one file (asset id + role + index) ever receives, so that retries end up succeeding. @default 2 */
  maxPerFile?: number;
  /** @default 60000 */
  stallMs?: number;
}

/** Every Nth valid listing request changes the account before it is answered. */
export interface DriftOptions {
  /** Insert a brand-new newest asset. */
  insertEvery?: number;
  /** Delete the asset in the middle of the list. */
  deleteEvery?: number;
}

/** Behaviour that `Simulator.configure` can change while the simulator runs. `undefined` switches a fault off. */
export interface SimulatorKnobs {
  /** Lifetime of the signed CDN URLs handed out from now on. @default 3600 */
  urlTtlSeconds?: number;
  /** Delay before every listing and single-asset answer. @default 0 */
  listLatencyMs?: number;
  /** Pace each CDN response body to this rate; `undefined` means as fast as possible. @default undefined */
  cdnBytesPerSecond?: number | undefined;
  /** `false`: no `Accept-Ranges` header, and `Range` is ignored. @default true */
  acceptRanges?: boolean;
  /** Send `ETag: W/"…"`, which (like nginx and CloudFront) never satisfies `If-Range`. @default false */
  weakEtags?: boolean;
  /** Rate limit of the listing and single-asset endpoints (one shared counter). @default undefined */
  rateLimit?: RateLimitOptions | undefined;
  /** Rate limit of the CDN. @default undefined */
  cdnRateLimit?: RateLimitOptions | undefined;
  listFaults?: ListFaultOptions | undefined;
  cdnFaults?: CdnFaultOptions | undefined;
  drift?: DriftOptions | undefined;
}

export interface SimulatorOptions extends CatalogOptions, SimulatorKnobs {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** The Bearer token the API accepts. @default 'sim-token' */
  token?: string;
}

export interface ResolvedKnobs {
  urlTtlSeconds: number;
  listLatencyMs: number;
  cdnBytesPerSecond: number | undefined;
  acceptRanges: boolean;
  weakEtags: boolean;
  rateLimit: RateLimitOptions | undefined;
  cdnRateLimit: RateLimitOptions | undefined;
  listFaults: ListFaultOptions | undefined;
  cdnFaults: CdnFaultOptions | undefined;
  drift: DriftOptions | undefined;
}

/** What a test needs to know about one file to fetch it and check its bytes. */
export interface SimFileView {
  role: FileRole;
  index: number;
  ext: string;
  size: number;
  version: number;
  /** Pass to `fileContent`, `fileBytes` or `fileSha256` together with `size`. */
  seed: string;
  /** The strong ETag, quotes included (the server prefixes `W/` when `weakEtags` is on). */
  etag: string;
  /** As sent in `Last-Modified`. */
  lastModified: string;
  contentType: string;
  /** The CDN path, without the signature. */
  path: string;
}

export interface SimAssetView {
  email: string;
  assetId: string;
  id: string;
  /** `undefined` when the API item has no `name`. */
  name: string | undefined;
  mediaType: string;
  createdAt: string;
  updatedAt: string;
  /** The main file's size, as in the API's `fileSize`. */
  fileSize: number;
  /** The main file first, then previews in `previewUrls` order. */
  files: SimFileView[];
}

export type FaultKind = 'list5xx' | 'listMalformed' | 'reset' | 'short' | 'cdn5xx' | 'stall';

export interface SimulatorStats {
  listRequests: number;
  singleRequests: number;
  /** Every CDN request, HEAD and refused ones included. */
  cdnRequests: number;
  /** Body bytes handed to CDN sockets. */
  cdnBytes: number;
  status429: number;
  /** CDN refusals: expired or badly signed URLs. */
  status403: number;
  faultsInjected: number;
  faultsByKind: Record<FaultKind, number>;
  /** CDN answers by HTTP status. */
  cdnStatuses: Record<number, number>;
  /** The query string of every listing request, in arrival order. */
  listQueries: string[];
  /** The query string of every task-history request (`task/<id>` for one task), in arrival order. */
  taskQueries: string[];
  /** Every CDN request as it arrived (ms since the epoch) and the status it got, for timing checks. */
  cdnLog: { at: number; status: number }[];
}

export function emptyStats(): SimulatorStats {
  return {
    listRequests: 0,
    singleRequests: 0,
    cdnRequests: 0,
    cdnBytes: 0,
    status429: 0,
    status403: 0,
    faultsInjected: 0,
    faultsByKind: { list5xx: 0, listMalformed: 0, reset: 0, short: 0, cdn5xx: 0, stall: 0 },
    cdnStatuses: {},
    listQueries: [],
    taskQueries: [],
    cdnLog: [],
  };
}

export const DEFAULT_KNOBS: Readonly<ResolvedKnobs> = {
  urlTtlSeconds: 3600,
  listLatencyMs: 0,
  cdnBytesPerSecond: undefined,
  acceptRanges: true,
  weakEtags: false,
  rateLimit: undefined,
  cdnRateLimit: undefined,
  listFaults: undefined,
  cdnFaults: undefined,
  drift: undefined,
};

/** Applies `patch` onto `knobs` after checking it; keys absent from `patch` keep their value. */
export function applyKnobs(knobs: ResolvedKnobs, patch: SimulatorKnobs): void {
  if ('urlTtlSeconds' in patch && patch.urlTtlSeconds !== undefined) {
    knobs.urlTtlSeconds = wholeNumber('urlTtlSeconds', patch.urlTtlSeconds);
  }
  if ('listLatencyMs' in patch && patch.listLatencyMs !== undefined) {
    knobs.listLatencyMs = wholeNumber('listLatencyMs', patch.listLatencyMs);
  }
  if ('cdnBytesPerSecond' in patch) {
    const rate = patch.cdnBytesPerSecond;
    if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
      throw new RangeError(`Expected \`cdnBytesPerSecond\` to be a positive number, got ${rate}`);
    }
    knobs.cdnBytesPerSecond = rate;
  }
  if (patch.acceptRanges !== undefined) knobs.acceptRanges = patch.acceptRanges;
  if (patch.weakEtags !== undefined) knobs.weakEtags = patch.weakEtags;
  if ('rateLimit' in patch) knobs.rateLimit = checkRateLimit('rateLimit', patch.rateLimit);
  if ('cdnRateLimit' in patch) knobs.cdnRateLimit = checkRateLimit('cdnRateLimit', patch.cdnRateLimit);
  if ('listFaults' in patch)
    knobs.listFaults = checkProbabilities('listFaults', patch.listFaults, ['status5xx', 'malformed']);
  if ('cdnFaults' in patch) {
    const faults = checkProbabilities('cdnFaults', patch.cdnFaults, ['reset', 'short', 'status5xx', 'stall']);
    if (faults?.maxPerFile !== undefined) wholeNumber('cdnFaults.maxPerFile', faults.maxPerFile);
    if (faults?.stallMs !== undefined) wholeNumber('cdnFaults.stallMs', faults.stallMs);
    knobs.cdnFaults = faults;
  }
  if ('drift' in patch) {
    const drift = patch.drift ? { ...patch.drift } : undefined;
    if (drift?.insertEvery !== undefined) positiveInteger('drift.insertEvery', drift.insertEvery);
    if (drift?.deleteEvery !== undefined) positiveInteger('drift.deleteEvery', drift.deleteEvery);
    knobs.drift = drift;
  }
}

function checkRateLimit(name: string, limit: RateLimitOptions | undefined): RateLimitOptions | undefined {
  if (!limit) return undefined;
  positiveInteger(`${name}.every`, limit.every);
  wholeNumber(`${name}.burst`, limit.burst);
  wholeNumber(`${name}.retryAfterSeconds`, limit.retryAfterSeconds);
  return { ...limit };
}

function checkProbabilities<T extends object>(
  name: string,
  value: T | undefined,
  keys: readonly (keyof T & string)[],
): T | undefined {
  if (!value) return undefined;
  for (const key of keys) {
    const p = value[key];
    if (p !== undefined && !(typeof p === 'number' && p >= 0 && p <= 1)) {
      throw new RangeError(`Expected \`${name}.${key}\` to be a probability from 0 to 1, got ${String(p)}`);
    }
  }
  return { ...value };
}

function wholeNumber(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`Expected \`${name}\` to be an integer >= 0, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`Expected \`${name}\` to be an integer >= 1, got ${value}`);
  return value;
}
