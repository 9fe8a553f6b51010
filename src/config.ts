import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { MEDIA_TYPES, type MediaType, mediaTypesIn } from './types.js';

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
  /** Only assets created at or after this date, time or duration before now (`--since`); null: no limit. */
  since?: string | null;
  /** Only assets created before this date, time or duration before now (`--until`); null: no limit. */
  until?: string | null;
  /** Only favorites (`--favorites`). */
  favorites?: boolean;
  /** A regular expression on the name or prompt (`--match`); null: every asset. */
  match?: string | null;
  /** assetIds never to fetch, like `forget` (README, "Forget"). */
  exclude?: string[];
  /** Give each downloaded file its asset's creation time (`--no-mtime` is false). */
  mtime?: boolean;
  /** `--layout`: the path template of each main file (README, "Layout"). */
  layout?: string;
  /** `--timezone`: the time zone of the layout's dates (IANA name or `local`). */
  timezone?: string;
  /** `--limit-rate`: bytes per second (`2M`), or a timetable (`"08:00,2M 19:00,off"`). */
  limitRate?: string;
  /** `--max-duration`: stop taking new work after this long (`90m`, `2h`). */
  maxDuration?: string;
  /** `--log-file`: append one timestamped line per event; relative to the config file's folder. */
  logFile?: string;
  /** `--log-format`: `text` or `json` (JSON lines). */
  logFormat?: 'text' | 'json';
  /** `--on-finish`: a shell command run after every run, with the outcome in `RUNWAY_BACKUP_*` variables. */
  onFinish?: string;
  /** `--metrics-file`: Prometheus text format, for node_exporter's textfile collector; relative as `logFile`. */
  metricsFile?: string;
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

/**
 * `"video"`, `"Video"`, `"video,image"` or `["video", "Image"]`: the media types as a list in lower case, or
 * undefined when it is none of those shapes.
 */
function mediaTypeList(value: unknown): MediaType[] | undefined {
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (items === undefined || !items.every((v) => typeof v === 'string')) return undefined;
  const parsed = mediaTypesIn(items as string[]);
  return 'types' in parsed ? parsed.types : undefined;
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string' && v.trim() !== '');

const integerIn =
  (min: number, max: number): FieldCheck =>
  (value) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max
      ? undefined
      : `an integer from ${min} to ${max}`;

const nonEmptyString =
  (what: string): FieldCheck =>
  (value) =>
    typeof value === 'string' && value.trim() !== '' ? undefined : what;

const FIELDS: Record<keyof FileConfig, FieldCheck> = {
  out: (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'a folder path'),
  accounts: (v) => (isStringList(v) && v.every(isEmail) ? undefined : 'a list of account emails'),
  mediaTypes: (v) => (mediaTypeList(v) ? undefined : `${MEDIA_TYPES.join(', ')}, or a list of them`),
  concurrency: (v) => (v === 'auto' ? undefined : integerIn(1, 32)(v) && '"auto" or an integer from 1 to 32'),
  previews: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  metadata: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  baseUrl: (v) => (typeof v === 'string' && /^https?:\/\//.test(v) ? undefined : 'an http(s) URL'),
  retries: integerIn(0, 20),
  timeoutSeconds: integerIn(1, 3600),
  taskHistory: (v) =>
    v === 'auto' || v === 'always' || v === 'never' ? undefined : '"auto", "always" or "never"',
  // The format of dates and of the regular expression is checked where flags are (commands/filter-flags.ts).
  since: (v) =>
    v === null || (typeof v === 'string' && v.trim() !== '') ? undefined : 'a date, time, duration or null',
  until: (v) =>
    v === null || (typeof v === 'string' && v.trim() !== '') ? undefined : 'a date, time, duration or null',
  favorites: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  match: (v) =>
    v === null || (typeof v === 'string' && v !== '') ? undefined : 'a regular expression or null',
  exclude: (v) => (Array.isArray(v) && isStringList(v) ? undefined : 'a list of assetIds'),
  mtime: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  layout: (v) =>
    typeof v === 'string' && v.trim() !== ''
      ? undefined
      : 'a path template like "{mediaType}/{date}_{name}_{id8}.{ext}"',
  timezone: (v) =>
    typeof v === 'string' && v.trim() !== '' ? undefined : 'an IANA time zone name or "local"',
  // Their syntax is checked where they are parsed, with the field's name (commands/unattended-args.ts).
  limitRate: nonEmptyString('a rate such as "2M" or a timetable such as "08:00,2M 19:00,off"'),
  maxDuration: nonEmptyString('a duration such as "90m"'),
  logFile: nonEmptyString('a file path'),
  logFormat: (v) => (v === 'text' || v === 'json' ? undefined : '"text" or "json"'),
  onFinish: nonEmptyString('a shell command'),
  metricsFile: nonEmptyString('a file path'),
};

/** Line and column (both from 1) of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Where JSON.parse gave up, as a character offset: V8 names it for some errors ("at position 42") and not for
 * others ("Unexpected token 'x', ... is not valid JSON"), so a small scanner finds the first character that cannot
 * continue a JSON text. Used only to report the error, never to parse.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    space();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (ch === '{') {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        space();
        if (text[i] !== ',' && text[i] !== close) fail();
        i++;
        if (text[i - 1] === close) return;
      }
    }
    const word = ch === 't' ? 'true' : ch === 'f' ? 'false' : ch === 'n' ? 'null' : undefined;
    if (ch === '"') string();
    else if (word !== undefined) literal(word);
    else {
      const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!number) fail();
      i += (number as RegExpExecArray)[0].length;
    }
  };
  try {
    value();
    space();
    return Math.min(i, text.length);
  } catch (offset) {
    return Math.min(offset as number, text.length);
  }
}

/** Where and at what JSON.parse gave up, as one line, without V8's quote of the text (which may span lines). */
function jsonProblem(text: string): string {
  const offset = jsonErrorOffset(text);
  const ch = text[offset];
  const what =
    ch === undefined ? 'end of file' : ch === '\n' || ch === '\r' ? 'end of line' : JSON.stringify(ch);
  const { line, column } = lineAndColumn(text, offset);
  return `unexpected ${what} at line ${line}, column ${column}`;
}

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
    throw new ConfigError(`Config file ${file} is not valid JSON: ${jsonProblem(text)}`, {
      cause: error,
    });
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
    config[key] = key === 'mediaTypes' ? mediaTypeList(value) : value;
  }
  // Paths are taken from the config file's folder, so a nightly job can run from anywhere.
  for (const key of ['out', 'logFile', 'metricsFile'] as const) {
    const value = config[key];
    if (typeof value === 'string')
      config[key] = path.resolve(path.dirname(path.resolve(file)), expandHome(value));
  }
  return config as FileConfig;
}
