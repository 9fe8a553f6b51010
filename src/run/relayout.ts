/**
 * Changing the layout moves, it never downloads again (issue 19): every file the manifest records whose path under
 * the run's `--layout` differs from its recorded one is renamed there, previews and sidecar with it. Each move is
 * journalled before the rename and after it, so a run killed at any instant leaves each file at one of its two
 * paths with a record that says which, and the next run finishes the move. A file that is not ours at a
 * destination is never overwritten: kept when identical (ours is then the copy), else set aside as
 * `<stem>.conflict-N.<ext>`, as for downloads. Folders the moves left empty are removed; any other is left alone.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { place } from '../engine/place.js';
import { AbortError } from '../errors.js';
import { ensureDir, fileSize, setAside } from '../fsutil.js';
import { nameExtension, resolveInside } from '../store/layout.js';
import type { Manifest, ManifestAsset } from '../store/manifest.js';
import { type LayoutValues, layoutValuesOf } from '../store/render-layout.js';
import { DEFAULT_LAYOUT, type LayoutTemplate, placeholdersOf } from '../store/template.js';
import type { Asset } from '../types.js';
import type { Accounting } from './accounting.js';
import { claimsFromManifest, freePaths } from './claims.js';
import type { ResolvedBackupOptions } from './options.js';

export interface Move {
  assetId: string;
  /** `main-0`, `preview-N` or `sidecar`. */
  key: string;
  from: string;
  to: string;
}

export interface RelayoutOptions {
  layout: LayoutTemplate;
  timeZone: string;
  /** The accounts of this run; only their assets move (an account not backed up now keeps its paths). */
  accounts: readonly string[];
  dryRun: boolean;
  /** What the generation record says of an asset, for `{model}`, `{seed}`, `{folder}`. */
  valuesOf?: ((entry: ManifestAsset) => LayoutValues) | undefined;
  signal?: AbortSignal | undefined;
  /** Called after each move is done (and, on a dry run, for each move that would be made). */
  onMove?: ((move: Move) => void) | undefined;
}

export interface RelayoutResult {
  /** Moves made (or, on a dry run, that would be made). */
  moves: Move[];
  /** Files of others found at a destination and set aside first: where each stood, and its copy. */
  setAside: { path: string; movedTo: string }[];
}

/** Whether this run must look at the recorded paths at all: a changed layout, a template that reads the record, or a move left unfinished. */
export function needsRelayout(manifest: Manifest, layout: LayoutTemplate, timeZone: string): boolean {
  const recorded = manifest.data.layout ?? { template: DEFAULT_LAYOUT, timeZone: 'UTC' };
  if (recorded.template !== layout.source || recorded.timeZone !== timeZone) return true;
  const uses = placeholdersOf(layout);
  if (uses.has('model') || uses.has('seed') || uses.has('folder')) return true;
  return Object.values(manifest.data.assets).some((entry) => entry.moves !== undefined);
}

/** The asset as the manifest knows it, enough to compute its paths: extensions come from the recorded files. */
function assetOf(entry: ManifestAsset): Asset {
  const main = entry.files.find((f) => f.role === 'main');
  const previews = entry.files.filter((f) => f.role === 'preview');
  const count = previews.reduce((max, f) => Math.max(max, f.index), 0);
  const previewUrls = Array.from({ length: count }, (_, i) => {
    const ext = nameExtension(previews.find((f) => f.index === i + 1)?.path) ?? 'jpg';
    return `https://recorded.invalid/preview.${ext}`;
  });
  return {
    assetId: entry.assetId,
    id: entry.id,
    name: entry.name,
    mediaType: entry.mediaType,
    createdAt: entry.createdAt,
    fileSize: entry.fileSize,
    fileExt: nameExtension(main?.path),
    url: '',
    previewUrls,
    width: undefined,
    height: undefined,
    duration: undefined,
    raw: {},
  };
}

/** The moves one asset needs: each recorded file (and the sidecar) whose path differs from the layout's. */
function movesOf(
  entry: ManifestAsset,
  o: RelayoutOptions,
  claims: ReturnType<typeof claimsFromManifest>,
): Move[] {
  const account = o.accounts.length > 1 ? entry.account : undefined;
  const paths = freePaths(assetOf(entry), account, claims, {
    layout: o.layout,
    timeZone: o.timeZone,
    values: o.valuesOf ? o.valuesOf(entry) : layoutValuesOf(entry.generation),
  });
  if (!paths) return [];
  const moves: Move[] = [];
  for (const file of entry.files) {
    const to = file.role === 'main' ? paths.main : paths.previews[file.index - 1];
    if (to !== undefined && to !== file.path) {
      moves.push({ assetId: entry.assetId, key: `${file.role}-${file.index}`, from: file.path, to });
    }
  }
  if (entry.sidecar !== undefined && entry.sidecar !== paths.sidecar) {
    moves.push({ assetId: entry.assetId, key: 'sidecar', from: entry.sidecar, to: paths.sidecar });
  }
  return moves;
}

