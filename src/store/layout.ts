import { createHash } from 'node:crypto';
import path from 'node:path';
import { lastPathSegment } from '../api/parse.js';
import { UnsafePathError } from '../errors.js';
import type { Asset } from '../types.js';
import { isMediaType } from '../types.js';

/**
 * Every file name we create, including the `.part` / `.part.json` companions the downloader adds, stays within
 * this many UTF-8 bytes. ext4, APFS and NTFS allow 255 per segment (NTFS counts UTF-16 units, which is never more
 * than the UTF-8 byte count); the margin leaves room for tools that append their own suffixes when copying.
 */
export const MAX_FILENAME_BYTES = 200;

/** An account folder (an email) may be long, but must still fit in one segment on every file system. */
const MAX_ACCOUNT_BYTES = 200;

/**
 * Room kept after the stem so that the longest derived name still fits: `.preview-NN` + `.` + an 8-char extension
 * + `.part.json`. Fixed rather than computed from the actual extension, so that a file's name does not change when
 * the API starts reporting another extension or more previews (lesson 9: renames cost re-downloads).
 */
export const SUFFIX_RESERVE_BYTES = '.preview-99'.length + 1 + 8 + '.part.json'.length;

const EXTENSION = /^[a-z0-9]{1,8}$/;
const UUID_CHARS = /^[0-9a-zA-Z-]+$/;
const SHA256_HEX_LENGTH = 64;

