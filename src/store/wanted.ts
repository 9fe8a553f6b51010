// Which assets a backup wants: the filters of a run (`--since`, `--until`, `--favorites`, `--match`,
// `--media-type`), the config's `exclude` list and the assets `forget` made unwanted. Pure: no files. Lives in the
// store because the manifest records the last run's filter, so that `verify` and `status` judge a backup by what
// its runs asked for, and the list command, the run and verify must agree on one rule.
import { UsageError } from '../errors.js';
import type { MediaType } from '../types.js';
import { MEDIA_TYPES } from '../types.js';

/**
 * What a run wants, resolved: instants are ISO strings (UTC), a duration already turned into the instant it meant
 * when the run started. Recorded in the manifest (`filter`) and in the run record's summary. Every field optional:
 * `{}` wants everything.
 */
export interface AssetFilter {
  /** Only these media types; absent means all three. */
  mediaTypes?: MediaType[] | undefined;
  /** `createdAt` at or after this instant (inclusive). */
  since?: string | undefined;
  /** `createdAt` before this instant (exclusive). */
  until?: string | undefined;
  /** How `since` and `until` were written (`7d`, `2026-11-01`), for `status`. */
  sinceGiven?: string | undefined;
  untilGiven?: string | undefined;
  /** Only assets whose `favorite` is true. */
  favorites?: boolean | undefined;
  /** A regular expression on the name or the prompt, as written (see compileMatch). */
  match?: string | undefined;
  /** assetIds never to fetch (the config's `exclude`). */
  exclude?: string[] | undefined;
}

/** The fields of an asset (listed, or as the manifest recorded it) that the filters look at. */
export interface FilterSubject {
  assetId: string;
  name?: string | undefined;
  prompt?: string | undefined;
  createdAt?: string | undefined;
  favorite?: boolean | undefined;
  mediaType?: string | undefined;
}

/** Why a filter leaves an asset out. `no-date`: a date filter is set and the asset has no usable `createdAt`. */
export type LeftOutBy = 'media-type' | 'since' | 'until' | 'no-date' | 'favorites' | 'match' | 'excluded';

const DAY = 86_400_000;
const UNITS: Record<string, number> = { h: 3_600_000, d: DAY, w: 7 * DAY };

/**
 * `2026-11-01` (its midnight UTC), `2026-11-01T08:00[:00[.000]]` with `Z` or `+02:00` (no zone: UTC, like a bare
 * date), or a duration before `now`: `12h`, `7d`, `2w`. The instant as an ISO string; UsageError naming `label`
 * and showing the value otherwise.
 */
export function parseInstant(value: string, label: string, now: Date = new Date()): string {
  const text = value.trim();
  const bad = (): never => {
    throw new UsageError(
      `Expected ${label} to be a date (2026-11-01), a time (2026-11-01T08:00:00Z) or a duration before now (12h, 7d, 2w), got "${value.slice(0, 60)}"`,
    );
  };
  const duration = /^(\d{1,6})\s*([hdw])$/i.exec(text);
  if (duration) {
    const ms = Number(duration[1]) * (UNITS[(duration[2] as string).toLowerCase()] as number);
    return new Date(now.getTime() - ms).toISOString();
  }
  const date =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i.exec(text);
  if (!date) return bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00', , zone] = date;
  // Date.parse would roll 2026-02-30 over to March 2; a date that is not on the calendar is a typo.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    day.getUTCFullYear() !== Number(y) ||
    day.getUTCMonth() !== Number(mo) - 1 ||
    day.getUTCDate() !== Number(d)
  )
    return bad();
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return bad();
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${date[7] ?? ''}${zone ? zone.toUpperCase() : 'Z'}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? bad() : new Date(ms).toISOString();
}

/**
 * `--match`: a JavaScript regular expression, case-insensitive. Written as `/pattern/flags` it takes exactly
 * those flags (`/Dog/` is case-sensitive, `/dog/i` is not); `g` and `y` are refused, since they make a test
 * depend on the one before. UsageError naming `label` and showing the value when it does not compile.
 */
