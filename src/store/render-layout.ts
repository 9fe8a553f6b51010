/**
 * Renders a layout template (template.ts) for one asset: each placeholder's value sanitised on its own, as names
 * always were (no separator or `..` from a value, segment lengths in UTF-8 bytes, reserved device names, NFC), and
 * the file name's budget shared so that `.preview-N` and `.part.json` still fit. The default template is not
 * rendered here: `assetPaths` keeps its own code for it, so existing backups keep their names byte for byte.
 */
import type { Asset } from '../types.js';
import type { GenerationRecord } from './generation.js';
import {
  type AssetPathOptions,
  type AssetPaths,
  assetPaths,
  extensionFor,
  idSuffix,
  isReservedDeviceName,
  MAX_FILENAME_BYTES,
  mediaFolder,
  nameExtension,
  previewExtension,
  SUFFIX_RESERVE_BYTES,
  sanitizeSegment,
  utf8Length,
} from './layout.js';
import {
  isDefaultLayout,
  type LayoutTemplate,
  type Piece,
  type Placeholder,
  placeholdersOf,
} from './template.js';

/** What a template can say of an asset beyond its listing fields: from its generation record, when kept. */
export interface LayoutValues {
  /** The task's type (the model), e.g. `gen3a_turbo`. */
  model?: string | undefined;
  seed?: string | number | undefined;
  /** The Runway folder's name. */
  folder?: string | undefined;
  /** The account's email (several accounts), else `default`. */
  account?: string | undefined;
}

/** Stable stand-ins for what an asset does not have, so that its path does not depend on luck. */
const FALLBACK: Partial<Record<Placeholder, string>> = {
  model: 'unknown-model',
  seed: 'no-seed',
  folder: 'no-folder',
  account: 'default',
  name: 'untitled',
};

/** `YYYY`, `MM`, `DD` of `createdAt` in `timeZone` (UTC unless given), or undefined when it is no ISO time. */
export function calendarDate(
  createdAt: string | undefined,
  timeZone = 'UTC',
): { year: string; month: string; day: string } | undefined {
  if (createdAt === undefined) return undefined;
  const text = createdAt.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text))
    return undefined;
  // A bare date is a calendar day, not an instant: it stays that day in every zone.
  if (text.length === 10) {
    const [year, month, day] = text.split('-') as [string, string, string];
    const check = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
    return check.getUTCDate() === Number(day) ? { year, month, day } : undefined;
  }
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const instant = new Date(withZone.replace(' ', 'T'));
  if (Number.isNaN(instant.getTime())) return undefined;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  })
    .formatToParts(instant)
    .reduce<Record<string, string>>((acc, p) => Object.assign(acc, { [p.type]: p.value }), {});
  const { year, month, day } = parts;
  return year && month && day && /^\d{4}$/.test(year) ? { year, month, day } : undefined;
}

/** Checks a `--timezone` value: an IANA zone name or `local`; answers the zone to format dates in. */
export function resolveTimeZone(value: string | undefined): string {
  if (value === undefined || value === 'UTC') return 'UTC';
  if (value === 'local') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  new Intl.DateTimeFormat('en', { timeZone: value });
  return value;
}

interface Context {
  asset: Asset;
  values: LayoutValues;
  ext: string;
  idLength: number;
  idTag: string;
  timeZone: string;
}

function rawValue(placeholder: Placeholder, c: Context): string | undefined {
  const date = calendarDate(c.asset.createdAt, c.timeZone);
  switch (placeholder) {
    case 'mediaType':
      return mediaFolder(c.asset.mediaType);
    case 'date':
      return date ? `${date.year}-${date.month}-${date.day}` : 'undated';
    case 'year':
      return date?.year ?? 'undated';
    case 'month':
      return date?.month ?? 'undated';
    case 'day':
      return date?.day ?? 'undated';
    case 'name': {
      const name = c.asset.name ?? '';
      return nameExtension(name) === c.ext ? name.slice(0, name.lastIndexOf('.')) : name;
    }
    case 'id':
      return idSuffix(c.asset, 64) + c.idTag;
    case 'id8':
      return idSuffix(c.asset, c.idLength) + c.idTag;
    case 'ext':
      return c.ext;
    case 'account':
      return c.values.account;
    case 'model':
      return c.values.model;
    case 'seed':
      return c.values.seed === undefined ? undefined : String(c.values.seed);
    case 'folder':
      return c.values.folder;
  }
}

