/**
 * The `--metadata` sidecar of an asset: the API's fields without URLs, and its generation record once kept. A
 * record read after the asset's sidecar was written (the task listing is read once the walk has ended) is added
 * to that sidecar at the end of the run, when no transfer can write it any more.
 */
import { readFile } from 'node:fs/promises';
import { isDiskError } from '../fsutil.js';
import { writeIfChanged } from '../store/atomic-write.js';
import type { GenerationRecord } from '../store/generation.js';
import { resolveInside } from '../store/layout.js';
import type { Manifest } from '../store/manifest.js';
import { sanitizeMetadata } from '../store/sidecar.js';
import type { RawAsset } from '../types.js';

/** The field of a sidecar that holds the record, apart from the API's own fields. */
export const RECORD_FIELD = 'generationRecord';

export function sidecarText(
  raw: RawAsset | Record<string, unknown>,
  record: GenerationRecord | undefined,
): string {
  const fields = sanitizeMetadata(raw as RawAsset);
  // defineProperty-like: an API field could not replace the record, nor `__proto__` the object's prototype.
  const all = Object.fromEntries([...Object.entries(fields), ...(record ? [[RECORD_FIELD, record]] : [])]);
  return `${JSON.stringify(all, null, 2)}\n`;
}

/**
 * Rewrites the sidecars of `assetIds` that have one, with the record the manifest now holds. Returns how many
 * changed. A sidecar that cannot be read back (moved, edited into something else) is left alone.
 */
export async function addRecordsToSidecars(
  out: string,
  manifest: Manifest,
  assetIds: Iterable<string>,
  signal: AbortSignal,
): Promise<number> {
  let written = 0;
  for (const assetId of assetIds) {
    if (signal.aborted) break;
    const entry = manifest.get(assetId);
    if (!entry?.sidecar || !entry.generation) continue;
    const file = resolveInside(out, entry.sidecar);
    let fields: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) continue;
      fields = parsed as Record<string, unknown>;
    } catch {
      continue;
    }
    const { [RECORD_FIELD]: _old, ...rest } = fields;
    try {
      if (await writeIfChanged(file, sidecarText(rest, entry.generation))) written++;
    } catch (error) {
      if (isDiskError(error)) throw error;
    }
  }
  return written;
}
