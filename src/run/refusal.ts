// How one run tells a refused account from a failed run, and says an error in one line without credentials.
import { ApiError, firstLine } from '../errors.js';

/**
 * Errors that end one account's listing but not the other accounts' backups: the API refusing that account
 * (400 not configured, 402, 403, 404, 596). An API that cannot be reached or keeps failing fails every account
 * alike, so it ends the run (exit 4), as does anything else.
 */
export function isAccountRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.status < 500 || error.status === 596) && error.status !== 429;
}

export function describe(error: unknown): string {
  // Our messages already redact URLs; a library's may not, and a signed URL's query is a credential.
  return firstLine(error).replace(/(https?:\/\/[^\s?#]+)[?#]\S*/g, '$1?…');
}
