/**
 * The useapi.net side: `GET /v1/runwayml/assets/?offset&limit[&email][&mediaType]` and
 * `GET /v1/runwayml/assets/<assetId>`, with the documented validation, Bearer auth, and the listing faults.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMediaType, type MediaType, type RawAsset } from '../types.js';
import type { SimAsset } from './catalog.js';
import { isAuthorized, pause, type SimContext, sendApiError, sendJson, signedUrl } from './context.js';
import { drawListFault } from './faults.js';

export const LIST_PATHS: readonly string[] = ['/v1/runwayml/assets', '/v1/runwayml/assets/'];
export const SINGLE_PREFIX = '/v1/runwayml/assets/';

/** An asset as the API returns it, with freshly signed URLs, fields in the documented order. */
export function toRawAsset(ctx: SimContext, asset: SimAsset): RawAsset {
  const [main, ...previews] = asset.files;
  if (!main) throw new Error(`Asset ${asset.id} has no main file`);
  return {
    assetId: asset.assetId,
    id: asset.id,
    createdAt: asset.createdAt,
    updatedAt: asset.updatedAt,
    ...(asset.name === undefined ? {} : { name: asset.name }),
    url: signedUrl(ctx, asset, main),
    previewUrls: previews.map((file) => signedUrl(ctx, asset, file)),
    mediaType: asset.mediaType,
    mediaSubtype: null,
    fileCount: 1,
    fileSize: main.size,
    fileExtStandardized: main.ext,
    isUserUpload: asset.isUserUpload,
    metadata: structuredClone(asset.metadata),
    username: asset.username,
    userPicture: null,
    userId: asset.userId,
    createdBy: asset.userId,
    private: asset.private,
    privateInTeam: asset.private,
    parentAssetGroupId: asset.parentAssetGroupId,
    // Uploads come from no task.
    taskId: asset.taskId ?? null,
    favorite: asset.favorite,
  };
}

type ListQuery = { email: string; offset: number; limit: number; mediaType: MediaType | undefined };

export async function handleList(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  ctx.stats.listRequests += 1;
  ctx.stats.listQueries.push(url.search.replace(/^\?/, ''));
  if (!(await pause(ctx, ctx.knobs.listLatencyMs, res))) return;
  if (!isAuthorized(ctx, req)) return sendApiError(res, 401, 'Unauthorized');
  if (refusedByRateLimit(ctx, res)) return;
  const query = parseListQuery(ctx, url.searchParams);
  if (typeof query === 'string') return sendApiError(res, 400, query);

  const sequence = ++ctx.validListings;
  applyDrift(ctx, query.email, sequence);
  if (answeredWithFault(ctx, res, sequence)) return;

  const all = ctx.catalog.list(query.email);
  const matching = query.mediaType ? all.filter((asset) => asset.mediaType === query.mediaType) : all;
  const page = matching
    .slice(query.offset, query.offset + query.limit)
    .map((asset) => toRawAsset(ctx, asset));
  sendJson(res, 200, page);
  ctx.apiLimiter.succeeded();
}

/** The asset id in a `/v1/runwayml/assets/<assetId>` path; undefined once a 400 was sent for a malformed one. */
function assetKeyOf(url: URL, res: ServerResponse): string | undefined {
  const encoded = url.pathname.slice(SINGLE_PREFIX.length);
  try {
    return decodeURIComponent(encoded);
  } catch {
    sendApiError(res, 400, `Malformed asset id ${encoded}`);
    return undefined;
  }
}

export async function handleSingle(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  ctx.stats.singleRequests += 1;
  if (!(await pause(ctx, ctx.knobs.listLatencyMs, res))) return;
  if (!isAuthorized(ctx, req)) return sendApiError(res, 401, 'Unauthorized');
  if (refusedByRateLimit(ctx, res)) return;
  const key = assetKeyOf(url, res);
  if (key === undefined) return;
  const email = url.searchParams.get('email');
  const account = email ? ctx.catalog.accountOf(email) : undefined;
  if (email && !account) return sendApiError(res, 400, `Unable to find configuration for account ${email}`);
  const asset = ctx.catalog.find(key);
  if (!asset || (account !== undefined && asset.email !== account)) {
    return sendApiError(res, 404, `Asset ${key} not found`);
  }
  sendJson(res, 200, toRawAsset(ctx, asset));
  ctx.apiLimiter.succeeded();
}

