import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileSize, hashRange, setAside } from '../fsutil.js';

async function removeIfExists(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export { removeIfExists };

/**
 * Renames the verified `.part` to `dest`. A file already at `dest` (one the manifest does not know) is never
 * overwritten: kept if identical, else moved aside to `<stem>.conflict-N.<ext>`.
 */
export async function place(
  part: string,
  dest: string,
  sha256: string,
  dirNames: Set<string> | undefined,
): Promise<{ movedAside: string | undefined; adopted: boolean }> {
  const name = path.basename(dest);
  // With the folder's listing at hand, a name it never held needs no stat.
  const mayExist = dirNames === undefined || dirNames.has(name);
  dirNames?.add(name);
  const existing = mayExist ? await fileSize(dest) : undefined;
  if (existing !== undefined) {
    const hash = createHash('sha256');
    await hashRange(dest, hash, 0, existing);
    if (hash.digest('hex') === sha256) {
      await removeIfExists(part);
      return { movedAside: undefined, adopted: true };
    }
    const aside = await setAside(dest, 'conflict');
    await fs.rename(part, dest);
    return { movedAside: aside, adopted: false };
  }
  await fs.rename(part, dest);
  return { movedAside: undefined, adopted: false };
}
