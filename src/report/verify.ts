import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AbortError, UsageError } from '../errors.js';
import { fileSize, hashRange, isDiskError, setAside, toDiskError } from '../fsutil.js';
import { atomicTempOf } from '../store/atomic-write.js';
import { resolveInside } from '../store/layout.js';
import { acquireLock, LOCK_NAME } from '../store/lock.js';
import {
  JOURNAL_NAME,
  MANIFEST_NAME,
  Manifest,
  type ManifestAsset,
  type ManifestFile,
} from '../store/manifest.js';
import { checkOutFolder } from '../store/out-folder.js';
import { ATOMIC_OWN_FILES, CHECKSUMS_NAME, GALLERY_MARKER, GALLERY_NAME } from '../store/own-files.js';
import { unwantedRecords } from '../store/unwanted.js';
import type { AssetFilter } from '../store/wanted.js';
import { RUN_RECORD_NAME } from './run-record.js';

export interface VerifyOptions {
  /** The backup folder. */
  out: string;
  /** Check presence and size only, not sha256. @default false */
  quick?: boolean | undefined;
  /**
   * Mark missing/corrupt files as wanted in the manifest and move corrupt ones aside, so the next backup fetches
   * them (and every later `verify` reports them until it has). @default true
   */
  repair?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Called after each file is checked. */
  onFile?: ((checked: number, total: number) => void) | undefined;
}

export interface VerifyProblem {
  assetId: string;
  path: string;
  /** For corrupt files: what was found. */
  reason: string;
  /** Where a corrupt file was moved (relative), when repairing. */
  movedTo?: string | undefined;
}

export interface VerifyReport {
  /** Files the manifest records. */
  checked: number;
  ok: number;
  /** Recorded as done, not on disk: found by this run. */
  missing: VerifyProblem[];
  /** Recorded as done, wrong size or sha256: found by this run (and moved aside when repairing). */
  corrupt: VerifyProblem[];
  /** Found missing or corrupt by an earlier check and not fetched again since: still wanted. */
  wanted: VerifyProblem[];
  /**
   * Missing files no backup will fetch again, each with the reason a backup recorded (deleted on Runway, previews
   * or the media type no longer backed up): kept in the manifest and reported, but no call for a backup.
   */
  unfetchable: VerifyProblem[];
  /** Each `.part` (as in `partials`) and what a backup will do about it (`action`). */
  unfinished: { path: string; action: string }[];
  /** Recorded files that are there but cannot be read (EACCES, EIO): neither ok nor demoted. */
  unreadable: VerifyProblem[];
  /** `--metadata` sidecars the manifest records that are not on disk: a backup with `--metadata` writes them again. */
  missingSidecars: VerifyProblem[];
  /** missing + corrupt + wanted + missingSidecars: the files the next `backup` must fetch (or write). */
  needFetching: number;
  /** True only when every recorded file is present and intact and no download is unfinished. */
  healthy: boolean;
  /** Copies this tool moved aside (`.damaged-N`, `.conflict-N`) beside a recorded file (relative paths). */
  setAside: string[];
  /** Files in the folder that the manifest does not know (relative paths). */
  untracked: string[];
  /** Leftover `.part` files of interrupted downloads (relative paths). */
  partials: string[];
  bytesHashed: number;
  quick: boolean;
  /**
   * Recorded files not checked because the backup no longer wants their asset: `forget`, the config's `exclude`,
   * or the last run's filter leaves it out. Never missing, never untracked.
   */
  notWanted: number;
  /** The filter of the last backup run, as the manifest records it (`{}`: everything). */
  filter: AssetFilter;
}

const OWN_FILES = new Set([
  MANIFEST_NAME,
  JOURNAL_NAME,
  `${JOURNAL_NAME}.old`,
  LOCK_NAME,
  RUN_RECORD_NAME,
  CHECKSUMS_NAME,
]);

/** An `index.html` the gallery wrote (a page of the user's own is reported like any other stranger). */
async function isOurGallery(file: string): Promise<boolean> {
  const head = await fs.readFile(file, 'utf8').catch(() => '');
  return head.includes(GALLERY_MARKER);
}

/** `<stem>.damaged-N.<ext>` or `<stem>.conflict-N.<ext>`: the path of the file it was moved away from, if so. */
function setAsideOf(file: string): string | undefined {
  const match = /^(.*)\.(?:damaged|conflict)-\d+(\.[^./]*)?$/.exec(file);
  return match ? `${match[1]}${match[2] ?? ''}` : undefined;
}

async function sha256(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  // Ctrl-C mid-file ends as an interruption (exit 130), like one between files.
  await hashRange(file, hash, 0, Number.POSITIVE_INFINITY, signal);
  return hash.digest('hex');
}

