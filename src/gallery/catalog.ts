/**
 * The gallery's data: every asset of the manifest with its files, each file checked against the disk by size (a
 * missing or truncated file shows as such instead of as a broken image). Reads only: the manifest is loaded, its
 * journal replayed in memory, and nothing is flushed.
 */
import { promises as fs } from 'node:fs';
import { promptOf, seedOf, settingsOf } from '../store/generation.js';
import { resolveInside } from '../store/layout.js';
import { Manifest, type ManifestAsset, type ManifestFile } from '../store/manifest.js';

/** `ok`: on disk at the recorded size; `missing`: not there; `damaged`: there at another size. */
export type GalleryFileState = 'ok' | 'missing' | 'damaged';

export interface GalleryFile {
  role: ManifestFile['role'];
  index: number;
  /** POSIX path relative to the output folder (and to index.html). */
  path: string;
  bytes: number;
  state: GalleryFileState;
  /** The size found on disk when `damaged`. */
  actualBytes?: number | undefined;
}

export interface GalleryAsset {
  assetId: string;
  name: string;
  mediaType: string;
  createdAt: string;
  account: string;
  /** `partial` when the manifest still wants a file of it. */
  status: ManifestAsset['status'];
  files: GalleryFile[];
  sidecar?: string | undefined;
  /** The generation record's model (`taskType`), prompt, seed and other settings; absent for uploads. */
  model?: string | undefined;
  prompt?: string | undefined;
  seed?: string | undefined;
  settings?: Record<string, unknown> | undefined;
  /** The folder's name (from the task) or id. */
  folder?: string | undefined;
  favorite?: boolean | undefined;
  width?: number | undefined;
  height?: number | undefined;
  duration?: number | undefined;
  /** `deleted` or `out-of-reach` on Runway, with the date; absent when present. */
  fate?: ManifestAsset['fate'];
}

export interface GalleryCatalog {
  generatedAt: string;
  assets: GalleryAsset[];
}

const STAT_BATCH = 64;

async function checkFile(out: string, file: ManifestFile): Promise<GalleryFile> {
  const base = { role: file.role, index: file.index, path: file.path, bytes: file.bytes };
  let size: number | undefined;
  try {
    const stat = await fs.stat(resolveInside(out, file.path));
    size = stat.isFile() ? stat.size : undefined;
  } catch {
    size = undefined;
  }
  if (size === undefined) return { ...base, state: 'missing' };
  return size === file.bytes ? { ...base, state: 'ok' } : { ...base, state: 'damaged', actualBytes: size };
}

/** Builds the catalog of `out`, newest first. */
export async function buildGalleryCatalog(out: string, signal?: AbortSignal): Promise<GalleryCatalog> {
  const manifest = await Manifest.load(out);
  manifest.close();
  const entries = Object.values(manifest.data.assets);
  const assets: GalleryAsset[] = [];
  for (let i = 0; i < entries.length; i += STAT_BATCH) {
    signal?.throwIfAborted();
    const batch = entries.slice(i, i + STAT_BATCH);
    assets.push(
      ...(await Promise.all(
        batch.map(async (entry) => ({
          assetId: entry.assetId,
          name: entry.name ?? '',
          mediaType: entry.mediaType ?? 'other',
          createdAt: entry.createdAt ?? '',
          account: entry.account ?? '',
          status: entry.status,
          files: await Promise.all(entry.files.map((file) => checkFile(out, file))),
          sidecar: entry.sidecar,
          ...recordFields(entry),
        })),
      )),
    );
  }
  assets.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return { generatedAt: new Date().toISOString(), assets };
}

/** What the page shows and searches of the record; every text is shown as text by the page, never as markup. */
function recordFields(entry: ManifestAsset): Partial<GalleryAsset> {
  const record = entry.generation?.state === 'kept' ? entry.generation : undefined;
  const seed = seedOf(record);
  const folder = record?.options?.assetGroupName;
  const settings = settingsOf(record);
  const fields: Partial<GalleryAsset> = {
    model: record?.taskType,
    prompt: promptOf(record),
    seed: seed === undefined ? undefined : String(seed),
    settings: Object.keys(settings).length > 0 ? settings : undefined,
    folder: typeof folder === 'string' ? folder : undefined,
    favorite: entry.favorite,
    width: entry.width,
    height: entry.height,
    duration: entry.duration,
    fate: entry.fate,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
