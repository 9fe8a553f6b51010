import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { isMediaType, MEDIA_TYPES, type MediaType } from './types.js';

/** The fields of `downloads.json`. Every field is optional; see downloads.example.json. */
export interface FileConfig {
  /** Output folder; relative paths are relative to the config file's folder. */
  out?: string;
  /** Account emails (useapi.net needs one when several accounts are configured). */
  accounts?: string[];
  mediaTypes?: MediaType[];
  concurrency?: number | 'auto';
  previews?: boolean;
  metadata?: boolean;
  baseUrl?: string;
  retries?: number;
  timeoutSeconds?: number;
  /** Walk the task history: when an assets window is capped (auto), always, or never. */
  taskHistory?: 'auto' | 'always' | 'never';
}

/**
 * `~` and `~/…` mean the home folder, as in a shell: a config file's `"out": "~/runway"` (and `--out=~/runway`,
 * which shells leave alone) must not create a folder literally named `~`.
 */
export function expandHome(folder: string, home: string = os.homedir()): string {
  if (folder === '~') return home;
  if (folder.startsWith('~/') || folder.startsWith(`~${path.sep}`)) return path.join(home, folder.slice(2));
  return folder;
}

/** Loose on purpose: useapi.net decides what an account email is; we only refuse what would be a path. */
export function isEmail(value: unknown): boolean {
  return typeof value === 'string' && /^[^\s/\\@]+@[^\s/\\@]+$/.test(value);
}

type FieldCheck = (value: unknown) => string | undefined;

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string' && v.trim() !== '');

const integerIn =
  (min: number, max: number): FieldCheck =>
  (value) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max
      ? undefined
      : `an integer from ${min} to ${max}`;

const FIELDS: Record<keyof FileConfig, FieldCheck> = {
  out: (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'a folder path'),
  accounts: (v) => (isStringList(v) && v.every(isEmail) ? undefined : 'a list of account emails'),
  mediaTypes: (v) =>
    Array.isArray(v) && v.length > 0 && v.every(isMediaType)
      ? undefined
      : `a list of ${MEDIA_TYPES.join(', ')}`,
  concurrency: (v) => (v === 'auto' ? undefined : integerIn(1, 32)(v) && '"auto" or an integer from 1 to 32'),
  previews: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  metadata: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  baseUrl: (v) => (typeof v === 'string' && /^https?:\/\//.test(v) ? undefined : 'an http(s) URL'),
  retries: integerIn(0, 20),
  timeoutSeconds: integerIn(1, 3600),
  taskHistory: (v) =>
    v === 'auto' || v === 'always' || v === 'never' ? undefined : '"auto", "always" or "never"',
};

/**
 * Reads and validates a config file. Keys starting with `//` are comments. Unknown keys are errors, so that a
 * typo (`mediatypes`) cannot silently back up everything; a `token` key is refused so the token stays in the
 * environment.
 */
export async function loadConfigFile(file: string): Promise<FileConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new ConfigError(`Cannot read config file ${file}: ${why}`, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `Config file ${file} is not valid JSON: ${(error as Error).message.split('\n')[0]}`,
      {
        cause: error,
      },
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`Config file ${file} must hold a JSON object`);
  }
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith('//') || key === '$schema') continue;
    if (key === 'token' || key === 'apiToken') {
      throw new ConfigError(`Config file ${file}: do not put the token in a file; set USEAPI_TOKEN instead`);
    }
    if (!Object.hasOwn(FIELDS, key)) {
      const known = Object.keys(FIELDS).join(', ');
      throw new ConfigError(`Config file ${file}: unknown field "${key.slice(0, 60)}" (known: ${known})`);
    }
    const problem = FIELDS[key as keyof FileConfig](value);
    if (problem) throw new ConfigError(`Config file ${file}: \`${key}\` must be ${problem}`);
    config[key] = value;
  }
  if (typeof config.out === 'string') {
    config.out = path.resolve(path.dirname(path.resolve(file)), expandHome(config.out));
  }
  return config as FileConfig;
}
