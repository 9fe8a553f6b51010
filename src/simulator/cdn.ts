/**
 * The CDN: `GET|HEAD /cdn/<id>/<role>-<index>.<ext>?Expires=&Signature=`. Ranges, `If-Range` and error bodies
 * follow nginx/CloudFront/S3, because a resuming client must be tested against their strictness: only an exact
 * strong ETag or an exact Last-Modified date keeps a range; anything else gets the whole, current object.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { contentTypeOf, fileEtag, fileSeed, type SimAsset, type SimFile } from './catalog.js';
import { CHUNK_SIZE, fileContent } from './content.js';
import { pause, type SimContext, sendXmlError } from './context.js';
import { type CdnFault, Pacer } from './faults.js';

export const CDN_PREFIX = '/cdn/';
const CDN_PATH = /^\/cdn\/([0-9a-f-]{36})\/(main|preview)-(\d{1,4})\.([a-z0-9]{1,8})$/;
const DEFAULT_STALL_MS = 60_000;
const RESET_GRACE_MS = 20;

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * What to send for a `Range`/`If-Range` pair. `end` is exclusive. Multi-range and malformed headers are ignored
 * (allowed by RFC 9110), as are ranges when the If-Range validator is not an exact match of `strongEtag` (pass
 * undefined when the current ETag is weak or not sent) or of `lastModified` (undefined when not sent).
 */
export function decideRange(
  range: string | undefined,
  ifRange: string | undefined,
  size: number,
  strongEtag: string | undefined,
  lastModified: string | undefined,
): RangeDecision {
  if (range === undefined) return { kind: 'full' };
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (ifRange !== undefined) {
    const validator = ifRange.trim();
    const matches =
      (strongEtag !== undefined && validator === strongEtag) ||
      (lastModified !== undefined && validator === lastModified);
    if (!matches) return { kind: 'full' };
  }
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  return { kind: 'partial', start, end };
}

export async function handleCdn(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  ctx.stats.cdnRequests += 1;
  const at = Date.now();
  // 'close' rather than 'finish': broken transfers (reset, short) never finish but still answered a status.
  res.once('close', () => {
    if (res.headersSent) {
      ctx.stats.cdnStatuses[res.statusCode] = (ctx.stats.cdnStatuses[res.statusCode] ?? 0) + 1;
      // Bounded so a long benchmark cannot grow it without end.
      if (ctx.stats.cdnLog.length < 100_000) {
        const range = headerText(req.headers.range);
        const ifRange = headerText(req.headers['if-range']);
        ctx.stats.cdnLog.push({
          at,
          status: res.statusCode,
          path: url.pathname,
          ...(range !== undefined ? { range } : {}),
          ...(ifRange !== undefined ? { ifRange } : {}),
        });
      }
    }
  });
  // Before anything is decided, as a far CDN's round trip delays every answer, refusals included.
  if (!(await pause(ctx, ctx.knobs.cdnFirstByteMs, res))) return;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendXmlError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed.', {
      allow: 'GET, HEAD',
    });
  }
  const match = CDN_PATH.exec(url.pathname);
  const verdict = ctx.signer.verify(
    url.pathname,
    url.searchParams.get('Expires'),
    url.searchParams.get('Signature'),
  );
  if (verdict !== 'ok') {
    ctx.stats.status403 += 1;
    if (verdict === 'expired') return sendXmlError(res, 403, 'AccessDenied', 'Request has expired');
    if (verdict === 'missing') {
      return sendXmlError(
        res,
        403,
        'AccessDenied',
        'Query-string authentication requires the Signature and Expires parameters',
      );
    }
    return sendXmlError(res, 403, 'SignatureDoesNotMatch', 'The request signature does not match');
  }
  const [, id = '', role, index, ext] = match ?? [];
  const asset = ctx.catalog.find(id);
  const file = asset?.files.find((f) => f.role === role && String(f.index) === index && f.ext === ext);
  if (!asset || !file) return sendXmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');

  const retryAfter = ctx.cdnLimiter.refuse();
  if (retryAfter !== undefined) {
    ctx.stats.status429 += 1;
    return sendXmlError(res, 429, 'TooManyRequests', 'Please reduce your request rate.', {
      'retry-after': String(retryAfter),
    });
  }
  const fault =
    req.method === 'GET'
      ? ctx.cdnFaults.draw(ctx.seed, `${asset.id}:${file.role}:${file.index}`, ctx.knobs.cdnFaults)
      : undefined;
  if (fault) {
    ctx.stats.faultsInjected += 1;
    ctx.stats.faultsByKind[fault === 'status5xx' ? 'cdn5xx' : fault] += 1;
  }
  if (fault === 'status5xx') return sendXmlError(res, 503, 'ServiceUnavailable', 'Please try again.');

  const { validators, weakEtags } = ctx.knobs;
  const etag = fileEtag(asset, file);
  const lastModified = new Date(file.lastModified).toUTCString();
  const headers: OutgoingHttpHeaders = { 'content-type': contentTypeOf(file.ext) };
  if (validators) {
    headers.etag = weakEtags ? `W/${etag}` : etag;
    headers['last-modified'] = lastModified;
  }
  if (ctx.knobs.acceptRanges) headers['accept-ranges'] = 'bytes';
  const decision = ctx.knobs.acceptRanges
    ? decideRange(
        req.headers.range,
        headerText(req.headers['if-range']),
        file.size,
        validators && !weakEtags ? etag : undefined,
        validators ? lastModified : undefined,
      )
    : { kind: 'full' as const };
  if (decision.kind === 'unsatisfiable') {
    return sendXmlError(res, 416, 'InvalidRange', 'The requested range is not satisfiable', {
      ...headers,
      'content-type': 'application/xml',
      'content-range': `bytes */${file.size}`,
    });
  }
  const start = decision.kind === 'partial' ? decision.start : 0;
  const end = decision.kind === 'partial' ? decision.end : file.size;
  headers['content-length'] = end - start;
  if (decision.kind === 'partial') headers['content-range'] = `bytes ${start}-${end - 1}/${file.size}`;
  res.writeHead(decision.kind === 'partial' ? 206 : 200, headers);
  ctx.cdnLimiter.succeeded();
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await sendBody(ctx, res, asset, file, start, end, fault);
}

