// Rebuilding a lost or broken manifest from what the folder still holds: the records manifest.json and the journals
// keep (store/repair.ts), SHA256SUMS, and, with a token, the account's listing, which says which asset each file at
// a default-layout path belongs to. What cannot be proven is kept on disk and reported, never recorded.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type AssetsClient, createClient } from '../api/client.js';
import { AbortError, UnsafePathError, UsageError } from '../errors.js';
import { fileSize } from '../fsutil.js';
import { iterateAccount } from '../source/sources.js';
import { removeDeadAtomicTemps } from '../store/atomic-write.js';
import { resolveInside } from '../store/layout.js';
import { acquireLock } from '../store/lock.js';
import { Manifest, type ManifestFile } from '../store/manifest.js';
import { checkOutFolder } from '../store/out-folder.js';
import { ATOMIC_OWN_FILES } from '../store/own-files.js';
import {
  accountFolders,
  checkRecorded,
  errorCode,
  layoutFiles,
  type RepairBase,
  readRepairBase,
  readSha256Sums,
  setBrokenManifestAside,
  sha256Of,
  type UnprovenFile,
} from '../store/repair.js';
import { type Asset, MEDIA_TYPES } from '../types.js';
import { type FileJob, planFiles } from './plan.js';
import { entryOf } from './selection.js';

export type { UnprovenFile } from '../store/repair.js';

export interface RepairOptions {
  /** The backup folder. */
  out: string;
  /** useapi.net token: lists the account to match unrecorded files to assets. Without one, only the journals and
   * SHA256SUMS can prove anything. */
  token?: string | undefined;
  /** @default 'https://api.useapi.net' */
  baseUrl?: string | undefined;
  /** Account emails to list besides the `<email>/` folders found in the backup. @default [] (the only account) */
  accounts?: string[] | undefined;
  /** Work out and report everything; write, rename and lock nothing. @default false */
  dryRun?: boolean | undefined;
  /** Retries of one API request, 0..20. @default 5 */
  retries?: number | undefined;
  /** Idle timeout of one API request, in ms. @default 30_000 */
  timeoutMs?: number | undefined;
  /** Replace the API client (tests). */
  client?: AssetsClient | undefined;
  signal?: AbortSignal | undefined;
}

/** What a repair proved and what it could not (README, "Repair"). */
export interface RepairReport {
  out: string;
  dryRun: boolean;
  /** What manifest.json was: `readable`, `missing`, or `broken` (set aside, see `setAside`). */
  manifest: RepairBase['manifest'];
  /** Where the broken manifest.json was moved (relative); null when it was not. */
  setAside: string | null;
  /** Whether the account was listed (a token was given). */
  listed: boolean;
  /** False when a listing window was capped or cut short: an unmatched file's asset may be out of reach. */
  listingComplete: boolean;
  assetsListed: number;
  /** Files proven, by what proves them. */
  proven: { manifest: number; journal: number; sha256sums: number; api: number };
  provenFiles: number;
  /** Files this repair added to the manifest (`sha256sums` + `api`); on a dry run, that it would add. */
  recorded: number;
  /** Unrecorded files SHA256SUMS proves intact that no asset could be matched to (no token, or not listed). */
  intactUnmatched: number;
  /** What could not be proven: kept on disk, not recorded. */
  unproven: UnprovenFile[];
  bytesHashed: number;
  apiRequests: number;
  /** True when every file found was proven. */
  complete: boolean;
}

/** One asset's files matched by this repair. */
interface Addition {
  asset: Asset;
  account: string | undefined;
  files: ManifestFile[];
  complete: boolean;
  sidecar: string | undefined;
}

interface Context {
  out: string;
  base: RepairBase;
  sums: Map<string, string> | undefined;
  candidates: Set<string>;
  report: RepairReport;
  signal: AbortSignal | undefined;
}

/**
 * Rebuilds `<out>/manifest.json` from what is there: a readable manifest.json and the journals first, then the
 * files at the default layout's paths, matched (with a token) to the listed assets by path and size and hashed, so
 * each rebuilt record is as strong as a downloaded one. A broken manifest.json is renamed to
 * `manifest.json.broken-N`, never deleted; no media file is moved, changed or removed. Holds the folder's lock
 * (not on a dry run) and writes the manifest atomically, once everything is matched.
 */
