// The manifest's data: its types, the changes the journal records (JournalOp) and how one applies, and how the data
// is read from (checked shape) and written to (snapshot pieces) manifest.json. No files, no I/O: see manifest.ts.
import path from 'node:path';
import { ManifestCorruptError } from '../errors.js';
import type { AssetDetails, AssetFate, GenerationRecord } from './generation.js';
import type { AssetFilter } from './wanted.js';

export const MANIFEST_VERSION = 1;

export type FileRole = 'main' | 'preview';

/**
 * One file of an asset. `done`: on disk, verified and renamed to its final name. `missing`: it was done, then a
 * check (`verify`, or a backup finding the wrong size) found it missing or damaged; the record is kept so that the
 * file stays wanted, and is reported, until a backup fetches it again.
 */
export interface ManifestFile {
  role: FileRole;
  /** 0 for the main file, 1.. for previews. */
  index: number;
  /** POSIX path relative to the output folder. */
  path: string;
  bytes: number;
  sha256: string;
  status: 'done' | 'missing';
  completedAt: string;
  /** When a check found the file missing or damaged (status `missing`). */
  missingSince?: string | undefined;
  /**
   * Why no backup fetches this missing file again, as a backup last found it (deleted on Runway, previews or its
   * media type no longer backed up); cleared when a run wants it again. `verify` reports it without calling for a
   * backup.
   */
  unfetchable?: { reason: string; since: string } | undefined;
}

export interface ManifestAsset extends AssetDetails {
  assetId: string;
  id?: string | undefined;
  name?: string | undefined;
  mediaType?: string | undefined;
  createdAt?: string | undefined;
  fileSize?: number | undefined;
  account?: string | undefined;
  /** The API's `favorite` when the asset was last listed, for `--favorites` (filters). */
  favorite?: boolean | undefined;
  /** The prompt the listing carried, for `--match` (filters). */
  prompt?: string | undefined;
  /** `complete` once every planned file is done. */
  status: 'complete' | 'partial';
  files: ManifestFile[];
  /** Relative path of the `--metadata` sidecar, when written. */
  sidecar?: string | undefined;
  /**
   * Resume state of interrupted downloads, by file key (`main-0`, `preview-1`): validator, size, segments. A
   * null-prototype map, like `assets`.
   */
  partials?: Record<string, PartialState> | undefined;
  /**
   * Moves under way to a new layout (`--layout`), by file key (`main-0`, `preview-1`, `sidecar`): journalled before
   * the rename and cleared after it, so that a run killed in between finishes the move (store/relayout in run/).
   */
  moves?: Record<string, { from: string; to: string }> | undefined;
  /** What its task says made it (model, prompt, seed, settings), read once; only for an asset with a `taskId`. */
  generation?: GenerationRecord | undefined;
  /** Out of reach or deleted on Runway (absent: listed on the last run that looked). Its files stay here. */
  fate?: AssetFate | undefined;
  updatedAt: string;
}

/** What a `.part` needs to be continued (see ResumeState in src/engine/transfer.ts). */
export interface PartialState {
  validator?: string | undefined;
  total: number | undefined;
  segments?: [number, number, number][] | undefined;
  /**
   * Where the `.part` is (the final path, relative): the path is this asset's while it is unfinished, so no other
   * asset is given it, and a later run (even after a rename on Runway) continues the same `.part`.
   */
  path?: string | undefined;
}

export interface ManifestData {
  version: number;
  tool: 'runway-backup';
  createdAt: string;
  updatedAt: string;
  /**
   * By assetId. A null-prototype object: an id is any string the API sends, and in a plain `{}` the id `__proto__`
   * would replace the map's prototype instead of adding an entry (the asset was downloaded, then could not be
   * recorded, every night), and `constructor` or `toString` would be found without ever being recorded.
   */
  assets: Record<string, ManifestAsset>;
  /** The filter of the last backup run (store/wanted.ts): what it left out is not reported missing. */
  filter?: AssetFilter | undefined;
  /** Assets `forget` made unwanted, by assetId (a keyed map like `assets`): never fetched, never missing. */
  forgotten?: Record<string, ForgottenAsset> | undefined;
  /** The `--layout` template and time zone the recorded paths follow; absent: the default layout, UTC. */
  layout?: { template: string; timeZone: string } | undefined;
}

