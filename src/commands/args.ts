import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isEmail } from '../config.js';
import { UsageError } from '../errors.js';
import type { ConcurrencySetting } from '../lanes.js';
import { isMediaType, MEDIA_TYPES, type MediaType } from '../types.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its errors turned into one-line UsageErrors. */
export function parseFlags<T extends Options>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    const first = (error as Error).message.split('\n')[0] ?? 'bad arguments';
    const option = /Option '(?:-\w, )?(--[\w-]+)/.exec(first)?.[1];
    // node's wording for `--concurrency` without a value, or with one that starts with a dash.
    const message =
      option && /argument missing|argument is ambiguous/.test(first)
        ? `Option '${option}' needs a value (write ${option}=VALUE if it starts with a dash)`
        : first.replace(/\. To specify a positional argument.*$/, '').replace(/\.$/, '');
    throw new UsageError(`${message}; try --help`);
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

/** `--media-type video,image` and repeated `--media-type` flags, validated. */
export function parseMediaTypes(values: string[] | string | undefined): MediaType[] | undefined {
  if (values === undefined) return undefined;
  const list = (Array.isArray(values) ? values : [values]).flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = list.find((v) => !isMediaType(v));
  if (bad !== undefined || list.length === 0) {
    throw new UsageError(
      `Expected \`--media-type\` to be ${MEDIA_TYPES.join(', ')} (comma-separated), got "${(bad ?? '').slice(0, 40)}"`,
    );
  }
  return [...new Set(list)] as MediaType[];
}

export function parseEmails(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const list = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = list.find((v) => !isEmail(v));
  if (bad !== undefined)
    throw new UsageError(`Expected \`--email\` to be an account email, got "${bad.slice(0, 60)}"`);
  return list;
}
