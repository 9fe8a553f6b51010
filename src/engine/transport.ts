/**
 * How a transfer talks HTTP to the CDN. One function, so tests and library users can replace it (a custom agent, a
 * proxy, a fake server) without touching the transfer logic; `nodeTransport` is the default, `gotTransport` the
 * same through got.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import got, { RequestError } from 'got';
import { DownloadError, firstLine } from '../errors.js';

export interface TransportRequest {
  url: string;
  headers: Record<string, string>;
  /** Idle time before a silent connection counts as stalled, in ms. */
  timeoutMs: number;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, read once. Errors while reading are `DownloadError`s (retryable network failures). */
  body: AsyncIterable<Buffer>;
  /** Stops reading and closes the connection; the body must not be read afterwards. */
  destroy(): void;
  /**
   * The body's chunks are fresh buffers that nothing else holds, so the reader may free a chunk's memory once it
   * is done with it (`nodeTransport`: Node allocates each socket read anew). Leave it unset for chunks that may be
   * shared or reused (a fake body, a cache).
   */
  disposableChunks?: boolean;
}

/** Sends one GET; resolves with the status and headers before any body byte is read. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

// Separate pools from the API's: many long downloads must not starve listing requests. 64 sockets is above the
// largest lane count, so lanes never queue for a socket.
const agent = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

// Options that never change are normalised once by got.extend rather than on every request.
const cdn = got.extend({
  decompress: false,
  throwHttpErrors: false,
  retry: { limit: 0 },
  followRedirect: true,
  agent,
});

function networkError(error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  const code = error instanceof RequestError ? error.code : (error as NodeJS.ErrnoException)?.code;
  const message = firstLine(error);
  return new DownloadError('ERR_DOWNLOAD_NETWORK', `${code ?? 'network error'}: ${message}`, {
    retryable: true,
    cause: error,
  });
}

/**
 * The body's chunks, read through 'data' events with pause/resume for backpressure. Node's own async iterator
 * destroys the stream when it ends, and got answers that destroy with an error object (and a stack) per request:
 * measurable garbage on thousands of small files. The listeners are attached at once, so an end or an error that
 * comes before the first read is not missed.
 */
function chunksOf(stream: Readable, ended: () => void): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let finished = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= 4) stream.pause();
    notify();
  };
  const onEnd = (): void => {
    finished = true;
    notify();
  };
  const onError = (error: unknown): void => {
    failure ??= error;
    notify();
  };
  const onClose = (): void => {
    // Closed without 'end' (destroyed, aborted): a short body, which the caller's byte count catches.
    if (!finished) failure ??= new Error('the connection closed before the body ended');
    notify();
  };
  // A late error (after the body was read, or once we stopped reading) must not go unhandled.
  stream.on('error', () => {});
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.on('error', onError);
  stream.once('close', onClose);
  const detach = (): void => {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
  };
  return (async function* () {
    try {
      for (;;) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          if (queue.length === 0 && stream.isPaused()) stream.resume();
          yield chunk;
          continue;
        }
        if (finished) {
          ended();
          return;
        }
        if (failure !== undefined) throw networkError(failure);
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      detach();
    }
  })();
}

/** The status and headers of `response`, the body read from `stream` (got's wrapper, or the response itself). */
function responseOf(response: IncomingMessage, stream: Readable): TransportResponse {
  // Destroying a stream that ended makes got build an error (with a stack) per request for nothing.
  let done = false;
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: chunksOf(stream, () => {
      done = true;
    }),
    destroy: () => {
      if (!done) stream.destroy();
    },
  };
}

/** got.stream, waiting for the status line before anything is read: an error page must never become a file. */
export const gotTransport: Transport = async ({ url, headers, timeoutMs, signal }) => {
  const stream = cdn.stream(url, {
    headers,
    timeout: { connect: Math.min(timeoutMs, 15_000), response: timeoutMs, socket: timeoutMs },
    signal,
  });
  let response: IncomingMessage;
  try {
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
  } catch (error) {
    stream.destroy();
    throw networkError(error);
  }
  return responseOf(response, stream);
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const MAX_REDIRECTS = 10;

/** A URL, or a DownloadError that is not retried: asking again cannot mend a malformed address or redirect. */
function parseUrl(text: string, base: URL | undefined): URL {
  try {
    return new URL(text, base);
  } catch {
    const what = base ? 'redirect location' : 'URL';
    throw new DownloadError('ERR_DOWNLOAD_NETWORK', `malformed ${what}`, { retryable: false });
  }
}

/** Why a request failed, with the code of a timeout that node:http itself does not name. */
class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** One GET through node:http(s), the status line awaited; redirects are left to the caller. */
function requestOnce(url: URL, request: TransportRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      reject(
        new DownloadError('ERR_DOWNLOAD_NETWORK', `unsupported protocol ${url.protocol}`, {
          retryable: false,
        }),
      );
      return;
    }
    // One idle timer for the whole exchange, armed before the connection (`req.setTimeout` waits for `connect`,
    // so a black-holed address hung for the kernel's ~2 minutes of SYN retries per attempt).
    const req = (secure ? https : http).request(url, {
      headers: request.headers,
      agent: secure ? agent.https : agent.http,
      signal: request.signal,
      timeout: request.timeoutMs,
    });
    req.on('timeout', () => {
      req.destroy(new TimeoutError(`no data for ${request.timeoutMs} ms`));
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

/**
 * node:http(s) directly, the default: the same contract as `gotTransport` (status awaited before the body, redirects
 * followed, idle timeout, abort) at a fraction of the CPU per request. got's option normalisation and its stream
 * wrapper measured about a fifth of the main thread on thousands of small files (see bench/RESULTS.md).
 */
export const nodeTransport: Transport = async (request) => {
  let url = parseUrl(request.url, undefined);
  let response: IncomingMessage;
  for (let hops = 0; ; hops++) {
    try {
      response = await requestOnce(url, request);
    } catch (error) {
      throw networkError(error);
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!REDIRECTS.has(status) || location === undefined) break;
    // Drained, not destroyed: the connection goes back to the pool for the next hop.
    response.resume();
    if (hops === MAX_REDIRECTS)
      throw new DownloadError('ERR_DOWNLOAD_NETWORK', `more than ${MAX_REDIRECTS} redirects`, {
        retryable: false,
      });
    url = parseUrl(location, url);
  }
  return { ...responseOf(response, response), disposableChunks: true };
};
