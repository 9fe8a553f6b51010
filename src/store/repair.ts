// Rebuilding a lost or broken manifest, the part that needs only the disk: what manifest.json and the journals
// still record (and whether those files are on disk at their recorded size), what SHA256SUMS says, and which files
// stand at the default layout's paths without a record. Matching those to assets needs the API: run/repair.ts.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isEmail } from '../config.js';
import { UsageError } from '../errors.js';
import { fileSize, hashRange } from '../fsutil.js';
import { readIfExists, replayJournals } from './journal.js';
import { resolveInside } from './layout.js';
import {
  apply,
  emptyData,
  type JournalOp,
  MANIFEST_VERSION,
  type ManifestData,
  parseManifest,
} from './manifest-data.js';
import { MANIFEST_NAME } from './own-files.js';

/** The checksum list another command writes at the backup's root: `<sha256>  <relative path>` per line. */
export const SHA256SUMS_NAME = 'SHA256SUMS';

/** What a broken manifest.json is renamed to: `manifest.json.broken-N`, never deleted. */
export const BROKEN_MANIFEST = /^manifest\.json\.broken-\d+$/;

/** Where a record of the rebuilt manifest comes from. */
export type RecordOrigin = 'manifest' | 'journal';

/** What the folder still records, before anything is matched. */
export interface RepairBase {
  /** manifest.json when readable, with the journals replayed on top; just the journals when it is not. */
  data: ManifestData;
  /** `readable`, `missing`, or `broken` (then it is set aside before the rebuilt one is written). */
  manifest: 'readable' | 'missing' | 'broken';
  /** Why manifest.json could not be read, when broken. */
  brokenReason: string | undefined;
  /** Journal lines applied. */
  journalLines: number;
  /** Where each recorded file's record comes from, by `assetId` + role + index. */
  origins: Map<string, RecordOrigin>;
}

export function fileKey(assetId: string, role: string, index: number): string {
  return `${assetId}\u0000${role}-${index}`;
}

/**
 * manifest.json (when it reads as a manifest) and the journals replayed on top of it, exactly as Manifest.load
 * reads them once a broken manifest.json is set aside. A manifest of a newer version is refused: setting it aside
 * would throw away what a newer runway-backup can read.
 */
export async function readRepairBase(out: string): Promise<RepairBase> {
  const file = path.join(out, MANIFEST_NAME);
  let text: string | undefined;
  let data = emptyData();
  let manifest: RepairBase['manifest'] = 'missing';
  let brokenReason: string | undefined;
  try {
    text = await readIfExists(file);
    if (text !== undefined) {
      data = parseManifest(text, file);
      manifest = 'readable';
    }
  } catch (error) {
    refuseNewerVersion(text, file);
    manifest = 'broken';
    brokenReason = error instanceof Error ? error.message : String(error);
  }
  const origins = new Map<string, RecordOrigin>();
  for (const entry of Object.values(data.assets)) {
    for (const f of entry.files) origins.set(fileKey(entry.assetId, f.role, f.index), 'manifest');
  }
  const replay = await replayJournals(out, (op) => {
    const applied = apply(data, op as JournalOp);
    const o = op as JournalOp;
    if (applied && o.op === 'file') origins.set(fileKey(o.assetId, o.file.role, o.file.index), 'journal');
    return applied;
  });
  return { data, manifest, brokenReason, journalLines: replay.replayed, origins };
}

function refuseNewerVersion(text: string | undefined, file: string): void {
  let version: unknown;
  try {
    version = (JSON.parse(text ?? '') as { version?: unknown }).version;
  } catch {
    return;
  }
  if (typeof version === 'number' && version > MANIFEST_VERSION) {
    throw new UsageError(
      `${file} was written by a newer runway-backup (manifest version ${version}); upgrade to read it`,
    );
  }
}

/** Renames manifest.json to the first free `manifest.json.broken-N`; returns that name. Hold the lock. */
export async function setBrokenManifestAside(out: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = `${MANIFEST_NAME}.broken-${n}`;
    const target = path.join(out, name);
    // lstat, not stat: a dangling symlink of that name is taken too, and must not be replaced.
    const taken = await fs.lstat(target).then(
      () => true,
      () => false,
    );
    if (taken) continue;
    await fs.rename(path.join(out, MANIFEST_NAME), target);
    return name;
  }
}

