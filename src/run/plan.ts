import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileSize, setAside } from '../fsutil.js';
import { assetPaths, resolveInside } from '../store/layout.js';
import type { FileRole, Manifest } from '../store/manifest.js';
import type { Asset } from '../types.js';

/** One file of one asset, as planned. */
export interface FileJob {
  assetId: string;
  name: string | undefined;
  account: string | undefined;
  role: FileRole;
  index: number;
  /** Relative to the output folder, POSIX separators. */
  path: string;
  /** Bytes expected, when the API says (main files only). */
  expectedBytes: number | undefined;
}

/** The URL of one planned file in a (possibly fresher) copy of its asset. */
export function urlOf(asset: Asset, job: FileJob): string | undefined {
  return job.role === 'main' ? asset.url : asset.previewUrls[job.index - 1];
}

/**
 * The files of one asset: the main file and, with `previews`, each preview, at paths that are unique in the run
 * (`claimed`) and inside `out`; and where its `--metadata` sidecar goes.
 */
export function planFiles(
  asset: Asset,
  account: string | undefined,
  perAccountFolders: boolean,
  previews: boolean,
  out: string,
  claimed: Map<string, string>,
): { jobs: FileJob[]; sidecar: string } {
  // Two assets whose ids share their first 8 characters would get the same path: lengthen the id until unique.
  let paths = assetPaths(asset, { account: perAccountFolders ? account : undefined });
  for (const idLength of [12, 16, 36]) {
    const clash = [paths.main, ...paths.previews].some((p) => {
      const owner = claimed.get(p);
      return owner !== undefined && owner !== asset.assetId;
    });
    if (!clash) break;
    paths = assetPaths(asset, { account: perAccountFolders ? account : undefined, idLength });
  }
  const base = { assetId: asset.assetId, name: asset.name, account };
  const jobs: FileJob[] = [
    { ...base, role: 'main', index: 0, path: paths.main, expectedBytes: asset.fileSize },
  ];
  if (previews) {
    paths.previews.forEach((p, i) => {
      jobs.push({ ...base, role: 'preview', index: i + 1, path: p, expectedBytes: undefined });
    });
  }
  for (const job of jobs) {
    resolveInside(out, job.path); // throws UnsafePathError rather than ever writing outside `out`
    claimed.set(job.path, asset.assetId);
  }
  // The sidecar shares the files' stem, lengthened id included, so it can never clash either.
  resolveInside(out, paths.sidecar);
  return { jobs, sidecar: paths.sidecar };
}

/** Bytes on disk when the manifest records the file done and the disk confirms the exact size; else undefined. */
export async function isDone(manifest: Manifest, job: FileJob, out: string): Promise<number | undefined> {
  const record = manifest.doneFile(job.assetId, job.role, job.index);
  // A record a check marked `missing` is wanted, whatever stands at its path now.
  if (record?.status !== 'done') return undefined;
  try {
    const stat = await fs.stat(resolveInside(out, record.path));
    return stat.isFile() && stat.size === record.bytes ? record.bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A file the manifest records as done but whose size on disk is wrong was damaged after the backup: it is moved
 * to `<stem>.damaged-N.<ext>` (never silently overwritten) and its record demoted, so it is fetched again.
 */
export async function setAsideDamaged(
  manifest: Manifest,
  job: FileJob,
  out: string,
): Promise<string | undefined> {
  const record = manifest.doneFile(job.assetId, job.role, job.index);
  // Already marked missing (by `verify`, which moved a damaged copy aside itself): nothing to move here.
  if (record?.status !== 'done') return undefined;
  await manifest.demoteFile(job.assetId, job.role, job.index);
  const file = resolveInside(out, record.path);
  if ((await fileSize(file)) === undefined) return undefined;
  const aside = await setAside(file, 'damaged');
  return path.relative(out, aside).split(path.sep).join('/');
}
