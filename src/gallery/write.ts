/**
 * `runway-backup gallery`: writes `<out>/index.html`, a page that browses the backup offline. It replaces only a
 * page it wrote itself (the generator marker), atomically, and writes nothing else.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeIfChanged } from '../fsutil.js';
import { MANIFEST_NAME } from '../manifest.js';
import { buildGalleryCatalog } from './catalog.js';
import { GALLERY_MARKER, renderGalleryPage } from './page.js';

export const GALLERY_NAME = 'index.html';

export interface GalleryOptions {
  /** The backup folder, holding manifest.json. */
  out: string;
  signal?: AbortSignal | undefined;
}

export interface GalleryResult {
  /** Absolute path of the page. */
  file: string;
  assets: number;
  files: number;
  bytes: number;
  missing: number;
  damaged: number;
}

export async function writeGallery(options: GalleryOptions): Promise<GalleryResult> {
  const out = path.resolve(options.out);
  const manifestFile = path.join(out, MANIFEST_NAME);
  const hasManifest = await fs.stat(manifestFile).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!hasManifest) {
    throw new UsageError(`No backup in ${out} (no ${MANIFEST_NAME}); run a backup first or pass --out`);
  }
  const file = path.join(out, GALLERY_NAME);
  const existing = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (existing !== undefined && !existing.includes(GALLERY_MARKER)) {
    throw new UsageError(
      `${file} exists and was not written by runway-backup; move it away to make a gallery`,
    );
  }
  const catalog = await buildGalleryCatalog(out, options.signal);
  const files = catalog.assets.flatMap((a) => a.files);
  // The page holds the time it was made, so an unchanged backup still rewrites it: compare without that line.
  const page = renderGalleryPage(catalog);
  const same =
    existing !== undefined &&
    existing === renderGalleryPage({ ...catalog, generatedAt: extractGeneratedAt(existing) ?? '' });
  if (!same) await writeIfChanged(file, page);
  return {
    file,
    assets: catalog.assets.length,
    files: files.length,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    missing: files.filter((f) => f.state === 'missing').length,
    damaged: files.filter((f) => f.state === 'damaged').length,
  };
}

function extractGeneratedAt(page: string): string | undefined {
  return /"generatedAt":"([^"]*)"/.exec(page)?.[1];
}
