/**
 * Writing an asset's `--metadata` sidecar (`<stem>.json`). Like every other file, a sidecar never overwrites a
 * file that is not ours: what stands at its path is replaced only when it is a sidecar of this same asset (a JSON
 * object with its assetId: the API's fields changed since); anything else is moved to `<stem>.conflict-N.json`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setAside } from '../fsutil.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { resolveInside } from '../store/layout.js';
import { sanitizeMetadata } from '../store/sidecar.js';
import type { Asset } from '../types.js';

/** A sidecar we wrote for this asset: the JSON object of its fields, which always carry its assetId. */
function isOurSidecar(text: string, asset: Asset): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      (parsed as Record<string, unknown>).assetId === asset.assetId
    );
  } catch {
    return false;
  }
}

/**
 * Writes the sidecar at `relative` (inside `out`), unless it already holds exactly these fields. Returns where a
 * file that stood there and was not ours was moved (relative), if one was. Throws what the disk throws (a folder
 * at the path: EISDIR).
 */
export async function writeSidecar(
  out: string,
  relative: string,
  asset: Asset,
  text = `${JSON.stringify(sanitizeMetadata(asset.raw), null, 2)}\n`,
): Promise<{ movedAside: string | undefined }> {
  const file = resolveInside(out, relative);
  let current: string | undefined;
  try {
    current = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // A nightly re-run rewrites nothing.
  if (current === text) return { movedAside: undefined };
  let movedAside: string | undefined;
  if (current !== undefined && !isOurSidecar(current, asset)) {
    const aside = await setAside(file, 'conflict');
    movedAside = path.relative(out, aside).split(path.sep).join('/');
  }
  await writeFileAtomic(file, text);
  return { movedAside };
}