/** One asset `forget` made unwanted. */
export interface ForgottenAsset {
  /** When it was forgotten. */
  at: string;
  /** Its name when it was forgotten, so `list` and messages can say which asset it was. */
  name?: string | undefined;
}

/** One change, as appended to the journal. Every op is idempotent, so replaying a journal twice is harmless. */
export type JournalOp =
  | { op: 'asset'; entry: Omit<ManifestAsset, 'files'> }
  | { op: 'file'; assetId: string; file: ManifestFile }
  | { op: 'status'; assetId: string; status: ManifestAsset['status']; sidecar?: string | undefined }
  | { op: 'demote'; assetId: string; role: FileRole; index: number; at?: string | undefined }
  | { op: 'partial'; assetId: string; key: string; state?: PartialState }
  | {
      op: 'unfetchable';
      assetId: string;
      role: FileRole;
      index: number;
      unfetchable?: { reason: string; since: string } | undefined;
    }
  | { op: 'filter'; filter: AssetFilter }
  | { op: 'layout'; layout: { template: string; timeZone: string } }
  | { op: 'move'; assetId: string; key: string; from: string; to: string; done: boolean }
  | { op: 'forget'; assetId: string; asset: ForgottenAsset }
  | { op: 'unforget'; assetId: string }
  | { op: 'generation'; assetId: string; record: GenerationRecord }
  /** Without `fate`: listed again, present. */
  | { op: 'fate'; assetId: string; fate?: AssetFate | undefined };

/**
 * A map safe for any string key: no prototype, so no key is special and none is found unless it was set. Copies
 * `from` (own enumerable keys, `__proto__` included, as JSON.parse and spreads leave it: an own property).
 */
export function keyedMap<T>(from?: Record<string, T>): Record<string, T> {
  const map = Object.create(null) as Record<string, T>;
  if (from) for (const [key, value] of Object.entries(from)) map[key] = value;
  return map;
}

/** A fresh, empty manifest. */
export function emptyData(now = new Date().toISOString()): ManifestData {
  return {
    version: MANIFEST_VERSION,
    tool: 'runway-backup',
    createdAt: now,
    updatedAt: now,
    assets: keyedMap(),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of `file` (manifest.json) as manifest data, its keyed maps made safe; ManifestCorruptError if it is not. */
export function parseManifest(text: string, file: string): ManifestData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ManifestCorruptError(`${file} is not valid JSON; it was left untouched: ${repairHint(file)}`, {
      cause: error,
    });
  }
  const data = checkShape(parsed, file);
  // JSON.parse makes plain objects (a key `__proto__` among them is an own property, so nothing is lost here);
  // later changes must not assign into them.
  data.assets = keyedMap(data.assets);
  for (const entry of Object.values(data.assets)) {
    if (isObject(entry.partials)) entry.partials = keyedMap(entry.partials);
  }
  if (isObject(data.forgotten)) data.forgotten = keyedMap(data.forgotten);
  return data;
}