async function walk(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/**
 * Checks every file the manifest records: present, exact size, and (unless `quick`) the sha256 recorded at
 * download time. With `repair` (the default), a missing or corrupt file's record is demoted and a corrupt file is
 * moved aside to `<stem>.damaged-N.<ext>`, so that the next `backup` fetches exactly those files again.
 */
export async function verifyBackup(options: VerifyOptions): Promise<VerifyReport> {
  const out = path.resolve(options.out);
  const quick = options.quick ?? false;
  const repair = options.repair ?? true;
  const { manifest, release } = await openBackup(out, repair);
  const report: VerifyReport = {
    checked: 0,
    ok: 0,
    missing: [],
    corrupt: [],
    wanted: [],
    unfetchable: [],
    unfinished: [],
    unreadable: [],
    missingSidecars: [],
    needFetching: 0,
    healthy: false,
    setAside: [],
    untracked: [],
    partials: [],
    bytesHashed: 0,
    quick,
    notWanted: 0,
    filter: manifest.data.filter ?? {},
  };
  let failed: unknown;
  try {
    const known = new Set<string>();
    const records = Object.values(manifest.data.assets).flatMap((entry) => {
      if (entry.sidecar) known.add(entry.sidecar);
      return entry.files.map((file) => ({ entry, file }));
    });
    const check: Check = { out, quick, repair, signal: options.signal, manifest, report };
    const unwanted = unwantedRecords(manifest);
    for (const { entry, file } of records) {
      if (options.signal?.aborted) throw new AbortError();
      known.add(file.path);
      if (unwanted(entry) !== undefined) {
        report.notWanted++;
        continue;
      }
      report.checked++;
      await checkFile(check, entry, file);
      options.onFile?.(report.checked, records.length);
    }
    await checkSidecars(out, manifest, report);
    await sortUnrecorded(out, known, report);
    report.unfinished = report.partials.map((p) => ({ path: p, action: partAction(manifest, p) }));
    report.needFetching =
      report.missing.length + report.corrupt.length + report.wanted.length + report.missingSidecars.length;
    // Not healthy with a file lost for good, though no backup can do anything about it (the exit code says that).
    report.healthy =
      report.needFetching === 0 &&
      report.partials.length === 0 &&
      report.unreadable.length === 0 &&
      report.unfetchable.length === 0;
    if (repair) await manifest.flush();
  } catch (error) {
    failed = error;
  }
  // Closed (its last lines written) and unlocked whatever happened: a journal that cannot be written is a
  // DiskError of one line (exit 1), never a crash that leaves the lock behind.
  try {
    await manifest.close();
  } catch (error) {
    failed ??= error;
  } finally {
    await release();
  }
  if (failed !== undefined) throw isDiskError(failed) ? toDiskError(failed, 'the manifest') : failed;
  return report;
}

/** The backup in `out`, its manifest loaded; locked when repairing (the returned release unlocks it). */
async function openBackup(
  out: string,
  repair: boolean,
): Promise<{ manifest: Manifest; release: () => Promise<void> }> {
  await checkOutFolder(out);
  if ((await fileSize(path.join(out, MANIFEST_NAME))) === undefined) {
    try {
      await fs.access(path.join(out, JOURNAL_NAME));
    } catch {
      throw new UsageError(`No backup in ${out}: there is no ${MANIFEST_NAME}`);
    }
  }
  const release = repair ? await acquireLock(out) : async () => {};
  let manifest: Manifest;
  try {
    manifest = await Manifest.load(out);
  } catch (error) {
    await release();
    throw error;
  }
  return { manifest, release };
}

/** What checking one recorded file needs, and the report it adds to. */
interface Check {
  out: string;
  quick: boolean;
  repair: boolean;
  signal: AbortSignal | undefined;
  manifest: Manifest;
  report: VerifyReport;
}

/** One recorded file: ok, missing or corrupt (demoted and moved aside when repairing), or still wanted. */
async function checkFile(c: Check, entry: ManifestAsset, file: ManifestFile): Promise<void> {
  const { out, quick, repair, manifest, report } = c;
  const absolute = resolveInside(out, file.path);
  const size = await fileSize(absolute);
  if (file.status === 'missing') {
    await recheckWanted(c, entry, file, absolute, size);
    return;
  }
  let reason: string | undefined;
  if (size === undefined) {
    report.missing.push({ assetId: entry.assetId, path: file.path, reason: 'missing' });
    if (repair) await manifest.demoteFile(entry.assetId, file.role, file.index);
    return;
  }
  if (size !== file.bytes) reason = `size ${size}, expected ${file.bytes}`;
  else if (!quick) {
    const actual = await readableSha256(c, entry, file, absolute);
    if (actual === undefined) return;
    report.bytesHashed += size;
    if (actual !== file.sha256) reason = 'sha256 differs from the one recorded at download';
  }
  if (reason === undefined) {
    report.ok++;
  } else {
    const problem: VerifyProblem = { assetId: entry.assetId, path: file.path, reason };
    if (repair) {
      const aside = await setAside(absolute, 'damaged');
      problem.movedTo = path.relative(out, aside).split(path.sep).join('/');
      await manifest.demoteFile(entry.assetId, file.role, file.index);
    }
    report.corrupt.push(problem);
  }
}

/** Errors of reading one file that leave the others readable: reported for that file, and the check goes on. */
const UNREADABLE = new Set(['EACCES', 'EPERM', 'EIO', 'EISDIR']);

/**
 * The sha256 of a recorded file, or undefined when it cannot be read (permission denied, an I/O error): then it is
 * reported as unreadable, neither ok nor demoted (a backup would not fix it), and the check goes on.
 */
async function readableSha256(
  c: Check,
  entry: ManifestAsset,
  file: ManifestFile,
  absolute: string,
): Promise<string | undefined> {
  try {
    return await sha256(absolute, c.signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !UNREADABLE.has(code)) throw error;
    c.report.unreadable.push({ assetId: entry.assetId, path: file.path, reason: `cannot be read (${code})` });
    return undefined;
  }
}

/** Each recorded `--metadata` sidecar that is no longer on disk; a backup with `--metadata` writes it again. */
async function checkSidecars(out: string, manifest: Manifest, report: VerifyReport): Promise<void> {
  for (const entry of Object.values(manifest.data.assets)) {
    if (entry.sidecar === undefined) continue;
    if ((await fileSize(resolveInside(out, entry.sidecar))) !== undefined) continue;
    report.missingSidecars.push({
      assetId: entry.assetId,
      path: entry.sidecar,
      reason: 'metadata sidecar missing; a backup with --metadata writes it again',
    });
  }
}

/** A file an earlier check found missing or damaged: restored when it is back intact, else still wanted. */
async function recheckWanted(
  c: Check,
  entry: ManifestAsset,
  file: ManifestFile,
  absolute: string,
  size: number | undefined,
): Promise<void> {
  const { report } = c;
  // Put back by hand since, byte for byte: recorded as done again. Anything less stays wanted.
  const restored =
    !c.quick && size === file.bytes && (await readableSha256(c, entry, file, absolute)) === file.sha256;
  if (restored) report.bytesHashed += size;
  if (restored && c.repair) {
    const { missingSince: _since, ...rest } = file;
    await c.manifest.recordFile(entry.assetId, { ...rest, status: 'done' });
  }
  if (restored) report.ok++;
  else if (file.unfetchable) {
    report.unfetchable.push({
      assetId: entry.assetId,
      path: file.path,
      reason: `${file.unfetchable.reason}; a backup will not fetch it`,
    });
  } else {
    const since = file.missingSince ? ` since ${file.missingSince.slice(0, 10)}` : '';
    report.wanted.push({
      assetId: entry.assetId,
      path: file.path,
      reason: `found missing or damaged${since}, not fetched again yet`,
    });
  }
}

/** What a backup does about a `.part`: continue it when a wanted file of ours lands there, else remove it. */
function partAction(manifest: Manifest, part: string): string {
  const final = part.slice(0, -'.part'.length);
  for (const entry of Object.values(manifest.data.assets)) {
    const file = entry.files.find((f) => f.path === final);
    if (file?.unfetchable) return `a backup removes it: ${file.unfetchable.reason}`;
    if (file || Object.values(entry.partials ?? {}).some((state) => state.path === final)) {
      return 'a backup continues it while its asset is listed, and removes it once a complete listing has no file for it';
    }
  }
  return 'a backup continues it if a listed file goes there, else removes it after a complete listing (when it is ours)';
}

/** Sorts the folder's files that the manifest does not record, ours aside, into set aside, partial and untracked. */
async function sortUnrecorded(out: string, known: Set<string>, report: VerifyReport): Promise<void> {
  for (const file of await walk(out)) {
    if (OWN_FILES.has(file) || known.has(file) || file.endsWith('.part.json')) continue;
    if (/^manifest\.journal\.\d+$/.test(file)) continue; // a journal kept until a rewrite succeeds
    // An interrupted atomic write of one of ours (the manifest's rewrite, the run record, the gallery).
    if (ATOMIC_OWN_FILES.includes(atomicTempOf(file)?.name ?? '')) continue;
    if (file === GALLERY_NAME && (await isOurGallery(path.join(out, file)))) continue;
    if (path.basename(file).startsWith(`${LOCK_NAME}.`)) continue; // a takeover's temp or break file
    // A broken manifest.json that `repair` kept aside: a copy this tool moved, not a stranger.
    if (/^manifest\.json\.broken-\d+$/.test(file)) {
      report.setAside.push(file);
      continue;
    }
    const original = setAsideOf(file);
    if (file.endsWith('.part')) report.partials.push(file);
    else if (original !== undefined && known.has(original)) report.setAside.push(file);
    else report.untracked.push(file);
  }
  report.untracked.sort();
  report.partials.sort();
  report.setAside.sort();
}
