// src/commands/: one file per command: parse flags, call the library, print, return an exit code. The only
// place (with cli.ts) that reads process.argv or process.env. May import any folder; never imports cli.ts, and
// nothing in the library imports a command.
import path from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isEmail } from '../config.js';
import type { ConcurrencySetting } from '../engine/lanes.js';
import { UsageError } from '../errors.js';
import { MEDIA_TYPES, type MediaType, mediaTypesIn } from '../types.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, strict, with its errors turned into one-line UsageErrors. Positionals only when asked
 * (`forget FILE`); every other command refuses a stray word.
 */
export function parseFlags<T extends Options>(
  argv: string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: allowPositionals as false });
  } catch (error) {
    const first = (error as Error).message.split('\n')[0] ?? 'bad arguments';
    const option = /Option '(?:-\w, )?(--[\w-]+)/.exec(first)?.[1];
    // node's wording for `--concurrency` without a value, or with one that starts with a dash.
    const message =
      option && /argument missing|argument is ambiguous/.test(first)
        ? `Option '${option}' needs a value (write ${option}=VALUE if it starts with a dash)`
        : first.replace(/\. To specify a positional argument.*$/, '').replace(/\.$/, '');
    const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
    const guess = unknown
      ? didYouMean(
          unknown.split('=')[0] as string,
          Object.keys(options).map((o) => `--${o}`),
        )
      : undefined;
    throw new UsageError(`${message}${guess ? `; did you mean ${guess}?` : ''}; try --help`);
  }
}

/** `auto`, or an integer from 1 to 32. */
export function parseConcurrency(value: string | undefined): ConcurrencySetting | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === 'auto') return 'auto';
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 32) {
    throw new UsageError(
      `Expected \`--concurrency\` to be "auto" or an integer from 1 to 32, got "${value.slice(0, 40)}"`,
    );
  }
  return Number(value);
}

export function parseInteger(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(
      `Expected \`--${name}\` to be an integer from ${min} to ${max}, got "${value.slice(0, 40)}"`,
    );
  }
  return Number(value);
}

/**
 * The closest of `known` to a mistyped `word` (edit distance at most 2, or a third of its length for long words),
 * for "did you mean": `bakup` -> `backup`, `--concurency` -> `--concurrency`. Undefined when nothing is close.
 */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const up = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = d;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** `--media-type video,image` and repeated `--media-type` flags, validated; case does not matter (`Video`). */
export function parseMediaTypes(values: string[] | string | undefined): MediaType[] | undefined {
  if (values === undefined) return undefined;
  const parsed = mediaTypesIn(Array.isArray(values) ? values : [values]);
  if ('types' in parsed) return parsed.types;
  throw new UsageError(
    `Expected \`--media-type\` to be ${MEDIA_TYPES.join(', ')} (comma-separated), got "${parsed.bad.slice(0, 40)}"`,
  );
}

export function parseEmails(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const list = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = list.find((v) => !isEmail(v));
  if (bad !== undefined)
    throw new UsageError(`Expected \`--email\` to be an account email, got "${bad.slice(0, 60)}"`);
  return list;
}

/** One flag: its node:util parseArgs definition plus what `--help` says about it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in the help (`DIR`, `N`). */
  value?: string;
  help: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** The options every command that has them takes in the same spelling and meaning (README, "Shared options"). */
export const SHARED_FLAGS = {
  out: {
    type: 'string',
    value: 'DIR',
    help: 'the backup folder (default ./runway-backup; `~` is your home)',
  },
  email: {
    type: 'string',
    multiple: true,
    value: 'E',
    help: 'account email at useapi.net (env USEAPI_EMAIL); repeat for several accounts',
  },
  'media-type': {
    type: 'string',
    multiple: true,
    value: 'T',
    help: 'video, image, audio: comma-separated or repeated (default all three)',
  },
  config: {
    type: 'string',
    value: 'FILE',
    help: 'read options from a JSON config file (README, "Config file")',
  },
  'base-url': {
    type: 'string',
    value: 'URL',
    help: 'the API address (env USEAPI_BASE_URL; default https://api.useapi.net)',
  },
  retries: { type: 'string', value: 'N', help: 'retries of one request or file, 0..20 (default 5)' },
  timeout: {
    type: 'string',
    value: 'SECONDS',
    help: 'idle time before a connection counts as stalled and is retried, 1..3600 (default 30)',
  },
  json: { type: 'boolean', help: 'print the result as JSON on stdout' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress and no summary: only warnings and errors' },
} as const satisfies FlagSpecs;

export interface CommandSpec {
  name: string;
  /** One line: what the command does. */
  summary: string;
  flags: FlagSpecs;
  /** The arguments besides the options, as in the usage line (`FILE|ASSET_ID`). */
  usage?: string | undefined;
  /** Lines after the option list. */
  notes?: string[] | undefined;
}

/** `--help` or `-h` anywhere before a `--`: the command's help wins over any other flag. */
export function helpRequested(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** The help of one command, listing every flag it accepts (generated from the flags it parses). */
export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, flag]) => [
    `${flag.short ? `-${flag.short}, ` : '    '}--${name}${flag.value ? ` ${flag.value}` : ''}`,
    flag.help,
  ]);
  rows.push(['-h, --help', 'this help']);
  const width = Math.max(...rows.map(([left]) => left!.length)) + 2;
  return [
    `runway-backup ${spec.name}: ${spec.summary}`,
    '',
    `Usage: runway-backup ${spec.name}${spec.usage ? ` ${spec.usage}` : ''} [options]`,
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left!.padEnd(width)}${right}`),
    ...(spec.notes ? ['', ...spec.notes] : []),
    '',
  ].join('\n');
}

/**
 * How the user started this program, so the hints can be pasted as they are: `node dist/cli.js` in a checkout,
 * `runway-backup` when installed (npm link, npm i -g, npx), where the script is reached through the bin link.
 */
export function invokedAs(script: string | undefined, cwd: string): string {
  if (script === undefined || path.basename(script) !== 'cli.js') return 'runway-backup';
  const relative = path.relative(cwd, script);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? script : relative;
  return `node ${/\s/.test(shown) ? JSON.stringify(shown) : shown}`;
}
