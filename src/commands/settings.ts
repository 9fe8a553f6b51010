import path from 'node:path';
import { DEFAULT_BASE_URL } from '../api/client.js';
import { expandHome, type FileConfig, loadConfigFile } from '../config.js';
import type { ConcurrencySetting } from '../engine/lanes.js';
import type { RateSchedule } from '../engine/rate-limit.js';
import { UsageError } from '../errors.js';
import type { LogFormat } from '../report/log-file.js';
import type { TaskHistoryMode } from '../source/sources.js';
import type { AssetFilter } from '../store/wanted.js';
import type { MediaType } from '../types.js';
import { MEDIA_TYPES } from '../types.js';
import { parseConcurrency, parseEmails, parseInteger, parseMediaTypes } from './args.js';
import { type RawFilterFlags, resolveFilter } from './filter-flags.js';
import { parseDuration, parseLimitRate } from './unattended-args.js';

/** What the backup command runs with, after flags > environment > config file > defaults. */
export interface BackupSettings {
  token: string;
  baseUrl: string;
  out: string;
  accounts: string[];
  mediaTypes: MediaType[];
  concurrency: ConcurrencySetting;
  previews: boolean;
  metadata: boolean;
  retries: number;
  timeoutMs: number;
  /** `--task-history`: walk the task history when a window is capped (auto), always, or never. */
  taskHistory?: TaskHistoryMode | undefined;
  /** `--since`, `--until`, `--favorites`, `--match` and the config's `exclude` (media types are `mediaTypes`). */
  filter: AssetFilter;
  /** Give each downloaded file its asset's creation time (`--no-mtime`: false). */
  mtime: boolean;
  /** `--layout`: the template of each main file's path (checked by the run). */
  layout?: string | undefined;
  /** `--timezone`: the zone of the layout's dates. */
  timeZone?: string | undefined;
  /** `--limit-rate`: the byte budget of the transfers, a rate or a timetable. */
  limitRate?: RateSchedule | undefined;
  /** `--max-duration`, in ms: then the run stops as Ctrl-C stops it, and exits 75. */
  maxDurationMs?: number | undefined;
  /** `--log-file`, `--log-format`, `--on-finish`, `--metrics-file` (commands/unattended.ts). */
  logFile?: string | undefined;
  logFormat?: LogFormat | undefined;
  onFinish?: string | undefined;
  metricsFile?: string | undefined;
}

export interface FlagValues {
  out?: string | undefined;
  email?: string[] | undefined;
  mediaType?: string[] | undefined;
  concurrency?: ConcurrencySetting | undefined;
  noPreviews?: boolean | undefined;
  metadata?: boolean | undefined;
  config?: string | undefined;
  baseUrl?: string | undefined;
  retries?: number | undefined;
  /** Idle timeout in seconds (`--timeout`). */
  timeout?: number | undefined;
  taskHistory?: TaskHistoryMode | undefined;
  filter?: RawFilterFlags | undefined;
  noMtime?: boolean | undefined;
  layout?: string | undefined;
  timezone?: string | undefined;
  limitRate?: RateSchedule | undefined;
  maxDurationMs?: number | undefined;
  logFile?: string | undefined;
  logFormat?: LogFormat | undefined;
  onFinish?: string | undefined;
  metricsFile?: string | undefined;
}

export const DEFAULT_OUT = 'runway-backup';

export function envToken(env: NodeJS.ProcessEnv): string {
  const token = env.USEAPI_TOKEN?.trim();
  if (!token)
    throw new UsageError('No API token: set USEAPI_TOKEN to your useapi.net token (see README, "Token")');
  return token;
}

/** The output folder: the flag, else the config file's (already absolute), else the default; `~` expanded. */
export function resolveOut(flag: string | undefined, file: FileConfig): string {
  // `--out ""` (an unset variable in a script: `--out "$DEST"`) would otherwise mean the current folder.
  if (flag !== undefined && flag.trim() === '') {
    throw new UsageError('Expected `--out` to be a folder, got an empty value');
  }
  return path.resolve(expandHome(flag ?? file.out ?? DEFAULT_OUT));
}