async function sendBody(
  ctx: SimContext,
  res: ServerResponse,
  asset: SimAsset,
  file: SimFile,
  start: number,
  end: number,
  fault: CdnFault | undefined,
): Promise<void> {
  const seed = fileSeed(asset, file);
  const copy = (from: number, to: number) => copyRange(ctx, res, seed, file.size, from, to);
  if (!fault) {
    if (await copy(start, end)) res.end();
    return;
  }
  // The client must see the status line and headers even when no body byte follows.
  res.flushHeaders();
  const half = start + Math.floor((end - start) / 2);
  if (fault === 'stall') {
    const first = Math.min(half, start + CHUNK_SIZE);
    if (!(await copy(start, first))) return;
    if (!(await pause(ctx, ctx.knobs.cdnFaults?.stallMs ?? DEFAULT_STALL_MS, res))) return;
    if (await copy(first, end)) res.end();
    return;
  }
  if (!(await copy(start, half))) return;
  await drained(res);
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  if (fault === 'reset') socket.resetAndDestroy();
  else socket.destroySoon();
}

/**
 * Writes bytes [from, to) into the response without ending it, paced to the connection's rate and then to the
 * shared link's; false when the client went away. Slices are small and booked one at a time, so responses sharing
 * the link take turns. A hand-written loop rather than `pipeline(…, { end: false })`, which leaves listeners behind
 * on the response at every call.
 */
async function copyRange(
  ctx: SimContext,
  res: ServerResponse,
  seed: string,
  size: number,
  from: number,
  to: number,
): Promise<boolean> {
  const source = fileContent(seed, size, from, to);
  // Read on every slice: `configure` may change or lift a rate while this response is in flight.
  const connection = new Pacer(() => ctx.knobs.cdnConnectionBytesPerSecond);
  try {
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      let offset = 0;
      while (offset < bytes.length) {
        if (res.destroyed) return false;
        const slice = bytes.subarray(
          offset,
          offset + Math.min(connection.sliceSize(CHUNK_SIZE), ctx.link.sliceSize(CHUNK_SIZE)),
        );
        offset += slice.length;
        if (!(await waitFor(ctx, connection.reserve(slice.length), res))) return false;
        if (!(await waitFor(ctx, ctx.link.reserve(slice.length), res))) return false;
        ctx.stats.cdnBytes += slice.length;
        if (!res.write(slice)) await drainOrClose(res);
      }
    }
    return !res.destroyed;
  } finally {
    source.destroy();
  }
}

/** Waits for a pacer's slot; a wait under a millisecond is not worth a timer (the pacer's tolerance absorbs it). */
function waitFor(ctx: SimContext, ms: number, res: ServerResponse): Promise<boolean> | boolean {
  return ms < 1 ? !res.destroyed : pause(ctx, ms, res);
}

function drainOrClose(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Waits (bounded) until what was written has left Node, then a moment more for the client to read it: a reset
 * discards whatever the peer has not read yet, and the fault should cut the body about half-way, not at zero.
 */
async function drained(res: ServerResponse): Promise<void> {
  await yieldToEventLoop();
  for (let i = 0; i < 200; i++) {
    const socket = res.socket;
    if (!socket || socket.destroyed || socket.writableLength === 0) break;
    await sleep(5);
  }
  await sleep(RESET_GRACE_MS);
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
