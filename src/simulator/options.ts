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
  /**
   * Delay before the status line and headers of every CDN answer (GET and HEAD, refusals included): a far CDN's
   * round trip and time to first byte. @default 0
   */
  cdnFirstByteMs?: number;
  /**
   * Pace each CDN response body to this rate: what one connection gets from a far CDN. `undefined` means as fast
   * as possible. Changing it applies to responses in flight too. @default undefined
   */
  cdnConnectionBytesPerSecond?: number | undefined;
  /** The former name of `cdnConnectionBytesPerSecond`; same meaning. Giving both with different values is an error. */
  cdnBytesPerSecond?: number | undefined;
  /**
   * One rate shared by all CDN response bodies together, as the link between the client and a far CDN: N busy
   * responses each get about 1/N of it (and at most `cdnConnectionBytesPerSecond`). @default undefined
   */
  cdnLinkBytesPerSecond?: number | undefined;
  /** `false`: no `Accept-Ranges` header, and `Range` is ignored. @default true */
  acceptRanges?: boolean;
  /** Send `ETag: W/"…"`, which (like nginx and CloudFront) never satisfies `If-Range`. @default false */
  weakEtags?: boolean;
  /**
   * `false`: send neither `ETag` nor `Last-Modified`, so `If-Range` never matches and a range request carrying it
   * gets the whole file; `Range` alone is still honoured. As some object stores and dynamic origins answer.
   * @default true
   */
  validators?: boolean;
  /**
   * Base of the CDN URLs handed out in listings (e.g. `http://127.0.0.1:8080`, no trailing slash needed), for a
   * static server (nginx) serving the same files from a docroot laid out by `SimFileView.path`. `undefined` means
   * this simulator's own URL. @default undefined
   */
  cdnBaseUrl?: string | undefined;
  /** Rate limit of the listing and single-asset endpoints (one shared counter). @default undefined */
  rateLimit?: RateLimitOptions | undefined;
  /** Rate limit of the CDN. @default undefined */
  cdnRateLimit?: RateLimitOptions | undefined;
  listFaults?: ListFaultOptions | undefined;
  cdnFaults?: CdnFaultOptions | undefined;
  drift?: DriftOptions | undefined;
  /**
   * Every API error quotes the request's `Authorization` header back ("... (request sent Bearer <token>)"), as a
   * careless upstream or proxy might: what the tool prints or stores of an API's text must still never hold the
   * token. @default false
   */
  echoToken?: boolean;
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
  cdnFirstByteMs: number;
  cdnConnectionBytesPerSecond: number | undefined;
  cdnLinkBytesPerSecond: number | undefined;
  acceptRanges: boolean;
  weakEtags: boolean;
  validators: boolean;
  cdnBaseUrl: string | undefined;
  rateLimit: RateLimitOptions | undefined;
  cdnRateLimit: RateLimitOptions | undefined;
  listFaults: ListFaultOptions | undefined;
  cdnFaults: CdnFaultOptions | undefined;
  drift: DriftOptions | undefined;
  echoToken: boolean;
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
  /**
   * The strong ETag, quotes included (the server prefixes `W/` when `weakEtags` is on, and sends none when
   * `validators` is off).
   */
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
  /** `GET /v1/runwayml/assets/<assetId>` requests. */
  singleRequests: number;
  /** `DELETE /v1/runwayml/assets/<assetId>` requests. */
  deleteRequests: number;
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
  /**
   * Every CDN request as it arrived (ms since the epoch) and the status it got, for timing checks; with its path
   * and its `Range` / `If-Range` headers, for checks of what a resuming or splitting client asked.
   */
  cdnLog: { at: number; status: number; path: string; range?: string; ifRange?: string }[];
}

export function emptyStats(): SimulatorStats {
  return {
    listRequests: 0,
    singleRequests: 0,
    deleteRequests: 0,
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
  cdnFirstByteMs: 0,
  cdnConnectionBytesPerSecond: undefined,
  cdnLinkBytesPerSecond: undefined,
  acceptRanges: true,
  weakEtags: false,
  validators: true,
  cdnBaseUrl: undefined,
  rateLimit: undefined,
  cdnRateLimit: undefined,
  listFaults: undefined,
  cdnFaults: undefined,
  drift: undefined,
  echoToken: false,
};

/** Applies `patch` onto `knobs` after checking it; keys absent from `patch` keep their value. */
export function applyKnobs(knobs: ResolvedKnobs, patch: SimulatorKnobs): void {
  if ('urlTtlSeconds' in patch && patch.urlTtlSeconds !== undefined) {
    knobs.urlTtlSeconds = wholeNumber('urlTtlSeconds', patch.urlTtlSeconds);
  }
  if ('listLatencyMs' in patch && patch.listLatencyMs !== undefined) {
    knobs.listLatencyMs = wholeNumber('listLatencyMs', patch.listLatencyMs);
  }
  if ('cdnFirstByteMs' in patch && patch.cdnFirstByteMs !== undefined) {
    knobs.cdnFirstByteMs = wholeNumber('cdnFirstByteMs', patch.cdnFirstByteMs);
  }
  if ('cdnConnectionBytesPerSecond' in patch || 'cdnBytesPerSecond' in patch) {
    knobs.cdnConnectionBytesPerSecond = connectionRate(patch);
  }
  if ('cdnLinkBytesPerSecond' in patch) {
    knobs.cdnLinkBytesPerSecond = optionalRate('cdnLinkBytesPerSecond', patch.cdnLinkBytesPerSecond);
  }
  if (patch.acceptRanges !== undefined) knobs.acceptRanges = patch.acceptRanges;
  if (patch.weakEtags !== undefined) knobs.weakEtags = patch.weakEtags;
  if (patch.validators !== undefined) knobs.validators = patch.validators;
  if (patch.echoToken !== undefined) knobs.echoToken = patch.echoToken;
  if ('cdnBaseUrl' in patch) knobs.cdnBaseUrl = checkBaseUrl(patch.cdnBaseUrl);
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

/** The per-connection rate under either of its names; both at once must agree. */
function connectionRate(patch: SimulatorKnobs): number | undefined {
  const current = 'cdnConnectionBytesPerSecond' in patch;
  const former = 'cdnBytesPerSecond' in patch;
  if (current && former && patch.cdnConnectionBytesPerSecond !== patch.cdnBytesPerSecond) {
    throw new RangeError(
      `Expected \`cdnConnectionBytesPerSecond\` and its former name \`cdnBytesPerSecond\` to agree, got ${patch.cdnConnectionBytesPerSecond} and ${patch.cdnBytesPerSecond}`,
    );
  }
  return current
    ? optionalRate('cdnConnectionBytesPerSecond', patch.cdnConnectionBytesPerSecond)
    : optionalRate('cdnBytesPerSecond', patch.cdnBytesPerSecond);
}

function optionalRate(name: string, rate: number | undefined): number | undefined {
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw new RangeError(`Expected \`${name}\` to be a positive number, got ${rate}`);
  }
  return rate;
}

/** An http(s) URL without query or fragment, returned without its trailing slashes. */
function checkBaseUrl(base: string | undefined): string | undefined {
  if (base === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(base);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new RangeError(`Expected \`cdnBaseUrl\` to be an http(s) URL without query, got ${base}`);
  }
  return base.replace(/\/+$/, '');
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
