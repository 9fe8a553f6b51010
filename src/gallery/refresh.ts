import { promises as fs } from 'node:fs';
import path from 'node:path';
import { firstLine } from '../errors.js';
import { printable } from '../report/format.js';
import { MANIFEST_NAME } from '../store/manifest.js';
import { GALLERY_NAME, writeGallery } from './write.js';

/**
 * After a backup: rewrites the gallery when the run changed something or when there is none yet. Returns a line to
 * show, or undefined. A gallery that cannot be written is a warning, never a failed backup.
 */
export async function refreshGallery(out: string, changed: boolean): Promise<string | undefined> {
  const present = (name: string) =>
    fs.stat(path.join(out, name)).then(
      () => true,
      () => false,
    );
  // An empty account (or media type) leaves no manifest: nothing to show, and no warning that there is nothing.
  if (!(await present(MANIFEST_NAME))) return undefined;
  if (!changed && (await present(GALLERY_NAME))) return undefined;
  try {
    const result = await writeGallery({ out });
    return `gallery: ${printable(result.file)}`;
  } catch (error) {
    return `warning: the gallery was not updated: ${printable(firstLine(error))}`;
  }
}
