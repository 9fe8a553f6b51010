import { setMaxListeners } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { type AssetsClient, type ClientOptions, createClient } from './api/client.js';
import { downloadFile } from './download.js';
import {
  AbortError,
  DiskError,
  DownloadError,
  RunwayBackupError,
  UnsafePathError,
  UsageError,
} from './errors.js';
import { ensureDir, isDiskError, toDiskError, writeIfChanged } from './fsutil.js';
import { resolveInside } from './layout.js';
import { acquireLock } from './lock.js';
import { Manifest } from './manifest.js';
import type { ListingEvent, WindowName } from './paginate.js';
import { type FileJob, isDone, planFiles, setAsideDamaged, urlOf } from './plan.js';
import { createRelister, isGone, type Relister } from './refresh.js';
import { sanitizeMetadata } from './sidecar.js';
import { iterateAccount, type TaskHistoryMode } from './sources.js';
import type { Asset, MediaType } from './types.js';
import { isMediaType, MEDIA_TYPES } from './types.js';

export interface BackupOptions {
  /** useapi.net API token. */
  token: string;
  /** @default 'https://api.useapi.net' */
  baseUrl?: string | undefined;
  /** The output folder. Nothing is written outside it. */
  out: string;
  /** Account emails; each gets `<out>/<email>/` when there are several. @default [] (the only account) */
  accounts?: string[] | undefined;
  /** Media types to back up. @default every type */
  mediaTypes?: MediaType[] | undefined;
  /** Parallel downloads, 1..32. @default 4 */
  concurrency?: number | undefined;
  /** Also download every `previewUrls` entry. @default true */
  previews?: boolean | undefined;
  /** Write a JSON sidecar with the API's fields (no URLs) beside each asset. @default false */
  metadata?: boolean | undefined;
  /** List what would be downloaded; write nothing. @default false */
  dryRun?: boolean | undefined;
  /** Retries of one file or request for transient failures. @default 5 */
  retries?: number | undefined;
  /** Idle timeout of one request, in ms. @default 30_000 */
  timeoutMs?: number | undefined;
  /** Base of the retry backoff, in ms. @default 500 */
  backoffBaseMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Progress and findings, as they happen. Must be cheap: `file-bytes` fires per chunk. */
  onEvent?: ((event: BackupEvent) => void) | undefined;
  /** Replace the API client (tests, custom transports). */
  client?: AssetsClient | undefined;
  /** Walk the task history: when an assets window is capped (auto), always, or never. @default 'auto' */
  taskHistory?: TaskHistoryMode | undefined;
}

export type { FileJob } from './plan.js';

export type BackupEvent =
  | { type: 'listing'; account: string | undefined; event: ListingEvent }
  | { type: 'asset'; asset: Asset; account: string | undefined; files: number }
  | { type: 'file-start'; file: FileJob }
  /** A transfer began: the file's size when the server says it, and the bytes already kept from a `.part`. */
  | { type: 'file-size'; file: FileJob; total: number | undefined; offset: number }
  | { type: 'file-bytes'; file: FileJob; bytes: number }
  | { type: 'file-done'; file: FileJob; bytes: number; resumedFrom: number; movedAside: string | undefined }
  | { type: 'file-skipped'; file: FileJob; bytes: number }
  | { type: 'file-failed'; file: FileJob; code: string; reason: string }
  | { type: 'file-planned'; file: FileJob }
  /** The asset was deleted on Runway between the listing and its download. */
  | { type: 'file-gone'; file: FileJob }
  /** The manifest recorded this file, but the disk holds a different size: it was moved aside, then fetched. */
  | { type: 'file-damaged'; file: FileJob; movedTo: string }
  | { type: 'retry'; file: FileJob | undefined; attempt: number; delayMs: number; reason: string };

export interface BackupFailure {
  assetId: string;
  name: string | undefined;
  path: string;
  code: string;
  reason: string;
}