/** One move, journalled on both sides of the rename. A file already at `to` with `from` gone was moved before a kill. */
async function perform(
  manifest: Manifest,
  out: string,
  move: Move,
  sha256: string | undefined,
): Promise<string | undefined> {
  const from = resolveInside(out, move.from);
  const to = resolveInside(out, move.to);
  await manifest.recordMove(move.assetId, move.key, move.from, move.to, false);
  let aside: string | undefined;
  if ((await fileSize(from)) !== undefined) {
    await ensureDir(path.dirname(to));
    if (sha256 !== undefined) {
      const placed = await place(from, to, sha256, undefined);
      aside = placed.movedAside;
    } else {
      // A sidecar (no recorded sha256): whatever stands at its new path is not ours; it is set aside, never replaced.
      if ((await fileSize(to)) !== undefined) aside = await setAside(to, 'conflict');
      await fs.rename(from, to);
    }
  }
  await manifest.recordMove(move.assetId, move.key, move.from, move.to, true);
  return aside === undefined ? undefined : path.relative(out, aside).split(path.sep).join('/');
}

async function settlePending(
  manifest: Manifest,
  out: string,
  entries: readonly ManifestAsset[],
): Promise<void> {
  for (const entry of entries) {
    for (const [key, m] of Object.entries(entry.moves ?? {})) {
      const moved =
        (await fileSize(resolveInside(out, m.to))) !== undefined &&
        (await fileSize(resolveInside(out, m.from))) === undefined;
      // Done at `to`, or undone (`from` -> `from`): either way the record names where the file is.
      await manifest.recordMove(entry.assetId, key, m.from, moved ? m.to : m.from, true);
    }
  }
}

/** Removes the folders the moves emptied, from the deepest up, never `out` itself and never one holding anything. */
async function removeEmptied(out: string, moves: readonly Move[]): Promise<void> {
  const dirs = new Set<string>();
  for (const move of moves) {
    for (let dir = path.posix.dirname(move.from); dir !== '.' && dir !== '/'; dir = path.posix.dirname(dir))
      dirs.add(dir);
  }
  const deepestFirst = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of deepestFirst) await fs.rmdir(resolveInside(out, dir)).catch(() => {});
}

/**
 * Moves every recorded file of this run's accounts to its path under `o.layout`, finishing moves a killed run
 * left first. Returns the moves (planned only, on a dry run). The layout is recorded in the manifest once every
 * move is done, so a run stopped half-way tries the rest next time.
 */
export async function relayout(manifest: Manifest, out: string, o: RelayoutOptions): Promise<RelayoutResult> {
  const result: RelayoutResult = { moves: [], setAside: [] };
  const mine = (entry: ManifestAsset) =>
    o.accounts.length === 0 || entry.account === undefined || o.accounts.includes(entry.account);
  const entries = Object.values(manifest.data.assets).filter(mine);
  // A move a killed run left half-done is first settled where its file is (no rename): at `to` when the rename
  // happened, else at `from`. Only then are this run's moves planned, from where every file really is.
  if (!o.dryRun) await settlePending(manifest, out, entries);
  const claims = claimsFromManifest(manifest);
  const pending: Move[] = [];
  const planned: Move[] = [];
  for (const entry of entries) {
    // Each destination is claimed as soon as it is chosen, so two assets can never be given one.
    for (const move of movesOf(entry, o, claims)) {
      claims.set(move.to, move.assetId);
      planned.push(move);
    }
  }
  for (const move of [...pending, ...planned]) {
    if (o.signal?.aborted) throw new AbortError();
    if (!o.dryRun) {
      const file = manifest.get(move.assetId)?.files.find((f) => `${f.role}-${f.index}` === move.key);
      const aside = await perform(manifest, out, move, move.key === 'sidecar' ? undefined : file?.sha256);
      if (aside !== undefined) result.setAside.push({ path: move.to, movedTo: aside });
      claims.delete(move.from);
      claims.set(move.to, move.assetId);
    }
    result.moves.push(move);
    o.onMove?.(move);
  }
  if (!o.dryRun) {
    await removeEmptied(out, result.moves);
    await manifest.setLayout({ template: o.layout.source, timeZone: o.timeZone });
  }
  return result;
}

/** backup()'s step: the moves its layout needs (none when nothing changed), each counted and reported. */
export async function moveToLayout(
  manifest: Manifest,
  out: string,
  o: Pick<ResolvedBackupOptions, 'layout' | 'timeZone' | 'accounts' | 'dryRun'>,
  signal: AbortSignal,
  acct: Accounting,
): Promise<void> {
  if (!needsRelayout(manifest, o.layout, o.timeZone)) return;
  const result = await relayout(manifest, out, {
    layout: o.layout,
    timeZone: o.timeZone,
    accounts: o.accounts.filter((a): a is string => a !== undefined),
    dryRun: o.dryRun,
    signal,
    onMove: (move) => acct.moved(move, o.dryRun),
  });
  for (const copy of result.setAside) acct.setAside(copy.path, copy.movedTo);
}