export function compileMatch(value: string, label: string): RegExp {
  const slashed = /^\/(.*)\/([a-z]*)$/s.exec(value);
  const source = slashed ? (slashed[1] as string) : value;
  const flags = slashed ? (slashed[2] as string) : 'i';
  if (source === '') throw new UsageError(`Expected ${label} to be a regular expression, got "${value}"`);
  if (/[gy]/.test(flags)) {
    throw new UsageError(`Expected ${label} without the g or y flag, got "${value.slice(0, 60)}"`);
  }
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const why = (error as Error).message.replace(/^Invalid regular expression: /, '').split('\n')[0];
    throw new UsageError(
      `Expected ${label} to be a regular expression, got "${value.slice(0, 60)}" (${why})`,
    );
  }
}

/** Checks a filter from a library caller (the CLI builds it valid); UsageError naming the field. */
export function checkFilter(filter: AssetFilter): void {
  for (const key of ['since', 'until'] as const) {
    const value = filter[key];
    if (value !== undefined && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
      throw new UsageError(`Expected \`filter.${key}\` to be an ISO date or time, got ${String(value)}`);
    }
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw new UsageError(
      `Expected since (${filter.sinceGiven ?? filter.since}) to be before until (${filter.untilGiven ?? filter.until}): nothing is that old and that new`,
    );
  }
  if (filter.match !== undefined) compileMatch(filter.match, '`filter.match`');
  if (filter.mediaTypes !== undefined && !filter.mediaTypes.every((t) => MEDIA_TYPES.includes(t))) {
    throw new UsageError(`Expected \`filter.mediaTypes\` to be a list of ${MEDIA_TYPES.join(', ')}`);
  }
}

/** True when the filter leaves nothing out. */
export function isEmptyFilter(filter: AssetFilter | undefined): boolean {
  if (!filter) return true;
  return (
    (filter.mediaTypes === undefined || filter.mediaTypes.length === MEDIA_TYPES.length) &&
    filter.since === undefined &&
    filter.until === undefined &&
    !filter.favorites &&
    filter.match === undefined &&
    !filter.exclude?.length
  );
}

/** The filter as one function, its regular expression compiled once: why it leaves a subject out, or undefined. */
export function selector(filter: AssetFilter | undefined): (subject: FilterSubject) => LeftOutBy | undefined {
  if (isEmptyFilter(filter) || !filter) return () => undefined;
  const types = filter.mediaTypes && new Set<string>(filter.mediaTypes);
  const since = filter.since === undefined ? undefined : Date.parse(filter.since);
  const until = filter.until === undefined ? undefined : Date.parse(filter.until);
  const match = filter.match === undefined ? undefined : compileMatch(filter.match, '`match`');
  const exclude = new Set(filter.exclude ?? []);
  return (subject) => {
    if (exclude.has(subject.assetId)) return 'excluded';
    if (types && types.size < MEDIA_TYPES.length && !types.has(subject.mediaType ?? '')) return 'media-type';
    if (since !== undefined || until !== undefined) {
      const created = subject.createdAt === undefined ? Number.NaN : Date.parse(subject.createdAt);
      if (Number.isNaN(created)) return 'no-date';
      if (since !== undefined && created < since) return 'since';
      if (until !== undefined && created >= until) return 'until';
    }
    if (filter.favorites && subject.favorite !== true) return 'favorites';
    if (
      match &&
      !(match.test(subject.name ?? '') || (subject.prompt !== undefined && match.test(subject.prompt)))
    )
      return 'match';
    return undefined;
  };
}

/** The filter in words, for `status` and the summary: `since 2026-11-01T00:00:00.000Z (7d), favorites only`. */
export function describeFilter(filter: AssetFilter | undefined): string {
  if (isEmptyFilter(filter) || !filter) return 'everything';
  const parts: string[] = [];
  if (filter.mediaTypes && filter.mediaTypes.length < MEDIA_TYPES.length)
    parts.push(`${filter.mediaTypes.join(', ')} only`);
  const given = (iso: string, text: string | undefined) => (text && text !== iso ? `${iso} (${text})` : iso);
  if (filter.since !== undefined) parts.push(`created since ${given(filter.since, filter.sinceGiven)}`);
  if (filter.until !== undefined) parts.push(`created before ${given(filter.until, filter.untilGiven)}`);
  if (filter.favorites) parts.push('favorites only');
  if (filter.match !== undefined) parts.push(`name or prompt matching ${JSON.stringify(filter.match)}`);
  if (filter.exclude?.length) parts.push(`${filter.exclude.length} excluded by the config`);
  return parts.join(', ');
}