export interface BackupSummary {
  assetsSeen: number;
  /** Assets whose every planned file is on disk, this run or before. */
  assetsComplete: number;
  filesDownloaded: number;
  filesSkipped: number;
  filesFailed: number;
  /** Files `--dry-run` would download. */
  filesPlanned: number;
  bytesDownloaded: number;
  /** Bytes of skipped files, already on disk. */
  bytesSkipped: number;
  seconds: number;
  failures: BackupFailure[];
  /** Assets deleted on Runway between the listing and their download: reported, not failures. */
  gone: { assetId: string; name: string | undefined; path: string }[];
  /** Items of the listing that were unusable (no id or url), reported and skipped. */
  skippedItems: { account: string | undefined; assetId: string | undefined; reason: string }[];
  /** Windows the API could not list to the end: more assets may exist than were seen. */
  cappedWindows: { account: string | undefined; window: WindowName | 'tasks'; seen: number }[];
  /** Task artifacts with nothing to fetch (deleted in Runway, directories): counted, not failures. */
  artifactsSkipped: { deleted: number; directory: number };
  /** Requests to the API (listing pages and single-asset lookups), retries included. */
  apiRequests: number;
  interrupted: boolean;
  dryRun: boolean;
}

const DEFAULT_CONCURRENCY = 4;

function validate(options: BackupOptions): { concurrency: number; types: MediaType[] } {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new UsageError(
      `Expected \`concurrency\` to be an integer from 1 to 32, got ${String(concurrency)}`,
    );
  }
  const types = options.mediaTypes ?? [...MEDIA_TYPES];
  if (types.length === 0 || !types.every(isMediaType)) {
    throw new UsageError(`Expected \`media-type\` to be a list of ${MEDIA_TYPES.join(', ')}`);
  }
  if (typeof options.out !== 'string' || options.out.trim() === '') {
    throw new UsageError('Expected `out` to be a folder path');
  }
  return { concurrency, types: [...new Set(types)] };
}

/**
 * Backs up an account's media into `options.out`: lists every asset, downloads what the manifest does not prove
 * done with a bounded pool, records each file only after it is verified and renamed. Never throws for a single
 * file's failure (it is in `failures`); throws for what stops the whole run (bad options, the API refusing the
 * listing, a full disk). On abort it stops taking work, flushes the manifest and returns with `interrupted`.
 */