// Separators and the characters Windows forbids in names; `:` would also open an NTFS alternate data stream.
const FORBIDDEN = /[/\\:*?"<>|]/g;
// C0, DEL and C1: invisible, and newlines in names break every line-based tool that lists the backup.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidi overrides/isolates let a name display as something else ("\u202Egpj.exe" shows as "exe.jpg"); the line and
// paragraph separators and the BOM are invisible too. LRM/RLM stay: right-to-left names legitimately use them.
const INVISIBLE = /[\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/g;
// In unicode mode a surrogate pair is one code point, so this class only matches unpaired halves, which no file
// system can store faithfully (Buffer encodes them as U+FFFD, so the name on disk would differ from ours).
const LONE_SURROGATE = /[\ud800-\udfff]/gu;
// Windows resolves these to devices in any directory and with any extension (`nul.txt`, `con .mp4`); the
// superscript digits are matched by Windows as well, and CONIN$/CONOUT$ are console handles.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

const graphemes =
  typeof Intl.Segmenter === 'function'
    ? new Intl.Segmenter(undefined, { granularity: 'grapheme' })
    : undefined;

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest prefix made of whole code points that fits in `maxBytes`. */
function cutCodePoints(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = utf8Length(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/**
 * The longest prefix that fits in `maxBytes`, cut between grapheme clusters so that an emoji sequence or a letter
 * with its accents is never left half-drawn. A single cluster larger than the budget (a "zalgo" name can make one
 * cluster of thousands of marks) is cut on code points instead, so such a name does not vanish entirely.
 */
function cutBytes(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  if (!graphemes) return cutCodePoints(text, maxBytes);
  let out = '';
  let bytes = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = utf8Length(segment);
    if (bytes + size > maxBytes) {
      return out === '' ? cutCodePoints(segment, maxBytes) : out;
    }
    out += segment;
    bytes += size;
  }
  return out;
}

// Windows drops trailing dots and spaces (so `a.` and `a` collide), and a leading dot hides the file or makes `.`/`..`.
function stripEdges(text: string): string {
  return text.replace(/^[ .]+|[ .]+$/g, '');
}

export function isReservedDeviceName(segment: string): boolean {
  const base = segment.split('.')[0] ?? '';
  return RESERVED.test(base.trimEnd());
}

/**
 * Makes one path segment safe on Linux, macOS and Windows, at most `maxBytes` UTF-8 bytes long. Returns '' when
 * nothing usable is left, so the caller can choose its own placeholder.
 */
export function sanitizeSegment(input: string, maxBytes: number): string {
  const budget = Number.isFinite(maxBytes) ? Math.floor(maxBytes) : 0;
  if (budget < 1) return '';
  const cleaned = input
    .replace(LONE_SURROGATE, '_')
    // NFC first: the same visible name must give the same bytes (macOS input is often decomposed), and the
    // byte count we cap is the one that reaches the disk.
    .normalize('NFC')
    .replace(FORBIDDEN, '_')
    .replace(CONTROL, '_')
    .replace(INVISIBLE, '_')
    .replace(/\s+/gu, ' ')
    .replace(/_{2,}/g, '_');
  // Cut before the edge and device checks: a cut can expose a trailing space or dot, or turn "CONSOLE" into "CON".
  let result = stripEdges(cutBytes(cleaned, budget));
  if (isReservedDeviceName(result)) {
    result = stripEdges(cutBytes(`_${result}`, budget));
  }
  return result;
}

/**
 * The first `length` characters of the asset's uuid, lowercased so that ids stay distinct on case-insensitive file
 * systems. A hostile or missing id falls back to the uuid inside `assetId`, then to a hash of `assetId`, which is
 * always present and unique per asset.
 */
export function idSuffix(asset: Pick<Asset, 'assetId' | 'id'>, length = 8): string {
  const size = Number.isFinite(length) ? Math.min(Math.max(Math.floor(length), 1), SHA256_HEX_LENGTH) : 8;
  const fromAssetId = asset.assetId.startsWith('asset:')
    ? asset.assetId.slice('asset:'.length)
    : asset.assetId;
  const candidate = [asset.id, fromAssetId].find((value) => value !== undefined && UUID_CHARS.test(value));
  const source = candidate ?? createHash('sha256').update(asset.assetId, 'utf8').digest('hex');
  return source.slice(0, size).toLowerCase();
}

function checkedExtension(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ext = value.toLowerCase().replace(/^\./, '');
  return EXTENSION.test(ext) ? ext : undefined;
}

/** The extension of a file name; none for dotfiles like `.mp4` or names ending in a dot. */
export function nameExtension(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? checkedExtension(name.slice(dot + 1)) : undefined;
}

function urlExtension(url: string | undefined): string | undefined {
  const last = lastPathSegment(url);
  if (last === undefined) return undefined;
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    // A malformed escape: the raw segment is still worth a look.
  }
  return nameExtension(decoded);
}

const DEFAULT_EXTENSIONS: Record<string, string> = { video: 'mp4', image: 'png', audio: 'mp3' };

/** The main file's extension: the API's standardized one, else the name's, else the URL's, else by media type. */
export function extensionFor(asset: Asset): string {
  return (
    checkedExtension(asset.fileExt) ??
    nameExtension(asset.name) ??
    urlExtension(asset.url) ??
    (isMediaType(asset.mediaType) ? DEFAULT_EXTENSIONS[asset.mediaType] : undefined) ??
    'bin'
  );
}

/** A preview's extension from its URL; Runway's previews are JPEG thumbnails when the URL does not say. */
export function previewExtension(url: string): string {
  return urlExtension(url) ?? 'jpg';
}

// ISO 8601 only: V8's fallback parser reads almost anything as a date ("../../2024" is 2024-01-01), which would
// give a hostile value a plausible-looking name.
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** `YYYY-MM-DD` in UTC, so that the same asset gets the same name in every time zone; `undated` otherwise. */
export function datePrefix(createdAt: string | undefined): string {
  const match = createdAt === undefined ? null : ISO_DATE.exec(createdAt.trim());
  if (!match) return 'undated';
  const [, year, month, day, time, zone] = match;
  // Date would roll 2024-02-30 over to March 1st instead of refusing it.
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return 'undated';
  if (time === undefined) return `${year}-${month}-${day}`;
  // Without a zone, Date would read the time as local time; the API speaks UTC.
  const instant = new Date(`${year}-${month}-${day}T${time}${zone ?? 'Z'}`);
  if (Number.isNaN(instant.getTime())) return 'undated';
  const iso = instant.toISOString().slice(0, 10);
  // An offset can push year 0000 or 9999 out of the four-digit range (`-000001`, `+010000`).
  return /^\d{4}-\d{2}-\d{2}$/.test(iso) ? iso : 'undated';
}

/** Only the known media types become folders, so a hostile mediaType cannot name (or climb out of) a directory. */
export function mediaFolder(mediaType: string | undefined): string {
  return isMediaType(mediaType) ? mediaType : 'other';
}

export interface AssetPaths {
  /** The media file. */
  main: string;
  /** One per preview URL, in order; `n` counts from 1. */
  previews: string[];
  /** The metadata sidecar. */
  sidecar: string;
}

export interface AssetPathOptions {
  /** Adds an account folder (the email) in front, for backups of several accounts. */
  account?: string | undefined;
  /** How many characters of the id go into the name; raise it when two assets share a prefix. */
  idLength?: number;
  /**
   * Appended to the id as `-<tag>`: for two assets whose ids are equal however many characters are taken (the
   * same `id` under two assetIds), where only something of the assetId can tell them apart.
   */
  idTag?: string | undefined;
}

/**
 * Relative POSIX paths for an asset's files: `[<account>/]<mediaFolder>/<date>_<name>_<id>.<ext>`, previews as
 * `<stem>.preview-<n>.<ext>` and the sidecar as `<stem>.json`. Every segment is sanitised, so the result can be
 * joined under the output folder as it is; `resolveInside` is still the last check before writing.
 */
export function assetPaths(asset: Asset, options: AssetPathOptions = {}): AssetPaths {
  const ext = extensionFor(asset);
  const date = datePrefix(asset.createdAt);
  const tag = options.idTag === undefined ? '' : sanitizeSegment(options.idTag, 64);
  const id = idSuffix(asset, options.idLength) + (tag === '' ? '' : `-${tag}`);

  let name = asset.name ?? '';
  // "clip.mp4" should not become "..._clip.mp4_id.mp4"; a different extension stays, it is part of the title.
  if (nameExtension(name) === ext) name = name.slice(0, name.lastIndexOf('.'));
  const nameBudget = MAX_FILENAME_BYTES - SUFFIX_RESERVE_BYTES - utf8Length(`${date}__${id}`);
  // Underscores at the edges only come from stripped characters and would double the separators around the name.
  const safeName = sanitizeSegment(name, nameBudget).replace(/^[_ ]+|[_ ]+$/g, '') || 'untitled';
  const stem = `${date}_${safeName}_${id}`;

  const folders: string[] = [];
  if (options.account !== undefined) {
    folders.push(sanitizeSegment(options.account, MAX_ACCOUNT_BYTES) || 'account');
  }
  folders.push(mediaFolder(asset.mediaType));
  const dir = folders.join('/');

  return {
    main: `${dir}/${stem}.${ext}`,
    previews: asset.previewUrls.map(
      (url, index) => `${dir}/${stem}.preview-${index + 1}.${previewExtension(url)}`,
    ),
    // A main file whose extension is `json` would otherwise be overwritten by its own metadata.
    sidecar: ext === 'json' ? `${dir}/${stem}.metadata.json` : `${dir}/${stem}.json`,
  };
}

/**
 * The absolute path of `relative` inside `root`. Throws UnsafePathError unless the result is strictly below
 * `root`. The check is lexical (after `path.resolve`): it does not follow symlinks planted inside the folder.
 */
export function resolveInside(root: string, relative: string): string {
  const shown = JSON.stringify(relative);
  if (relative.includes('\0')) throw new UnsafePathError(`Path ${shown} contains a NUL character`);
  if (path.isAbsolute(relative)) throw new UnsafePathError(`Path ${shown} is absolute`);
  const base = path.resolve(root);
  const target = path.resolve(base, relative);
  // path.relative, unlike a string prefix test, tells `/out-evil` apart from `/out`, and on Windows compares
  // case-insensitively and returns an absolute path for another drive.
  const rel = path.relative(base, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new UnsafePathError(`Path ${shown} would be written outside ${JSON.stringify(base)}`);
  }
  return target;
}
