/**
 * Layout templates (`--layout`): where each asset's main file goes, as a relative path with placeholders, like
 * gallery-dl's `directory` + `filename` or yt-dlp's `-o`. The default is the layout this tool always used, so an
 * existing backup does not move. Every substituted value is sanitised on its own (a `/` or `..` inside a name or a
 * prompt can never become a folder), literal parts are checked once when the template is parsed, and the rendered
 * path is still resolved inside the output folder by the caller (`resolveInside`) before anything is written.
 */
import { UsageError } from '../errors.js';

/** The layout of every backup made before templates existed, and the default. */
export const DEFAULT_LAYOUT = '{mediaType}/{date}_{name}_{id8}.{ext}';

export const PLACEHOLDERS = [
  'mediaType',
  'date',
  'year',
  'month',
  'day',
  'name',
  'id',
  'id8',
  'ext',
  'account',
  'model',
  'seed',
  'folder',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** A literal piece of a path segment, or a placeholder to fill. */
export type Piece = { literal: string } | { placeholder: Placeholder };

export interface LayoutTemplate {
  /** The template as given. */
  source: string;
  /** Folder segments, then the file name's segment last; each a list of pieces. */
  segments: Piece[][];
}

const isPlaceholder = (name: string): name is Placeholder =>
  (PLACEHOLDERS as readonly string[]).includes(name);

// Characters no literal part may hold: separators other than `/`, what Windows forbids, control characters.
const BAD_LITERAL = /[\\:*?"<>|\u0000-\u001f\u007f]/;

function fail(template: string, why: string): never {
  throw new UsageError(
    `Expected \`--layout\` to be a path template, got ${JSON.stringify(template)}: ${why}`,
  );
}

function parseSegment(template: string, segment: string): Piece[] {
  const pieces: Piece[] = [];
  const pattern = /\{([^{}]*)\}|([^{}]+)|([{}])/g;
  for (const match of segment.matchAll(pattern)) {
    const [, name, literal, stray] = match;
    if (stray !== undefined) fail(template, `an unmatched "${stray}"`);
    if (name !== undefined) {
      if (!isPlaceholder(name)) {
        fail(
          template,
          `unknown placeholder {${name.slice(0, 40)}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
        );
      }
      pieces.push({ placeholder: name });
    } else if (literal !== undefined) {
      if (BAD_LITERAL.test(literal))
        fail(template, `"${literal.slice(0, 40)}" holds a character no file name may hold`);
      pieces.push({ literal });
    }
  }
  return pieces;
}

/**
 * Parses and checks a template. Usage errors name what is wrong: an unknown placeholder, an absolute path or a
 * `..`, an empty folder, a file name that does not end in `.{ext}`, or a template without `{id}`/`{id8}` (two
 * assets with the same name and date would then want one path: the id is what keeps every path one asset's).
 */
export function parseLayout(template: string): LayoutTemplate {
  const text = template.trim();
  if (text === '') fail(template, 'it is empty');
  if (text.startsWith('/') || /^[a-zA-Z]:/.test(text)) fail(template, 'it must be relative to --out');
  const raw = text.split('/');
  const segments: Piece[][] = [];
  for (const part of raw) {
    if (part === '') fail(template, 'an empty folder name (`//` or a trailing `/`)');
    if (part === '.' || part === '..') fail(template, `"${part}" is not allowed`);
    segments.push(parseSegment(template, part));
  }
  const file = segments.at(-1) as Piece[];
  const last = file.at(-1);
  const beforeLast = file.at(-2);
  if (
    !(last && 'placeholder' in last && last.placeholder === 'ext') ||
    !(beforeLast && 'literal' in beforeLast && beforeLast.literal.endsWith('.'))
  ) {
    fail(template, 'the file name must end in `.{ext}`');
  }
  const placeholders = segments.flat().flatMap((p) => ('placeholder' in p ? [p.placeholder] : []));
  if (!placeholders.includes('id') && !placeholders.includes('id8')) {
    fail(template, 'it needs {id} or {id8}, so that two assets can never want one path');
  }
  if (placeholders.filter((p) => p === 'ext').length > 1) fail(template, '{ext} may appear once, at the end');
  return { source: text, segments };
}

/** Whether the template is exactly the default (the fast path that keeps today's names byte for byte). */
export function isDefaultLayout(layout: LayoutTemplate): boolean {
  return layout.source === DEFAULT_LAYOUT;
}

/** Which placeholders a template uses: `{model}`, `{seed}` and `{folder}` need the generation record. */
export function placeholdersOf(layout: LayoutTemplate): Set<Placeholder> {
  return new Set(layout.segments.flat().flatMap((p) => ('placeholder' in p ? [p.placeholder] : [])));
}