export async function backup(options: BackupOptions): Promise<BackupSummary> {
  const { concurrency, types } = validate(options);
  const started = Date.now();
  const out = path.resolve(options.out);
  const accounts =
    options.accounts && options.accounts.length > 0 ? [...new Set(options.accounts)] : [undefined];
  const perAccountFolders = accounts.length > 1;
  const previews = options.previews ?? true;
  const dryRun = options.dryRun ?? false;
  const emit = options.onEvent ?? (() => {});
  const clientOptions: ClientOptions = {
    token: options.token,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    backoffBaseMs: options.backoffBaseMs,
    onRetry: (info) => emit({ type: 'retry', file: undefined, ...info }),
  };
  const client = options.client ?? createClient(clientOptions);
  const summary: BackupSummary = {
    assetsSeen: 0,
    assetsComplete: 0,
    filesDownloaded: 0,
    filesSkipped: 0,
    filesFailed: 0,
    filesPlanned: 0,
    bytesDownloaded: 0,
    bytesSkipped: 0,
    seconds: 0,
    failures: [],
    gone: [],
    skippedItems: [],
    cappedWindows: [],
    artifactsSkipped: { deleted: 0, directory: 0 },
    apiRequests: 0,
    interrupted: false,
    dryRun,
  };

  if (!dryRun) {
    try {
      await ensureDir(out);
      await fs.access(out, fs.constants.W_OK);
    } catch (error) {
      throw new UsageError(
        `Cannot write to the output folder ${out}: ${(error as NodeJS.ErrnoException).code}`,
        {
          cause: error,
        },
      );
    }
  }
  const release = dryRun ? async () => {} : await acquireLock(out);
  const controller = new AbortController();
  // Every download and sleep listens to this one signal; dozens of listeners are expected, not a leak.
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) controller.abort();
  const signal = controller.signal;
  let manifest: Manifest | undefined;
  let fatal: unknown;
  const knownDirs = new Map<string, Set<string>>();
  const tasks = new Set<Promise<void>>();

  try {
    manifest = await Manifest.load(out);
    const limit = pLimit(concurrency);
    // Backpressure: the lister stays at most this many assets ahead of the workers, so URLs are used soon after
    // they are handed out and memory stays flat on large accounts.
    const maxQueued = Math.max(64, concurrency * 16);
    const waiters: (() => void)[] = [];
    const wakeOne = (): void => waiters.shift()?.();
    const claimed = new Map<string, string>();

    for (const account of accounts) {
      if (signal.aborted) break;
      const relisted = createRelister(client, account, signal);
      const iterator = iterateAccount(client, {
        email: account,
        mediaTypes: types,
        taskHistory: options.taskHistory ?? 'auto',
        signal,
        onEvent: (event) => {
          if (event.type === 'capped') {
            summary.cappedWindows.push({ account, window: event.window, seen: event.seen });
          }
          if (event.type === 'skipped') {
            summary.skippedItems.push({ account, assetId: event.assetId, reason: event.reason });
          }
          if (event.type === 'artifact-skipped') summary.artifactsSkipped[event.reason]++;
          if (event.type === 'listing') emit({ type: 'listing', account, event: event.event });
        },
      });
      for await (const asset of iterator) {
        summary.assetsSeen++;
        let plan: { jobs: FileJob[]; sidecar: string };
        try {
          plan = planFiles(asset, account, perAccountFolders, previews, out, claimed);
        } catch (error) {
          // Defence in depth: layout never produces such a path, but if it did, this asset fails, not the run.
          if (!(error instanceof UnsafePathError)) throw error;
          summary.filesFailed++;
          summary.failures.push({
            assetId: asset.assetId,
            name: asset.name,
            path: '',
            code: error.code,
            reason: error.message,
          });
          continue;
        }
        const { jobs } = plan;
        emit({ type: 'asset', asset, account, files: jobs.length });
        if (dryRun) {
          for (const job of jobs) {
            const done = await isDone(manifest, job, out);
            if (done !== undefined) {
              summary.filesSkipped++;
              summary.bytesSkipped += done;
            } else {
              summary.filesPlanned++;
              emit({ type: 'file-planned', file: job });
            }
          }
          continue;
        }
        while (limit.pendingCount + limit.activeCount >= maxQueued && !signal.aborted) {
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
        if (signal.aborted) break;
        const task = limit(() => processAsset(asset, account, plan, relisted)).finally(() => {
          tasks.delete(task);
          wakeOne();
        });
        tasks.add(task);
      }
    }
    await Promise.all(tasks);
  } catch (error) {
    if (!(error instanceof AbortError) && fatal === undefined) fatal = error;
    controller.abort();
  } finally {
    // Whatever ended the walk, every worker finishes (an aborted one quickly) before the manifest is written and
    // the lock released: nothing may touch the folder after backup() has returned.
    await Promise.allSettled(tasks);
    options.signal?.removeEventListener('abort', onAbort);
    summary.apiRequests = client.requestCount;
    if (!options.client) client.close();
    try {
      if (manifest && !dryRun) await manifest.flush();
    } catch (error) {
      fatal ??= isDiskError(error) ? toDiskError(error, 'the manifest') : error;
    } finally {
      manifest?.close();
      await release();
    }
  }
  summary.seconds = (Date.now() - started) / 1000;
  if (fatal !== undefined) throw fatal;
  summary.interrupted = options.signal?.aborted ?? false;
  return summary;

  async function processAsset(
    asset: Asset,
    account: string | undefined,
    { jobs, sidecar: sidecarPath }: { jobs: FileJob[]; sidecar: string },
    relisted: Relister,
  ): Promise<void> {
    // Queued before an abort: leave without a trace.
    if (signal.aborted) return;
    const m = manifest!;
    m.upsertAsset({
      assetId: asset.assetId,
      id: asset.id,
      name: asset.name,
      mediaType: asset.mediaType,
      createdAt: asset.createdAt,
      fileSize: asset.fileSize,
      account,
    });
    let complete = true;
    for (const job of jobs) {
      if (signal.aborted) return;
      const done = await isDone(m, job, out);
      if (done !== undefined) {
        summary.filesSkipped++;
        summary.bytesSkipped += done;
        emit({ type: 'file-skipped', file: job, bytes: done });
        continue;
      }
      const movedAside = await setAsideDamaged(m, job, out);
      if (movedAside) emit({ type: 'file-damaged', file: job, movedTo: movedAside });
      emit({ type: 'file-start', file: job });
      const key = `${job.role}-${job.index}`;
      try {
        const result = await downloadFile({
          dest: resolveInside(out, job.path),
          url: urlOf(asset, job) ?? asset.url,
          assetId: asset.assetId,
          key,
          // The validator goes to the manifest journal: one appended line instead of a file per download.
          resumeStore: {
            get: () => m.partial(asset.assetId, key),
            set: (state) => m.setPartial(asset.assetId, key, state),
          },
          expectedSize: job.expectedBytes,
          refreshUrl: async () => {
            const fresh = await relisted.fresh(asset.assetId, asset.taskId);
            const url = urlOf(fresh, job);
            if (!url)
              throw new DownloadError('ERR_ASSET_GONE', 'the file is no longer listed', { retryable: false });
            return url;
          },
          signal,
          knownDirs,
          gate: client.gate,
          retries: options.retries,
          timeoutMs: options.timeoutMs,
          backoffBaseMs: options.backoffBaseMs,
          onBytes: (bytes) => {
            summary.bytesDownloaded += bytes;
            emit({ type: 'file-bytes', file: job, bytes });
          },
          onStart: ({ total, offset }) => emit({ type: 'file-size', file: job, total, offset }),
          onRetry: (info) => emit({ type: 'retry', file: job, ...info }),
        });
        m.recordFile(asset.assetId, {
          role: job.role,
          index: job.index,
          path: job.path,
          bytes: result.bytes,
          sha256: result.sha256,
          status: 'done',
          completedAt: new Date().toISOString(),
        });
        summary.filesDownloaded++;
        emit({
          type: 'file-done',
          file: job,
          bytes: result.bytes,
          resumedFrom: result.resumedFrom,
          movedAside: result.movedAside,
        });
      } catch (error) {
        if (signal.aborted || error instanceof AbortError) return;
        if (error instanceof DiskError || isDiskError(error)) {
          fatal ??= error instanceof DiskError ? error : toDiskError(error, job.path);
          controller.abort();
          return;
        }
        complete = false;
        const code = error instanceof RunwayBackupError ? error.code : 'ERR_UNKNOWN';
        if (await isGone(error, asset.assetId, relisted, asset.taskId)) {
          // Deleted on Runway since the listing: nothing to fetch any more, so not a failure of the backup.
          summary.gone.push({ assetId: asset.assetId, name: asset.name, path: job.path });
          emit({ type: 'file-gone', file: job });
          break;
        }
        const reason = describe(error);
        summary.filesFailed++;
        summary.failures.push({ assetId: asset.assetId, name: asset.name, path: job.path, code, reason });
        emit({ type: 'file-failed', file: job, code, reason });
      }
    }
    let sidecar: string | undefined;
    if (options.metadata && complete) {
      sidecar = sidecarPath;
      try {
        await writeIfChanged(
          resolveInside(out, sidecar),
          `${JSON.stringify(sanitizeMetadata(asset.raw), null, 2)}\n`,
        );
      } catch (error) {
        if (isDiskError(error)) {
          fatal ??= toDiskError(error, sidecar);
          controller.abort();
          return;
        }
        throw error;
      }
    }
    if (complete) {
      summary.assetsComplete++;
      m.setStatus(asset.assetId, 'complete', sidecar);
    }
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Our messages already redact URLs; a library's may not, and a signed URL's query is a credential.
  return (message.split('\n')[0] ?? message).replace(/(https?:\/\/[^\s?#]+)[?#]\S*/g, '$1?…');
}