export async function repair(options: RepairOptions): Promise<RepairReport> {
  const out = path.resolve(options.out);
  const dryRun = options.dryRun ?? false;
  await checkOutFolder(out);
  if (!(await fs.stat(out).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(`No backup in ${out}: the folder does not exist`);
  }
  const release = dryRun ? async () => {} : await acquireLock(out);
  try {
    if (!dryRun) await removeDeadAtomicTemps(out, ATOMIC_OWN_FILES);
    const ctx = await survey(out, dryRun, options.signal);
    // Without a token nothing says which asset an unrecorded file belongs to: none is recorded (leftOver says
    // which are intact), and the next backup, which lists the account, keeps a file that is byte for byte the one
    // it would download (engine/place.ts) instead of writing over it.
    const additions = options.token ? await matchToApi(ctx, options) : [];
    await leftOver(ctx);
    if (options.signal?.aborted) throw new AbortError();
    if (!dryRun) await write(ctx, additions);
    const r = ctx.report;
    r.provenFiles = r.proven.manifest + r.proven.journal + r.proven.sha256sums + r.proven.api;
    r.complete = r.unproven.length === 0;
    return r;
  } finally {
    await release();
  }
}

/** What the disk holds: the records and their files, SHA256SUMS, and the unrecorded files at layout paths. */
async function survey(out: string, dryRun: boolean, signal: AbortSignal | undefined): Promise<Context> {
  const base = await readRepairBase(out);
  const checked = await checkRecorded(out, base);
  const known = new Set<string>();
  for (const entry of Object.values(base.data.assets)) {
    if (entry.sidecar) known.add(entry.sidecar);
    for (const f of entry.files) known.add(f.path);
  }
  const candidates = new Set(await layoutFiles(out, known));
  const sums = await readSha256Sums(out);
  const empty = Object.keys(base.data.assets).length === 0 && base.journalLines === 0;
  if (base.manifest !== 'broken' && empty && candidates.size === 0 && sums === undefined) {
    throw new UsageError(
      `No backup in ${out}: no manifest, journal, SHA256SUMS or backed-up file to rebuild from`,
    );
  }
  const report: RepairReport = {
    out,
    dryRun,
    manifest: base.manifest,
    setAside: null,
    listed: false,
    listingComplete: true,
    assetsListed: 0,
    proven: { ...checked.proven, sha256sums: 0, api: 0 },
    provenFiles: 0,
    recorded: 0,
    intactUnmatched: 0,
    unproven: checked.unproven,
    bytesHashed: 0,
    apiRequests: 0,
    complete: false,
  };
  return { out, base, sums, candidates, report, signal };
}

/** Every account's listing, each asset's planned paths held against the unrecorded files. */
async function matchToApi(ctx: Context, options: RepairOptions): Promise<Addition[]> {
  const client =
    options.client ??
    createClient({
      token: options.token as string,
      baseUrl: options.baseUrl,
      retries: options.retries,
      timeoutMs: options.timeoutMs,
    });
  const folders = await accountFolders(ctx.out);
  const accounts = [...new Set([...(options.accounts ?? []), ...folders])];
  // As a backup names them: account folders only when it backed up several accounts.
  const perAccountFolders = folders.length > 0 || accounts.length > 1;
  const additions: Addition[] = [];
  const claimed = new Map<string, string>();
  const seen = new Set<string>();
  ctx.report.listed = true;
  try {
    for (const account of accounts.length > 0 ? accounts : [undefined]) {
      const assets = iterateAccount(client, {
        email: account,
        mediaTypes: [...MEDIA_TYPES],
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onEvent: (e) => {
          if (e.type === 'capped' || e.type === 'incomplete') ctx.report.listingComplete = false;
          if (e.type === 'listing' && e.event.type === 'incomplete') ctx.report.listingComplete = false;
        },
      });
      for await (const asset of assets) {
        if (seen.has(asset.assetId)) continue;
        seen.add(asset.assetId);
        ctx.report.assetsListed++;
        const added = await matchAsset(ctx, asset, account, perAccountFolders, claimed);
        if (added) additions.push(added);
      }
    }
  } finally {
    ctx.report.apiRequests = client.requestCount;
    if (!options.client) client.close();
  }
  return additions;
}

/** The asset's unrecorded files at its planned paths, each proven or reported. */
async function matchAsset(
  ctx: Context,
  asset: Asset,
  account: string | undefined,
  perAccountFolders: boolean,
  claimed: Map<string, string>,
): Promise<Addition | undefined> {
  let plan: { jobs: FileJob[]; sidecar: string };
  try {
    plan = planFiles(asset, account, perAccountFolders, true, ctx.out, claimed);
  } catch (error) {
    if (error instanceof UnsafePathError) return undefined; // a backup never wrote such an asset either
    throw error;
  }
  const files: ManifestFile[] = [];
  let recorded = 0;
  for (const job of plan.jobs) {
    const existing = ctx.base.data.assets[asset.assetId]?.files.find(
      (f) => f.role === job.role && f.index === job.index && f.status === 'done',
    );
    if (existing) recorded++;
    if (!ctx.candidates.has(job.path)) continue;
    ctx.candidates.delete(job.path);
    const proof = await proveFile(ctx, job);
    if ('kind' in proof) ctx.report.unproven.push(proof);
    else files.push(proof);
  }
  if (files.length === 0) return undefined;
  const sidecarOnDisk =
    (await fileSize(resolveInside(ctx.out, plan.sidecar)).catch(() => undefined)) !== undefined;
  return {
    asset,
    account,
    files,
    complete: recorded + files.length === plan.jobs.length,
    sidecar: sidecarOnDisk ? plan.sidecar : undefined,
  };
}

/** One file matched to its asset by path: its size held against the API's, hashed, and against SHA256SUMS. */
async function proveFile(ctx: Context, job: FileJob): Promise<ManifestFile | UnprovenFile> {
  const absolute = resolveInside(ctx.out, job.path);
  try {
    const size = await fileSize(absolute);
    if (size === undefined) return { path: job.path, kind: 'unreadable', reason: 'gone while repairing' };
    if (job.expectedBytes !== undefined && size !== job.expectedBytes) {
      return { path: job.path, kind: 'size', reason: `${size} bytes, the API says ${job.expectedBytes}` };
    }
    const sha256 = await sha256Of(absolute, ctx.signal);
    ctx.report.bytesHashed += size;
    const listed = ctx.sums?.get(job.path);
    if (listed !== undefined && listed !== sha256) {
      return { path: job.path, kind: 'sha256', reason: 'its sha256 is not the one SHA256SUMS lists' };
    }
    ctx.report.proven[listed === undefined ? 'api' : 'sha256sums']++;
    ctx.report.recorded++;
    const completedAt = new Date().toISOString();
    return {
      role: job.role,
      index: job.index,
      path: job.path,
      bytes: size,
      sha256,
      status: 'done',
      completedAt,
    };
  } catch (error) {
    if (error instanceof AbortError) throw error;
    return { path: job.path, kind: 'unreadable', reason: errorCode(error) };
  }
}

/** The unrecorded files no asset claimed: reported, after a check against SHA256SUMS where it lists them. */
async function leftOver(ctx: Context): Promise<void> {
  const { report } = ctx;
  const why = !report.listed
    ? 'no token (USEAPI_TOKEN) to match it to an asset'
    : report.listingComplete
      ? 'no listed asset has a file at this path'
      : 'no listed asset has a file at this path (the listing was capped or cut short: its asset may be out of reach)';
  const kind = report.listed ? 'unmatched' : 'no-token';
  for (const file of ctx.candidates) {
    if (ctx.signal?.aborted) throw new AbortError();
    const listed = ctx.sums?.get(file);
    if (listed === undefined) {
      report.unproven.push({ path: file, kind, reason: why });
      continue;
    }
    try {
      const absolute = resolveInside(ctx.out, file);
      const sha256 = await sha256Of(absolute, ctx.signal);
      report.bytesHashed += (await fileSize(absolute)) ?? 0;
      if (sha256 !== listed) {
        report.unproven.push({
          path: file,
          kind: 'sha256',
          reason: 'its sha256 is not the one SHA256SUMS lists',
        });
        continue;
      }
      report.intactUnmatched++;
      report.unproven.push({ path: file, kind, reason: `intact per SHA256SUMS, but ${why}` });
    } catch (error) {
      if (error instanceof AbortError) throw error;
      report.unproven.push({ path: file, kind: 'unreadable', reason: errorCode(error) });
    }
  }
  report.unproven.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Sets a broken manifest.json aside, then writes the rebuilt one: the journals replayed plus what was matched. */
async function write(ctx: Context, additions: Addition[]): Promise<void> {
  if (ctx.base.manifest === 'broken') ctx.report.setAside = await setBrokenManifestAside(ctx.out);
  const manifest = await Manifest.load(ctx.out);
  try {
    for (const { asset, account, files, complete, sidecar } of additions) {
      // The same record a backup writes for the asset (its favourite, prompt and details included).
      await manifest.upsertAsset(entryOf(asset, account));
      await Promise.all(files.map((file) => manifest.recordFile(asset.assetId, file)));
      if (complete || sidecar)
        await manifest.setStatus(asset.assetId, complete ? 'complete' : 'partial', sidecar);
    }
    await manifest.flush();
  } finally {
    await manifest.close();
  }
}