/**
 * `DELETE /v1/runwayml/assets/<assetId>`, as useapi.net documents it: the asset leaves the listing, the CDN and
 * the single-asset lookup (404 from then on); its task keeps listing it with `deleted: true`. 404 when unknown.
 */
export async function handleDelete(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  ctx.stats.deleteRequests += 1;
  if (!(await pause(ctx, ctx.knobs.listLatencyMs, res))) return;
  if (!isAuthorized(ctx, req)) return sendApiError(res, 401, 'Unauthorized');
  if (refusedByRateLimit(ctx, res)) return;
  const key = assetKeyOf(url, res);
  if (key === undefined) return;
  const asset = key === '' ? undefined : ctx.catalog.find(key);
  if (!asset) return sendApiError(res, 404, 'Not found.');
  ctx.catalog.remove(asset.assetId);
  sendJson(res, 200, { success: true });
  ctx.apiLimiter.succeeded();
}

export function refusedByRateLimit(ctx: SimContext, res: ServerResponse): boolean {
  const retryAfter = ctx.apiLimiter.refuse();
  if (retryAfter === undefined) return false;
  ctx.stats.status429 += 1;
  sendApiError(res, 429, 'Too Many Requests', { 'retry-after': String(retryAfter) });
  return true;
}

/** The documented checks, in the documented terms; returns the error message when one fails. */
function parseListQuery(ctx: SimContext, params: URLSearchParams): ListQuery | string {
  const offset = integerParam(params, 'offset', 0, 1000);
  if (typeof offset === 'string') return offset;
  const limit = integerParam(params, 'limit', 1, 50);
  if (typeof limit === 'string') return limit;
  const mediaTypeText = params.get('mediaType');
  let mediaType: MediaType | undefined;
  if (mediaTypeText !== null && mediaTypeText !== '') {
    if (!isMediaType(mediaTypeText)) {
      return `Parameter mediaType (${mediaTypeText}) is not valid, supported values: video, image and audio`;
    }
    mediaType = mediaTypeText;
  }
  const account = accountParam(ctx, params);
  if ('error' in account) return account.error;
  return { email: account.email, offset, limit, mediaType };
}

/** The account a request is about: the `email` parameter, or the only configured account. */
export function accountParam(
  ctx: SimContext,
  params: URLSearchParams,
): { email: string } | { error: string } {
  const emailText = params.get('email');
  if (emailText === null || emailText === '') {
    if (ctx.catalog.emails.length > 1)
      return { error: 'Parameter email is required when multiple accounts are configured' };
    const only = ctx.catalog.emails[0];
    return only === undefined ? { error: 'No account configured' } : { email: only };
  }
  const email = ctx.catalog.accountOf(emailText);
  return email ? { email } : { error: `Unable to find configuration for account ${emailText}` };
}

export function integerParam(
  params: URLSearchParams,
  name: string,
  min: number,
  max: number,
): number | string {
  const text = params.get(name);
  if (text === null || text === '') return `Parameter ${name} is required`;
  if (!/^-?\d+$/.test(text))
    return `Parameter ${name} (${text}) must be an integer, valid range ${min}…${max}`;
  const value = Number(text);
  if (value < min || value > max) return `Parameter ${name} (${text}) is out of valid range ${min}…${max}`;
  return value;
}

function applyDrift(ctx: SimContext, email: string, sequence: number): void {
  const drift = ctx.knobs.drift;
  if (!drift) return;
  if (drift.insertEvery && sequence % drift.insertEvery === 0) ctx.catalog.add(email, 1);
  if (drift.deleteEvery && sequence % drift.deleteEvery === 0) ctx.catalog.removeMiddle(email);
}

/** The listing fault drawn for this request (a 5xx, or an HTML page with 200), answered; false when none. */
export function answeredWithFault(ctx: SimContext, res: ServerResponse, sequence: number): boolean {
  const fault = drawListFault(ctx.seed, sequence, ctx.knobs.listFaults);
  if (!fault) return false;
  ctx.stats.faultsInjected += 1;
  ctx.stats.faultsByKind[fault.kind] += 1;
  if (fault.kind === 'list5xx') {
    sendApiError(res, fault.status, 'Upstream error, please retry');
    return true;
  }
  const html = '<html>502 Bad Gateway</html>';
  res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
  res.end(html);
  return true;
}
