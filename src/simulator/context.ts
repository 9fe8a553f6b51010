/** The state the request handlers share, and the small HTTP answer helpers they all use. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Catalog, SimAsset, SimFile } from './catalog.js';
import { filePath } from './catalog.js';
import type { BurstLimiter, CdnFaultPlan, Pacer } from './faults.js';
import type { ResolvedKnobs, SimulatorStats } from './options.js';
import type { UrlSigner } from './signing.js';

export interface SimContext {
  readonly catalog: Catalog;
  /** Mutable: `Simulator.configure` changes it while requests are in flight. */
  readonly knobs: ResolvedKnobs;
  readonly token: string;
  readonly seed: number;
  /** Reset in place, so a reference held by a test stays live. */
  readonly stats: SimulatorStats;
  readonly signer: UrlSigner;
  readonly apiLimiter: BurstLimiter;
  readonly cdnLimiter: BurstLimiter;
  readonly cdnFaults: CdnFaultPlan;
  /** The link all CDN response bodies share (`cdnLinkBytesPerSecond`). */
  readonly link: Pacer;
  /** Cancels every pending `pause`, so that `close()` does not wait for stalls and latency timers. */
  readonly cancels: Set<() => void>;
  baseUrl: string;
  /** Valid listing requests so far; drives drift and list faults. */
  validListings: number;
}

/**
 * Waits `ms`, unless the client goes away or the simulator closes first. Resolves true when the caller should go
 * on answering.
 */
export function pause(ctx: SimContext, ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (goOn: boolean) => {
      clearTimeout(timer);
      ctx.cancels.delete(cancel);
      res.off('close', cancel);
      resolve(goOn);
    };
    const cancel = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    ctx.cancels.add(cancel);
    res.once('close', cancel);
  });
}

export function signedUrl(ctx: SimContext, asset: SimAsset, file: SimFile): string {
  const path = filePath(asset, file);
  return `${ctx.knobs.cdnBaseUrl ?? ctx.baseUrl}${path}?${ctx.signer.sign(path, ctx.knobs.urlTtlSeconds)}`;
}

export function isAuthorized(ctx: SimContext, req: IncomingMessage): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1] === ctx.token;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** useapi.net's error shape. */
export function sendApiError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const echo = echoedAuthorization.get(res);
  sendJson(
    res,
    status,
    { error: echo ? `${message} (request sent ${echo})` : message, code: status },
    headers,
  );
}

/** The Authorization header of the request each response answers, when the `echoToken` knob asks to quote it. */
export const echoedAuthorization = new WeakMap<ServerResponse, string>();

/** S3/CloudFront's error shape. */
export function sendXmlError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