/** What to do about a broken manifest: the command that rebuilds it, ready to paste. */
function repairHint(file: string): string {
  const out = path.dirname(file);
  const shown = /[\s'"$`\\]/.test(out) ? JSON.stringify(out) : out;
  return `run \`runway-backup repair --out ${shown}\` to rebuild it from the files`;
}

function checkShape(data: unknown, file: string): ManifestData {
  const bad = (why: string): never => {
    throw new ManifestCorruptError(
      `${file} is not a valid manifest (${why}); it was left untouched: ${repairHint(file)}`,
    );
  };
  if (!isObject(data)) return bad('not an object');
  if (typeof data.version === 'number' && data.version > MANIFEST_VERSION) {
    // Nothing to repair: a newer runway-backup reads it.
    throw new ManifestCorruptError(
      `${file} was written by a newer runway-backup (manifest version ${data.version}); upgrade to read it`,
    );
  }
  if (data.version !== MANIFEST_VERSION) return bad(`unsupported version ${JSON.stringify(data.version)}`);
  if (!isObject(data.assets)) return bad('no assets map');
  for (const [key, entry] of Object.entries(data.assets)) {
    if (!isObject(entry) || entry.assetId !== key || !Array.isArray(entry.files))
      return bad(`bad entry "${key}"`);
    for (const f of entry.files) {
      if (
        !isObject(f) ||
        typeof f.path !== 'string' ||
        typeof f.bytes !== 'number' ||
        typeof f.sha256 !== 'string' ||
        (f.role !== 'main' && f.role !== 'preview')
      ) {
        return bad(`bad file in "${key}"`);
      }
    }
  }
  return data as unknown as ManifestData;
}

/** `map` without `key`, as a new keyed map; undefined when nothing is left. */
function withoutKey<T>(map: Record<string, T>, key: string): Record<string, T> | undefined {
  const rest = keyedMap(map);
  delete rest[key];
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** Applies one change to the data; false when the op is not one we understand (then it is ignored). */
export function apply(data: ManifestData, op: JournalOp): boolean {
  if (!op || typeof op !== 'object') return false;
  const entry =
    'assetId' in op && typeof op.assetId === 'string' && Object.hasOwn(data.assets, op.assetId)
      ? data.assets[op.assetId]
      : undefined;
  switch (op.op) {
    case 'asset': {
      if (!op.entry || typeof op.entry.assetId !== 'string') return false;
      const existing = Object.hasOwn(data.assets, op.entry.assetId)
        ? data.assets[op.entry.assetId]
        : undefined;
      const next: ManifestAsset = { ...existing, ...op.entry, files: existing?.files ?? [] };
      if (isObject(next.partials)) next.partials = keyedMap(next.partials);
      data.assets[op.entry.assetId] = next;
      return true;
    }
    case 'partial': {
      if (!entry || typeof op.key !== 'string') return false;
      const partials = keyedMap(entry.partials);
      if (op.state && typeof op.state === 'object') partials[op.key] = op.state;
      else delete partials[op.key];
      entry.partials = Object.keys(partials).length > 0 ? partials : undefined;
      return true;
    }
    case 'file': {
      if (!entry || !op.file || typeof op.file.path !== 'string') return false;
      if (entry.partials) entry.partials = withoutKey(entry.partials, `${op.file.role}-${op.file.index}`);
      entry.files = entry.files.filter((f) => !(f.role === op.file.role && f.index === op.file.index));
      entry.files.push(op.file);
      entry.files.sort((a, b) => (a.role === b.role ? a.index - b.index : a.role === 'main' ? -1 : 1));
      entry.updatedAt = op.file.completedAt;
      return true;
    }
    case 'generation':
      if (!entry || !op.record || typeof op.record !== 'object') return false;
      entry.generation = op.record;
      return true;
    case 'fate':
      if (!entry) return false;
      entry.fate = op.fate && typeof op.fate === 'object' ? op.fate : undefined;
      return true;
    case 'status':
      if (!entry) return false;
      entry.status = op.status;
      if (op.sidecar !== undefined) entry.sidecar = op.sidecar;
      return true;
    case 'demote': {
      if (!entry) return false;
      // Kept, not dropped: a forgotten file would let the next `verify` call the backup healthy.
      const at = typeof op.at === 'string' ? op.at : undefined;
      entry.files = entry.files.map((f) =>
        f.role === op.role && f.index === op.index && f.status !== 'missing'
          ? { ...f, status: 'missing', missingSince: at ?? f.completedAt }
          : f,
      );
      entry.status = 'partial';
      return true;
    }
    case 'unfetchable': {
      if (!entry) return false;
      const mark = op.unfetchable && typeof op.unfetchable.reason === 'string' ? op.unfetchable : undefined;
      entry.files = entry.files.map((f) => {
        if (f.role !== op.role || f.index !== op.index || f.status !== 'missing') return f;
        const { unfetchable: _old, ...rest } = f;
        return mark ? { ...rest, unfetchable: mark } : rest;
      });
      return true;
    }
    case 'layout':
      if (!isObject(op.layout) || typeof op.layout.template !== 'string') return false;
      data.layout = { template: op.layout.template, timeZone: String(op.layout.timeZone ?? 'UTC') };
      return true;
    case 'move':
      return entry !== undefined && applyMove(entry, op);
    case 'filter':
      if (!isObject(op.filter)) return false;
      data.filter = op.filter;
      return true;
    case 'forget':
    case 'unforget':
      return applyForget(data, op);
    default:
      return false;
  }
}

/** `forget` and `forget --undo`: by assetId, recorded or not (an asset may be forgotten before it was fetched). */
function applyForget(data: ManifestData, op: Extract<JournalOp, { op: 'forget' | 'unforget' }>): boolean {
  if (typeof op.assetId !== 'string') return false;
  const forgotten = keyedMap(data.forgotten);
  if (op.op === 'forget') {
    if (!isObject(op.asset) || typeof op.asset.at !== 'string') return false;
    forgotten[op.assetId] = op.asset;
  } else delete forgotten[op.assetId];
  data.forgotten = Object.keys(forgotten).length > 0 ? forgotten : undefined;
  return true;
}

/**
 * `JSON.stringify(data, null, 2)` and a newline, character for character, as pieces of one asset each. Written one
 * piece at a time, the manifest of thousands of assets never stands in memory whole (as one string, its copies and
 * its UTF-8 bytes): that was the peak of a small-file backup's memory, at its end. `length()` is the text's length
 * once the pieces have been read.
 */
export function snapshotOf(data: ManifestData): { pieces: Iterable<string>; length: () => number } {
  let length = 0;
  function* pieces(): Generator<string> {
    const fields = Object.entries(data).filter(([, value]) => value !== undefined);
    let text = '{\n';
    for (const [i, [key, value]] of fields.entries()) {
      text += `  ${JSON.stringify(key)}: `;
      const entries =
        key === 'assets'
          ? Object.entries(value as ManifestData['assets']).filter(([, entry]) => entry !== undefined)
          : undefined;
      if (entries === undefined) text += JSON.stringify(value, null, 2).replaceAll('\n', '\n  ');
      else if (entries.length === 0) text += '{}';
      else {
        text += '{\n';
        for (const [j, [id, entry]] of entries.entries()) {
          text += `    ${JSON.stringify(id)}: ${JSON.stringify(entry, null, 2).replaceAll('\n', '\n    ')}`;
          text += j < entries.length - 1 ? ',\n' : '\n  }';
          length += text.length;
          yield text;
          text = '';
        }
      }
      text += i < fields.length - 1 ? ',\n' : '\n}\n';
    }
    length += text.length;
    yield text;
  }
  return { pieces: { [Symbol.iterator]: pieces }, length: () => length };
}

/** A move to a new layout: started (remembered with both paths) or done (the record now names `to`). */
function applyMove(
  entry: ManifestAsset,
  op: { key: string; from: string; to: string; done: boolean },
): boolean {
  if (typeof op.key !== 'string' || typeof op.to !== 'string' || typeof op.from !== 'string') return false;
  const moves = keyedMap(entry.moves);
  if (!op.done) {
    moves[op.key] = { from: op.from, to: op.to };
  } else {
    delete moves[op.key];
    if (op.key === 'sidecar') {
      if (entry.sidecar === op.from) entry.sidecar = op.to;
    } else {
      entry.files = entry.files.map((f) =>
        `${f.role}-${f.index}` === op.key && f.path === op.from ? { ...f, path: op.to } : f,
      );
    }
  }
  entry.moves = Object.keys(moves).length > 0 ? moves : undefined;
  return true;
}
