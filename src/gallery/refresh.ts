import { promises as fs } from 'node:fs';
import path from 'node:path';
import { printable } from '../format.js';
import { GALLERY_NAME, writeGallery } from './write.js';

/**
 * After a backup: rewrites the gallery when the run changed something or when there is none yet. Returns a line to
 * show, or undefined. A gallery that cannot be written is a warning, never a failed backup.
 */
export async function refreshGallery(out: string, changed: boolean): Promise<string | undefined> {
  const exists = await fs.stat(path.join(out, GALLERY_NAME)).then(
    () => true,
    () => false,
  );
  if (!changed && exists) return undefined;
  try {
    const result = await writeGallery({ out });
    return `gallery: ${printable(result.file)}`;
  } catch (error) {
    return `warning: the gallery was not updated: ${printable((error as Error).message.split('\n')[0] ?? '')}`;
  }
}
