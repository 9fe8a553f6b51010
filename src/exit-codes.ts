import { RunwayBackupError } from './errors.js';

/** The documented exit codes (README, "Exit codes"). One table, used only by the CLI. */
export const EXIT = {
  ok: 0,
  someFailed: 1,
  usage: 2,
  apiRefused: 3,
  apiUnavailable: 4,
  /** An error no code path expected (a bug), caught by the last-resort handler: one line, no stack. */
  internal: 70,
  /** `--max-duration` was reached: the run stopped as Ctrl-C stops it; the next run resumes (EX_TEMPFAIL). */
  timeLimit: 75,
  interrupted: 130,
} as const;

const BY_CODE: Record<string, number> = {
  ERR_USAGE: EXIT.usage,
  ERR_CONFIG: EXIT.usage,
  ERR_MANIFEST_CORRUPT: EXIT.usage,
  ERR_UNSAFE_PATH: EXIT.someFailed,
  ERR_DISK: EXIT.someFailed,
  ERR_API_BAD_REQUEST: EXIT.apiRefused,
  ERR_API_UNAUTHORIZED: EXIT.apiRefused,
  ERR_API_PAYMENT_REQUIRED: EXIT.apiRefused,
  ERR_API_FORBIDDEN: EXIT.apiRefused,
  ERR_API_NOT_FOUND: EXIT.apiRefused,
  ERR_API_ACCOUNT_ERROR: EXIT.apiRefused,
  ERR_API_STATUS: EXIT.apiRefused,
  ERR_API_RATE_LIMITED: EXIT.apiUnavailable,
  ERR_API_SERVER: EXIT.apiUnavailable,
  ERR_API_MALFORMED: EXIT.apiUnavailable,
  ERR_NETWORK: EXIT.apiUnavailable,
  ERR_ABORTED: EXIT.interrupted,
};

export function exitCodeFor(error: unknown): number {
  if (error instanceof RunwayBackupError) return BY_CODE[error.code] ?? EXIT.someFailed;
  return EXIT.someFailed;
}

/**
 * Whether an error code means the run was refused (the command line, the config or the API said no) rather than
 * stopped by trouble (disk, network, a damaged manifest): `status` says `refused` for these. From the same table
 * as the exit codes, so the two cannot disagree.
 */
export function isRefusal(code: string): boolean {
  return code === 'ERR_USAGE' || code === 'ERR_CONFIG' || BY_CODE[code] === EXIT.apiRefused;
}
