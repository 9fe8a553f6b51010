// src/gallery/: the offline page over a backup. Reads the manifest; never imports the network (api, source,
// engine) or a run.
/**
 * `runway-backup gallery`: writes `<out>/index.html`, a page that browses the backup offline. It replaces only a
 * page it wrote itself (the generator marker), atomically, and writes nothing else.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { GALLERY_NAME, MANIFEST_NAME } from '../store/own-files.js';
import { buildGalleryCatalog } from './catalog.js';
import { GALLERY_MARKER, renderGalleryPage } from './page.js';

export { GALLERY_NAME };

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
  // The page holds the time it was made, so an unchanged backup would still rewrite it: compare with the old time
  // put in. (Not by rendering the page a second time: beside the old page and the new one, a third copy of a page
  // of thousands of assets added to the memory peak at the end of a backup.)
  const page = renderGalleryPage(catalog);
  const previous = existing === undefined ? undefined : extractGeneratedAt(existing);
  const same =
    existing !== undefined &&
    previous !== undefined &&
    sameBut(existing, generatedAtField(previous), page, generatedAtField(catalog.generatedAt));
  if (!same) await writeFileAtomic(file, page);
  return {
    file,
    assets: catalog.assets.length,
    files: files.length,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    missing: files.filter((f) => f.state === 'missing').length,
    damaged: files.filter((f) => f.state === 'damaged').length,
  };
}

/** Whether `a` with its first `fieldA` replaced by `fieldB` is `b`, compared in place (slices, not a copy). */
function sameBut(a: string, fieldA: string, b: string, fieldB: string): boolean {
  const i = a.indexOf(fieldA);
  if (i === -1 || b.indexOf(fieldB) !== i) return false;
  return a.slice(0, i) === b.slice(0, i) && a.slice(i + fieldA.length) === b.slice(i + fieldB.length);
}

/** The field as it stands in the page's JSON: the catalogue's first key, before any name could imitate it. */
function generatedAtField(at: string): string {
  return `"generatedAt":${JSON.stringify(at)}`;
}

function extractGeneratedAt(page: string): string | undefined {
  return /"generatedAt":"([^"]*)"/.exec(page)?.[1];
}
