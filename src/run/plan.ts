import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UnsafePathError } from '../errors.js';
import { fileSize, setAside } from '../fsutil.js';
import { resolveInside } from '../store/layout.js';
import type { FileRole, Manifest, ManifestAsset } from '../store/manifest.js';
import type { LayoutPathOptions } from '../store/render-layout.js';
import type { Asset } from '../types.js';
import { freePaths, type PathClaims, recordedPath } from './claims.js';

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
 * The files of one asset: the main file and, with `previews`, each preview, at paths no other asset owns (`claims`,
 * filled from the manifest before the run plans anything) and inside `out`; and where its `--metadata` sidecar
 * goes. A file the manifest already places (done, missing or unfinished) keeps its path: a path is its asset's
 * forever, and an unfinished `.part` is continued where it is.
 */
export function planFiles(
  asset: Asset,
  account: string | undefined,
  perAccountFolders: boolean,
  previews: boolean,
  out: string,
  claims: PathClaims,
  recorded?: ManifestAsset,
  layout?: Omit<LayoutPathOptions, 'account' | 'idLength' | 'idTag'>,
): { jobs: FileJob[]; sidecar: string } {
  const paths = freePaths(asset, perAccountFolders ? account : undefined, claims, layout);
  if (!paths) throw new UnsafePathError(`No free path for asset ${JSON.stringify(asset.assetId)}`);
  const at = (role: FileRole, index: number, computed: string): string =>
    recordedPath(recorded, role, index, claims) ?? computed;
  const base = { assetId: asset.assetId, name: asset.name, account };
  const jobs: FileJob[] = [
    { ...base, role: 'main', index: 0, path: at('main', 0, paths.main), expectedBytes: asset.fileSize },
  ];
  if (previews) {
    paths.previews.forEach((p, i) => {
      jobs.push({
        ...base,
        role: 'preview',
        index: i + 1,
        path: at('preview', i + 1, p),
        expectedBytes: undefined,
      });
    });
  }
  const ownSidecar =
    recorded?.sidecar !== undefined && claims.get(recorded.sidecar) === asset.assetId
      ? recorded.sidecar
      : undefined;
  const sidecar = ownSidecar ?? paths.sidecar;
  for (const job of jobs) {
    resolveInside(out, job.path); // throws UnsafePathError rather than ever writing outside `out`
    claims.set(job.path, asset.assetId);
  }
  resolveInside(out, sidecar);
  claims.set(sidecar, asset.assetId);
  return { jobs, sidecar };
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
 * to `<stem>.damaged-N.<ext>` (never silently overwritten) and its record demoted, so it is fetched again. One no
 * longer on disk at all is `vanished`: demoted too, and named, so that it is never fetched again without a word.
 */
export async function setAsideDamaged(
  manifest: Manifest,
  job: FileJob,
  out: string,
): Promise<{ movedTo: string } | { vanished: true } | undefined> {
  const record = manifest.doneFile(job.assetId, job.role, job.index);
  // Already marked missing (by `verify`, which moved a damaged copy aside itself): nothing to move here.
  if (record?.status !== 'done') return undefined;
  await manifest.demoteFile(job.assetId, job.role, job.index);
  const file = resolveInside(out, record.path);
  if ((await fileSize(file)) === undefined) return { vanished: true };
  const aside = await setAside(file, 'damaged');
  return { movedTo: path.relative(out, aside).split(path.sep).join('/') };
}