/** A file that could not be proven: kept on disk, not recorded (or, for `missing`, recorded but not there). */
export interface UnprovenFile {
  path: string;
  /**
   * `unmatched`: no listed asset has a file at this path. `no-token`: not matched, as there was no token to list
   * the account with. `size`: its size is not the API's (or the record's). `sha256`: its hash is not the one
   * SHA256SUMS lists. `unreadable`: it could not be read. `missing`: recorded, but not on disk.
   */
  kind: 'unmatched' | 'no-token' | 'size' | 'sha256' | 'unreadable' | 'missing';
  reason: string;
}

/** Checks that every recorded file is on disk at its recorded size (the test a backup applies before skipping it). */
export async function checkRecorded(
  out: string,
  base: RepairBase,
): Promise<{ proven: Record<RecordOrigin, number>; unproven: UnprovenFile[] }> {
  const proven: Record<RecordOrigin, number> = { manifest: 0, journal: 0 };
  const unproven: UnprovenFile[] = [];
  for (const entry of Object.values(base.data.assets)) {
    for (const f of entry.files) {
      const origin = base.origins.get(fileKey(entry.assetId, f.role, f.index)) ?? 'manifest';
      // A record a check already marked missing stays wanted: the next backup fetches it.
      if (f.status !== 'done') {
        unproven.push({ path: f.path, kind: 'missing', reason: `recorded as missing (in the ${origin})` });
        continue;
      }
      let size: number | undefined;
      try {
        size = await fileSize(resolveInside(out, f.path));
      } catch (error) {
        unproven.push({ path: f.path, kind: 'unreadable', reason: errorCode(error) });
        continue;
      }
      if (size === undefined) {
        unproven.push({ path: f.path, kind: 'missing', reason: `recorded in the ${origin}, not on disk` });
      } else if (size !== f.bytes) {
        unproven.push({
          path: f.path,
          kind: 'size',
          reason: `${size} bytes, the ${origin} records ${f.bytes}`,
        });
      } else proven[origin]++;
    }
  }
  return { proven, unproven };
}

export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * `<out>/SHA256SUMS` as a map of relative path to sha256, or undefined when there is none. Lines in the format of
 * `sha256sum` (`<hex>  <path>`, or `<hex> *<path>` for binary mode); a line that is not one is ignored.
 */
export async function readSha256Sums(out: string): Promise<Map<string, string> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(out, SHA256SUMS_NAME), 'utf8');
  } catch {
    return undefined;
  }
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    // sha256sum escapes a name holding a backslash or newline and marks the line with a leading backslash.
    const name = line.startsWith('\\')
      ? (m[2] as string).replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'))
      : (m[2] as string);
    sums.set(name.replace(/^\.\//, ''), (m[1] as string).toLowerCase());
  }
  return sums;
}

const MEDIA_FOLDERS = new Set(['video', 'image', 'audio', 'other']);
// `<date>_<name>_<id>.<ext>` and `<stem>.preview-N.<ext>`, as layout.ts names them; `.json` are sidecars.
const LAYOUT_NAME = /^(?:\d{4}-\d{2}-\d{2}|undated)_.*_[0-9a-z-]+(?:\.preview-\d+)?\.[a-z0-9]{1,8}$/;
const SET_ASIDE = /\.(?:damaged|conflict)-\d+(?:\.[^./]*)?$/;

/** The account folders (`<email>/`) at the root of the backup, sorted. */
export async function accountFolders(out: string): Promise<string[]> {
  const entries = await fs.readdir(out, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && isEmail(e.name))
    .map((e) => e.name)
    .sort();
}

/**
 * The files at the default layout's paths (`[<email>/]<mediaType>/<date>_<name>_<id>.<ext>` and its previews)
 * that `known` does not hold: the candidates to match to assets. `.part` files, copies set aside and sidecars are
 * not media; anything else the user keeps in the folder is left out, not reported.
 */
export async function layoutFiles(out: string, known: ReadonlySet<string>): Promise<string[]> {
  const entries = await fs.readdir(out, { recursive: true, withFileTypes: true });
  const found: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const rel = path.relative(out, path.join(e.parentPath, e.name)).split(path.sep).join('/');
    const parts = rel.split('/');
    const folder = parts.at(-2);
    if (parts.length < 2 || parts.length > 3 || folder === undefined || !MEDIA_FOLDERS.has(folder)) continue;
    if (parts.length === 3 && !isEmail(parts[0])) continue;
    if (!LAYOUT_NAME.test(e.name) || SET_ASIDE.test(e.name) || e.name.endsWith('.json')) continue;
    if (!known.has(rel)) found.push(rel);
  }
  return found.sort();
}

/** The sha256 of a whole file, in hex; `signal` stops it between reads. */
export async function sha256Of(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await hashRange(file, hash, 0, Number.POSITIVE_INFINITY, signal);
  return hash.digest('hex');
}
