// The filter flags `backup` and `list` share (README, "Filters"), and how they combine with the config file's
// fields: a flag beats the file, field by field. Dates, durations and the regular expression are checked here,
// once, with a usage error that shows the value.
import type { FileConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { type AssetFilter, checkFilter, compileMatch, parseInstant } from '../store/wanted.js';
import type { FlagSpecs } from './args.js';

export const FILTER_FLAGS = {
  since: {
    type: 'string',
    value: 'DATE',
    help: 'only assets created at or after DATE: 2026-11-01 (UTC), 2026-11-01T08:00Z, or 7d, 12h, 2w ago',
  },
  until: {
    type: 'string',
    value: 'DATE',
    help: 'only assets created before DATE (same forms as --since; DATE itself is left out)',
  },
  favorites: { type: 'boolean', help: 'only the assets marked favorite on Runway' },
  match: {
    type: 'string',
    value: 'REGEX',
    help: 'only assets whose name or prompt matches REGEX (case-insensitive; /REGEX/flags to choose)',
  },
} as const satisfies FlagSpecs;

export interface RawFilterFlags {
  since?: string | undefined;
  until?: string | undefined;
  favorites?: boolean | undefined;
  match?: string | undefined;
}

/** The filter of a run from its flags and config file (media types aside: they have their own setting). */
export function resolveFilter(
  flags: RawFilterFlags,
  file: FileConfig,
  configFile: string | undefined,
  now: Date = new Date(),
): AssetFilter {
  const filter: AssetFilter = {};
  const inFile = (field: string) => `\`${field}\` in ${configFile ?? 'the config file'}`;
  for (const key of ['since', 'until'] as const) {
    const flag = flags[key];
    const value = flag ?? file[key] ?? undefined;
    if (value === undefined) continue;
    filter[key] = parseInstant(value, flag !== undefined ? `\`--${key}\`` : inFile(key), now);
    filter[key === 'since' ? 'sinceGiven' : 'untilGiven'] = value;
  }
  if (flags.favorites || file.favorites) filter.favorites = true;
  const match = flags.match ?? file.match ?? undefined;
  if (match !== undefined) {
    if (match === '')
      throw new UsageError('Expected `--match` to be a regular expression, got an empty value');
    compileMatch(match, flags.match !== undefined ? '`--match`' : inFile('match'));
    filter.match = match;
  }
  if (file.exclude?.length) filter.exclude = [...new Set(file.exclude)];
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw new UsageError(
      `Expected --since (${filter.sinceGiven}) to be before --until (${filter.untilGiven}): no asset is that old and that new`,
    );
  }
  checkFilter(filter);
  return filter;
}
