/** The options of `backup()`, and their validation: once, at the boundary, with messages that name the option. */

import type { AssetsClient } from '../api/client.js';
import type { ConcurrencySetting } from '../engine/lanes.js';
import type { PartIO } from '../engine/part-file.js';
import type { RateSchedule } from '../engine/rate-limit.js';
import type { Transport } from '../engine/transport.js';
import { UsageError } from '../errors.js';
import { parseTaskHistoryMode, TASK_HISTORY_MODES, type TaskHistoryMode } from '../source/sources.js';
import { resolveTimeZone } from '../store/render-layout.js';
import { DEFAULT_LAYOUT, type LayoutTemplate, parseLayout } from '../store/template.js';
import { type AssetFilter, checkFilter } from '../store/wanted.js';
import { isMediaType, MEDIA_TYPES, type MediaType } from '../types.js';
import type { BackupEvent } from './accounting.js';

export interface BackupOptions {
  /** useapi.net API token. */
  token: string;
  /** @default 'https://api.useapi.net' */
  baseUrl?: string | undefined;
  /** The output folder. Nothing is written outside it. */
  out: string;
  /** Account emails; each gets `<out>/<email>/` when there are several. @default [] (the only account) */
  accounts?: string[] | undefined;
  /** Media types to back up. @default every type */
  mediaTypes?: MediaType[] | undefined;
  /**
   * Parallel transfers: `'auto'` grows them while the throughput grows and shrinks them on 429/5xx/timeouts
   * (2..32), a number 1..32 keeps a fixed pool. @default 'auto'
   */
  concurrency?: ConcurrencySetting | undefined;
  /** Also download every `previewUrls` entry. @default true */
  previews?: boolean | undefined;
  /** Write a JSON sidecar with the API's fields (no URLs) beside each asset. @default false */
  metadata?: boolean | undefined;
  /** List what would be downloaded; write nothing. @default false */
  dryRun?: boolean | undefined;
  /** Retries of one request or file segment for transient failures, 0..20. @default 5 */
  retries?: number | undefined;
  /** Idle timeout of one request, in ms (100..3,600,000). @default 30_000 */
  timeoutMs?: number | undefined;
  /** Base of the retry backoff, in ms (0..60,000). @default 500 */
  backoffBaseMs?: number | undefined;
  /** Walk the task history: when an assets window is capped (auto), always, or never. @default 'auto' */
  taskHistory?: TaskHistoryMode | undefined;
  /** Split the tail of large files into Range segments on free lanes. @default true */
  split?: boolean | undefined;
  /**
   * Which assets the run wants besides `mediaTypes` (README, "Filters"): `since` (inclusive) and `until`
   * (exclusive) as ISO instants, `favorites`, `match` (a regular expression on name or prompt), `exclude`
   * (assetIds). What it leaves out is not fetched, and `verify` does not report it missing. @default {}
   */
  filter?: AssetFilter | undefined;
  /** Set each downloaded file's modification time to its asset's `createdAt`. @default true */
  mtime?: boolean | undefined;
  /**
   * Where each main file goes (README, "Layout"): a relative path with placeholders such as
   * `{year}/{month}/{name}_{id8}.{ext}`. Recorded files are moved to it, never downloaded again.
   * @default '{mediaType}/{date}_{name}_{id8}.{ext}'
   */
  layout?: string | undefined;
  /** The time zone of the layout's dates: an IANA name or `local`. @default 'UTC' */
  timeZone?: string | undefined;
  /**
   * `--limit-rate`: the byte budget of every file transfer together, one rate or a timetable (`parseRateSchedule`).
   * The listing is not counted. @default no limit
   */
  limitRate?: RateSchedule | undefined;
  signal?: AbortSignal | undefined;
  /** Progress and findings, as they happen. Must be cheap: `file-bytes` fires per chunk. */
  onEvent?: ((event: BackupEvent) => void) | undefined;
  /**
   * Called once the run holds the output folder's lock, before the listing (not for dry runs, which take none).
   * The CLI writes its run record here: a record written before the lock could overwrite that of a run already
   * holding the folder. A rejection ends the run with that error.
   */
  onLocked?: (() => Promise<void> | void) | undefined;
  /** Replace the API client (tests, custom transports). */
  client?: AssetsClient | undefined;
  /** Replace the HTTP client of the file transfers. @default nodeTransport */
  transport?: Transport | undefined;
  /** Replace the file system of the `.part` files (tests: a disk that fills up). @default node:fs */
  io?: PartIO | undefined;
}

export interface ResolvedBackupOptions {
  token: string;
  baseUrl: string | undefined;
  out: string;
  /** `[undefined]` for the only account. */
  accounts: (string | undefined)[];
  mediaTypes: MediaType[];
  concurrency: ConcurrencySetting;
  previews: boolean;
  metadata: boolean;
  dryRun: boolean;
  retries: number;
  timeoutMs: number;
  backoffBaseMs: number;
  split: boolean;
  taskHistory: TaskHistoryMode;
  /** The filter the run applies and records, `mediaTypes` included when not all three. */
  filter: AssetFilter;
  mtime: boolean;
  layout: LayoutTemplate;
  timeZone: string;
  limitRate: RateSchedule | undefined;
}