/** The folder of a command that reads a backup (`status`, `gallery`): `--out`, else the config file's `out`. */
export async function outFromConfig(flag: string | undefined, config: string | undefined): Promise<string> {
  return resolveOut(flag, config ? await loadConfigFile(config) : {});
}

export async function resolveSettings(flags: FlagValues, env: NodeJS.ProcessEnv): Promise<BackupSettings> {
  const file = flags.config ? await loadConfigFile(flags.config) : {};
  const envEmails = env.USEAPI_EMAIL ? parseEmails([env.USEAPI_EMAIL]) : undefined;
  const settings: BackupSettings = {
    token: envToken(env),
    baseUrl: flags.baseUrl ?? (env.USEAPI_BASE_URL || undefined) ?? file.baseUrl ?? DEFAULT_BASE_URL,
    out: resolveOut(flags.out, file),
    accounts:
      parseEmails(flags.email) ?? envEmails ?? (file.accounts ? parseEmails(file.accounts) : undefined) ?? [],
    mediaTypes: parseMediaTypes(flags.mediaType) ?? file.mediaTypes ?? [...MEDIA_TYPES],
    concurrency: flags.concurrency ?? file.concurrency ?? 'auto',
    previews: flags.noPreviews ? false : (file.previews ?? true),
    metadata: flags.metadata ? true : (file.metadata ?? false),
    retries: flags.retries ?? file.retries ?? 5,
    timeoutMs: (flags.timeout ?? file.timeoutSeconds ?? 30) * 1000,
    taskHistory: flags.taskHistory ?? file.taskHistory,
    filter: resolveFilter(flags.filter ?? {}, file, flags.config),
    mtime: flags.noMtime ? false : (file.mtime ?? true),
    layout: flags.layout ?? file.layout,
    timeZone: flags.timezone ?? file.timezone,
    limitRate: flags.limitRate ?? parseLimitRate(file.limitRate, '`limitRate` in the config file'),
    maxDurationMs: flags.maxDurationMs ?? parseDuration(file.maxDuration, '`maxDuration` in the config file'),
    logFile: flags.logFile ? path.resolve(expandHome(flags.logFile)) : file.logFile,
    logFormat: flags.logFormat ?? file.logFormat,
    onFinish: flags.onFinish ?? file.onFinish,
    metricsFile: flags.metricsFile ? path.resolve(expandHome(flags.metricsFile)) : file.metricsFile,
  };
  return settings;
}

/** The flags as parsed, before validation; every command passes the ones it has. */
export interface RawFlags {
  out?: string | undefined;
  email?: string[] | undefined;
  'media-type'?: string[] | undefined;
  concurrency?: string | undefined;
  'no-previews'?: boolean | undefined;
  metadata?: boolean | undefined;
  config?: string | undefined;
  'base-url'?: string | undefined;
  retries?: string | undefined;
  timeout?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  favorites?: boolean | undefined;
  match?: string | undefined;
  'no-mtime'?: boolean | undefined;
  layout?: string | undefined;
  timezone?: string | undefined;
}

/** Validates the shared flags the same way for every command. */
export function flagValues(values: RawFlags): FlagValues {
  return {
    out: values.out,
    email: values.email,
    mediaType: values['media-type'],
    concurrency: parseConcurrency(values.concurrency),
    noPreviews: values['no-previews'],
    metadata: values.metadata,
    config: values.config,
    baseUrl: values['base-url'],
    retries: parseInteger('retries', values.retries, 0, 20),
    timeout: parseInteger('timeout', values.timeout, 1, 3600),
    filter: {
      since: values.since,
      until: values.until,
      favorites: values.favorites,
      match: values.match,
    },
    noMtime: values['no-mtime'],
    layout: values.layout,
    timezone: values.timezone,
  };
}
