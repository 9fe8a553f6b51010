/**
 * Every error the library throws on purpose is a RunwayBackupError with a stable string `code`. The CLI maps codes
 * to exit codes in one table (`exitCodeFor` in cli-errors.ts); messages are one line and never carry the token or a
 * signed URL's query string.
 */
export class RunwayBackupError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunwayBackupError';
    this.code = code;
  }
}

/** A flag, option or config value is wrong. */
export class UsageError extends RunwayBackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

/** The config file is missing, unreadable, not JSON or of the wrong shape. */
export class ConfigError extends RunwayBackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

const STATUS_CODES: Record<number, string> = {
  400: 'ERR_API_BAD_REQUEST',
  401: 'ERR_API_UNAUTHORIZED',
  402: 'ERR_API_PAYMENT_REQUIRED',
  403: 'ERR_API_FORBIDDEN',
  404: 'ERR_API_NOT_FOUND',
  429: 'ERR_API_RATE_LIMITED',
  596: 'ERR_API_ACCOUNT_ERROR',
};

/** The API answered with an error status. `status` is the HTTP status; the message includes the API's own text. */
export class ApiError extends RunwayBackupError {
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(STATUS_CODES[status] ?? (status >= 500 ? 'ERR_API_SERVER' : 'ERR_API_STATUS'), message, options);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The API answered 2xx with something that is not the documented shape (not JSON, not an array, an HTML page). */
export class MalformedResponseError extends RunwayBackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_API_MALFORMED', message, options);
    this.name = 'MalformedResponseError';
  }
}

/** The host could not be reached, or the connection failed, after every retry. */
export class NetworkError extends RunwayBackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NETWORK', message, options);
    this.name = 'NetworkError';
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends RunwayBackupError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
    this.name = 'AbortError';
  }
}

/** The manifest exists but cannot be read as a manifest. It is kept as it is. */
export class ManifestCorruptError extends RunwayBackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MANIFEST_CORRUPT', message, options);
    this.name = 'ManifestCorruptError';
  }
}

/** A computed path would land outside the output folder. */
export class UnsafePathError extends RunwayBackupError {
  constructor(message: string) {
    super('ERR_UNSAFE_PATH', message);
    this.name = 'UnsafePathError';
  }
}

/** One file could not be downloaded intact. `retryable` says whether another attempt may help. */
export class DownloadError extends RunwayBackupError {
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** How long the server asked us to wait (429 + Retry-After), capped; the retry waits this instead of backoff. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: string,
    message: string,
    options: {
      retryable: boolean;
      status?: number | undefined;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    },
  ) {
    super(code, message, { cause: options.cause });
    this.name = 'DownloadError';
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The output folder or the disk refused a write (ENOSPC, EACCES, EROFS...). */
export class DiskError extends RunwayBackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DISK', message, options);
    this.name = 'DiskError';
  }
}

/**
 * `text` with every occurrence of the API token replaced by `***`: for whatever leaves the process (an error line,
 * a stack, a run record). Tokens shorter than 4 characters are not real ones, and replacing them would garble text.
 */
export function withoutToken(text: string, token: string | undefined): string {
  if (!token || token.length < 4) return text;
  // The token as sent, and as an upstream may quote it back: URL-encoded, or escaped inside a JSON string.
  const forms = new Set([token, encodeURIComponent(token), JSON.stringify(token).slice(1, -1)]);
  let out = text;
  for (const form of forms) out = out.split(form).join('***');
  return out;
}

/** The first line of an error's message (or of what was thrown): a library's message may carry a dump below it. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? '';
}

/** Removes the query string and fragment of a URL so that signatures never reach a message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
  } catch {
    return '<invalid url>';
  }
}
