/**
 * How a transfer talks HTTP to the CDN. One function, so tests and library users can replace it (a custom agent, a
 * proxy, a fake server) without touching the transfer logic; `gotTransport` is the default.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import got, { RequestError } from 'got';
import { DownloadError } from './errors.js';

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
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  return new DownloadError('ERR_DOWNLOAD_NETWORK', `${code ?? 'network error'}: ${message}`, {
    retryable: true,
    cause: error,
  });
}

async function* guarded(stream: AsyncIterable<Buffer>, ended: () => void): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk;
    ended();
  } catch (error) {
    throw networkError(error);
  }
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
  // A later error is seen through the iterator; this keeps an unread stream's error from going unhandled.
  stream.on('error', () => {});
  // Destroying a stream that ended makes got build an error (with a stack) per request for nothing.
  let done = false;
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: guarded(stream, () => {
      done = true;
    }),
    destroy: () => {
      if (!done) stream.destroy();
    },
  };
};
