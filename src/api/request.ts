// One GET to useapi.net, retried: the got instance and its keep-alive sockets, the shared 429 gate, the verdict on
// an answer (a typed error, retry or not) and the pacer around the attempts. `createClient` builds on this.
import http from 'node:http';
import https from 'node:https';
import got, { type Got, RequestError, type Response } from 'got';
import { AbortError, ApiError, MalformedResponseError, NetworkError, withoutToken } from '../errors.js';
import { parseRetryAfter, type RateGate, type RetryInfo, withRetries } from '../retry.js';

export interface RequesterOptions {
  /** The validated base URL. */
  base: URL;
  /** The validated token. */
  token: string;
  timeoutMs: number;
  retries: number;
  maxRetryAfterMs: number;
  backoffBaseMs: number;
  gate: RateGate;
  onRetry: ((info: RetryInfo) => void) | undefined;
}

/** Makes a one-line, bounded excerpt of an API message; the API echoes input, never trust its length. */
function oneLine(text: string, max = 300): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function apiMessage(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'error' in parsed) {
      const error = (parsed as { error: unknown }).error;
      if (typeof error === 'string') return oneLine(error);
      if (error !== undefined) return oneLine(JSON.stringify(error));
    }
  } catch {
    // Not JSON: the caller falls back to the status text.
  }
  return undefined;
}

const STATUS_HINTS: Record<number, string> = {
  401: 'the API refused the token (401 Unauthorized); check USEAPI_TOKEN',
  402: 'the useapi.net subscription has expired (402 Payment Required)',
  403: 'the API refused access (403 Forbidden)',
  404: 'not found (404)',
  596: 'the Runway account is in an error state (596); check it on useapi.net',
};

/**
 * The final error for an answer outside 2xx that is not worth retrying (4xx, 596). The API's own words pass through
 * `withoutToken` here, the one place where its text enters the tool: an upstream that quotes the request's
 * Authorization header back cannot put the token into a failure reason, the run record or a line on stderr.
 */
function refusal(statusCode: number, body: string, token: string, base: URL): ApiError {
  const said = apiMessage(body);
  const message = said === undefined ? undefined : withoutToken(said, token);
  const hint =
    statusCode === 404 && base.pathname !== '/'
      ? `not found (404); the base URL ${base.origin}${base.pathname} has a path: --base-url (USEAPI_BASE_URL) is the API's origin, like https://api.useapi.net`
      : (STATUS_HINTS[statusCode] ?? `the API answered ${statusCode}`);
  const text = statusCode === 400 ? `the API rejected the request (400): ${message ?? 'Bad Request'}` : hint;
  return new ApiError(statusCode, message && statusCode !== 400 ? `${text}: ${message}` : text);
}

function isHtml(response: Response<string>): boolean {
  const type = String(response.headers['content-type'] ?? '');
  return type.includes('text/html') || /^\s*<(!doctype|html)/i.test(response.body);
}

class RetryableFailure extends Error {
  constructor(
    readonly failure: Error,
    readonly retryAfterMs?: number,
  ) {
    super(failure.message);
  }
}

/** Sends the GETs of one client: counts them, obeys and feeds the rate gate, retries what is worth retrying. */
export class ApiRequester {
  readonly host: string;
  readonly gate: RateGate;
  readonly #options: RequesterOptions;
  readonly #agent: { http: http.Agent; https: https.Agent };
  readonly #api: Got;
  #requestCount = 0;

  constructor(options: RequesterOptions) {
    const { base, token, timeoutMs } = options;
    this.#options = options;
    this.host = base.host;
    this.gate = options.gate;
    this.#agent = {
      http: new http.Agent({ keepAlive: true, maxSockets: 8 }),
      https: new https.Agent({ keepAlive: true, maxSockets: 8 }),
    };
    this.#api = got.extend({
      prefixUrl: base.toString(),
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'user-agent': 'runway-backup',
      },
      responseType: 'text',
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      agent: this.#agent,
      timeout: { connect: Math.min(timeoutMs, 15_000), response: timeoutMs, socket: timeoutMs },
    });
  }

  /** Requests sent, retries included. */
  get requestCount(): number {
    return this.#requestCount;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.#agent.http.destroy();
    this.#agent.https.destroy();
  }

  /** GETs `path` until it answers JSON, fails for good or the retries are spent; answers the parsed JSON. */
  async get(path: string, searchParams: URLSearchParams, signal?: AbortSignal): Promise<unknown> {
    const { retries, backoffBaseMs, onRetry } = this.#options;
    // The same pacer as the file transfers: one way to count, wait for and report retries.
    return withRetries(
      () => this.#attempt(path, searchParams, signal),
      (error) =>
        error instanceof RetryableFailure
          ? { retry: true, error: error.failure, retryAfterMs: error.retryAfterMs }
          : { retry: false, error },
      { retries, backoffBaseMs, signal, onRetry },
    );
  }

  // One attempt: answers the parsed JSON, or throws RetryableFailure / a final error.
  async #attempt(path: string, searchParams: URLSearchParams, signal?: AbortSignal): Promise<unknown> {
    await this.gate.wait(signal);
    this.#requestCount++;
    let response: Response<string>;
    try {
      response = await this.#api.get(path, { searchParams, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw new AbortError();
      const code = error instanceof RequestError ? error.code : undefined;
      throw new RetryableFailure(
        new NetworkError(`Could not reach ${this.host}: ${code ?? (error as Error).message}`, {
          cause: error,
        }),
      );
    }
    return this.#read(response);
  }

  /** The parsed JSON of an answer, or the RetryableFailure / final error it stands for. */
  #read(response: Response<string>): unknown {
    const { host } = this;
    const { statusCode } = response;
    if (statusCode === 429) {
      const wait = parseRetryAfter(response.headers['retry-after']);
      const capped = wait === undefined ? undefined : Math.min(wait, this.#options.maxRetryAfterMs);
      if (capped !== undefined) this.gate.pause(capped);
      throw new RetryableFailure(
        new ApiError(429, `${host} kept rate-limiting the requests (429 Too Many Requests)`),
        capped,
      );
    }
    if (statusCode >= 500 && statusCode !== 596) {
      throw new RetryableFailure(new ApiError(statusCode, `${host} answered ${statusCode} (server error)`));
    }
    if (statusCode < 200 || statusCode >= 300) {
      throw refusal(statusCode, response.body, this.#options.token, this.#options.base);
    }
    if (isHtml(response)) {
      throw new RetryableFailure(
        new MalformedResponseError(`${host} answered an HTML page instead of JSON (HTTP ${statusCode})`),
      );
    }
    try {
      return JSON.parse(response.body) as unknown;
    } catch (error) {
      throw new RetryableFailure(
        new MalformedResponseError(`${host} answered something that is not JSON (HTTP ${statusCode})`, {
          cause: error,
        }),
      );
    }
  }
}
