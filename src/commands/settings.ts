import path from 'node:path';
import { DEFAULT_BASE_URL } from '../api/client.js';
import { loadConfigFile } from '../config.js';
import { UsageError } from '../errors.js';
import type { TaskHistoryMode } from '../sources.js';
import type { MediaType } from '../types.js';
import { MEDIA_TYPES } from '../types.js';
import { parseEmails, parseMediaTypes } from './args.js';

/** What the backup command runs with, after flags > environment > config file > defaults. */
export interface BackupSettings {
  token: string;
  baseUrl: string;
  out: string;
  accounts: string[];
  mediaTypes: MediaType[];
  concurrency: number;
  previews: boolean;
  metadata: boolean;
  retries: number;
  timeoutMs: number;
  /** `--task-history`: walk the task history when a window is capped (auto), always, or never. */
  taskHistory?: TaskHistoryMode | undefined;
}

export interface FlagValues {
  out?: string | undefined;
  email?: string[] | undefined;
  mediaType?: string[] | undefined;
  concurrency?: number | undefined;
  noPreviews?: boolean | undefined;
  metadata?: boolean | undefined;
  config?: string | undefined;
  baseUrl?: string | undefined;
  retries?: number | undefined;
  taskHistory?: TaskHistoryMode | undefined;
}

export const DEFAULT_OUT = 'runway-backup';

export function envToken(env: NodeJS.ProcessEnv): string {
  const token = env.USEAPI_TOKEN?.trim();
  if (!token)
    throw new UsageError('No API token: set USEAPI_TOKEN to your useapi.net token (see README, "Token")');
  return token;
}

export async function resolveSettings(flags: FlagValues, env: NodeJS.ProcessEnv): Promise<BackupSettings> {
  const file = flags.config ? await loadConfigFile(flags.config) : {};
  const envEmails = env.USEAPI_EMAIL ? parseEmails([env.USEAPI_EMAIL]) : undefined;
  const settings: BackupSettings = {
    token: envToken(env),
    baseUrl: flags.baseUrl ?? (env.USEAPI_BASE_URL || undefined) ?? file.baseUrl ?? DEFAULT_BASE_URL,
    out: path.resolve(flags.out ?? file.out ?? DEFAULT_OUT),
    accounts:
      parseEmails(flags.email) ?? envEmails ?? (file.accounts ? parseEmails(file.accounts) : undefined) ?? [],
    mediaTypes: parseMediaTypes(flags.mediaType) ?? file.mediaTypes ?? [...MEDIA_TYPES],
    concurrency: flags.concurrency ?? file.concurrency ?? 4,
    previews: flags.noPreviews ? false : (file.previews ?? true),
    metadata: flags.metadata ? true : (file.metadata ?? false),
    retries: flags.retries ?? file.retries ?? 5,
    timeoutMs: (file.timeoutSeconds ?? 30) * 1000,
    taskHistory: flags.taskHistory,
  };
  return settings;
}