/** One segment: literals as they are, each value sanitised within what the segment's budget leaves it. */
function renderSegment(pieces: Piece[], budget: number, c: Context): string {
  const fixed = pieces.map((p) =>
    'literal' in p ? p.literal : p.placeholder === 'name' ? '' : sanitizeValue(p.placeholder, budget, c),
  );
  const used = utf8Length(fixed.join(''));
  const out = pieces.map((p, i) =>
    'placeholder' in p && p.placeholder === 'name' ? sanitizeValue('name', budget - used, c) : fixed[i],
  );
  let segment = out.join('');
  if (isReservedDeviceName(segment)) segment = `_${segment}`;
  return segment;
}

function sanitizeValue(placeholder: Placeholder, budget: number, c: Context): string {
  const value = rawValue(placeholder, c) ?? '';
  // Underscores at the edges only come from stripped characters and would double the separators around a value.
  const safe = sanitizeSegment(value, Math.max(1, budget)).replace(/^[_ ]+|[_ ]+$/g, '');
  return safe || FALLBACK[placeholder] || '_';
}

/** The main file's relative path under `layout`, and its stem (the path without `.<ext>`). */
export function renderLayout(
  layout: LayoutTemplate,
  asset: Asset,
  options: {
    values?: LayoutValues | undefined;
    idLength?: number | undefined;
    idTag?: string | undefined;
    timeZone?: string | undefined;
    ext?: string | undefined;
  },
): { main: string; stem: string; ext: string } {
  const ext = options.ext ?? extensionFor(asset);
  const c: Context = {
    asset,
    values: options.values ?? {},
    ext,
    idLength: options.idLength ?? 8,
    idTag: options.idTag === undefined ? '' : `-${sanitizeSegment(options.idTag, 64)}`,
    timeZone: options.timeZone ?? 'UTC',
  };
  const last = layout.segments.length - 1;
  const segments = layout.segments.map((pieces, i) =>
    // The file name keeps room for `.preview-NN.ext.part.json`; a folder may use the whole segment.
    renderSegment(
      pieces,
      i === last ? MAX_FILENAME_BYTES - SUFFIX_RESERVE_BYTES + ext.length + 1 : MAX_FILENAME_BYTES,
      c,
    ),
  );
  const main = segments.join('/');
  return { main, stem: main.slice(0, main.length - ext.length - 1), ext };
}

export interface LayoutPathOptions extends AssetPathOptions {
  /** The parsed `--layout`; the default layout when absent. */
  layout?: LayoutTemplate | undefined;
  /** What the generation record says of the asset, for `{model}`, `{seed}`, `{folder}`. */
  values?: LayoutValues | undefined;
  /** The zone of `{date}`, `{year}`, `{month}`, `{day}`: UTC unless given. */
  timeZone?: string | undefined;
  /** The main file's extension when known already (a recorded file's), instead of the asset's. */
  ext?: string | undefined;
}

/**
 * The asset's paths under `layout`: the default layout through `assetPaths` (today's names, byte for byte), every
 * other template rendered, with the previews beside the main file as `<stem>.preview-N.<ext>` and the sidecar as
 * `<stem>.json`. Several accounts: a template without `{account}` gets the account folder in front, as the
 * default does, so that two accounts never share a path.
 */
export function layoutPaths(asset: Asset, options: LayoutPathOptions = {}): AssetPaths {
  const { layout, timeZone = 'UTC' } = options;
  if (layout === undefined || (isDefaultLayout(layout) && timeZone === 'UTC' && options.ext === undefined)) {
    return assetPaths(asset, options);
  }
  const values = { ...options.values, account: options.account ?? options.values?.account };
  const rendered = renderLayout(layout, asset, {
    values,
    idLength: options.idLength,
    idTag: options.idTag,
    timeZone,
    ext: options.ext,
  });
  const prefix =
    options.account !== undefined && !placeholdersOf(layout).has('account')
      ? `${sanitizeSegment(options.account, MAX_FILENAME_BYTES) || 'account'}/`
      : '';
  const stem = `${prefix}${rendered.stem}`;
  return {
    main: `${prefix}${rendered.main}`,
    previews: asset.previewUrls.map((url, index) => `${stem}.preview-${index + 1}.${previewExtension(url)}`),
    sidecar: rendered.ext === 'json' ? `${stem}.metadata.json` : `${stem}.json`,
  };
}

/** What a generation record says for `{model}`, `{seed}`, `{folder}`: its task type, seed and folder's name. */
export function layoutValuesOf(record: GenerationRecord | undefined): LayoutValues {
  if (record?.state !== 'kept') return {};
  const options = record.options ?? {};
  const seed = options.seed;
  const folder = options.assetGroupName;
  return {
    model: record.taskType,
    seed: typeof seed === 'number' || typeof seed === 'string' ? seed : undefined,
    folder: typeof folder === 'string' && folder.trim() !== '' ? folder : undefined,
  };
}