function integer(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`Expected \`${name}\` to be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new UsageError(`Expected \`${name}\` to be true or false`);
  return value;
}

/** Checks every option of `backup()` and fills in the defaults. Throws UsageError naming the first bad one. */
export function resolveBackupOptions(options: BackupOptions): ResolvedBackupOptions {
  if (typeof options !== 'object' || options === null) throw new UsageError('Expected an options object');
  if (typeof options.out !== 'string' || options.out.trim() === '') {
    throw new UsageError('Expected `out` to be a folder path');
  }
  const accounts = options.accounts ?? [];
  if (!Array.isArray(accounts) || !accounts.every((a) => typeof a === 'string' && a.trim() !== '')) {
    throw new UsageError('Expected `accounts` to be a list of account emails');
  }
  const types = options.mediaTypes ?? [...MEDIA_TYPES];
  if (!Array.isArray(types) || types.length === 0 || !types.every(isMediaType)) {
    // Named as the library user spells it; the CLI checks `--media-type` itself, with its own name.
    throw new UsageError(`Expected \`mediaTypes\` to be a list of ${MEDIA_TYPES.join(', ')}`);
  }
  const concurrency =
    options.concurrency === 'auto' || options.concurrency === undefined
      ? 'auto'
      : integer('concurrency', options.concurrency, 1, 32, 4);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new UsageError('Expected `signal` to be an AbortSignal');
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new UsageError('Expected `onEvent` to be a function');
  }
  if (options.onLocked !== undefined && typeof options.onLocked !== 'function') {
    throw new UsageError('Expected `onLocked` to be a function');
  }
  // Checked here: parseTaskHistoryMode trims its argument, and a number from untyped JS would throw a TypeError.
  if (options.taskHistory !== undefined && typeof options.taskHistory !== 'string') {
    throw new UsageError(`Expected \`taskHistory\` to be one of ${TASK_HISTORY_MODES.join(', ')}`);
  }
  const filter = resolveFilter(options.filter, [...new Set(types)]);
  const limitRate = options.limitRate;
  if (limitRate !== undefined && (!Array.isArray(limitRate) || limitRate.length === 0)) {
    throw new UsageError('Expected `limitRate` to be a timetable from parseRateSchedule');
  }
  return {
    limitRate,
    token: options.token,
    baseUrl: options.baseUrl,
    out: options.out,
    accounts: accounts.length > 0 ? [...new Set(accounts)] : [undefined],
    mediaTypes: [...new Set(types)],
    concurrency,
    previews: flag('previews', options.previews, true),
    metadata: flag('metadata', options.metadata, false),
    dryRun: flag('dryRun', options.dryRun, false),
    retries: integer('retries', options.retries, 0, 20, 5),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 100, 3_600_000, 30_000),
    backoffBaseMs: integer('backoffBaseMs', options.backoffBaseMs, 0, 60_000, 500),
    split: flag('split', options.split, true),
    taskHistory: parseTaskHistoryMode(options.taskHistory) ?? 'auto',
    filter,
    mtime: flag('mtime', options.mtime, true),
    layout: parseLayout(typeof options.layout === 'string' ? options.layout : DEFAULT_LAYOUT),
    timeZone: timeZoneOf(options.timeZone),
  };
}

/** The run's filter, checked, with the media types in it (when not all three) and no empty fields. */
function resolveFilter(given: AssetFilter | undefined, types: MediaType[]): AssetFilter {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new UsageError('Expected `filter` to be an object');
  }
  const exclude = given?.exclude;
  if (exclude !== undefined && (!Array.isArray(exclude) || !exclude.every((id) => typeof id === 'string'))) {
    throw new UsageError('Expected `filter.exclude` to be a list of assetIds');
  }
  const filter: AssetFilter = {};
  if (types.length < MEDIA_TYPES.length) filter.mediaTypes = types;
  for (const key of ['since', 'sinceGiven', 'until', 'untilGiven', 'match'] as const) {
    const value = given?.[key];
    if (value !== undefined) filter[key] = value;
  }
  if (given?.favorites) filter.favorites = true;
  if (exclude?.length) filter.exclude = [...new Set(exclude)];
  checkFilter(filter);
  return filter;
}

/** `--timezone`: an IANA zone name or `local`, checked; a usage error that shows the value otherwise. */
function timeZoneOf(value: unknown): string {
  if (value === undefined) return 'UTC';
  try {
    if (typeof value !== 'string') throw new RangeError('not a string');
    return resolveTimeZone(value.trim());
  } catch {
    throw new UsageError(
      `Expected \`--timezone\` to be an IANA time zone (like Europe/Berlin) or "local", got ${JSON.stringify(String(value).slice(0, 60))}`,
    );
  }
}
