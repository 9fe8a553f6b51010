// src/run/: one backup run: backup() (this file), its options, claiming the folder (claim) and finishing (finish),
// the plan of one asset and the accounting of the run (summary and events). Joins source, engine and store; never imports progress bars, reports or commands.
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { type AssetsClient, createClient } from '../api/client.js';
import { createLanes } from '../engine/lanes.js';
import { RateLimiter } from '../engine/rate-limit.js';
import { Scheduler } from '../engine/scheduler.js';
import { FileTransfer } from '../engine/transfer.js';
import { AbortError, DiskError, RunwayBackupError, UnsafePathError } from '../errors.js';
import { isDiskError, toDiskError } from '../fsutil.js';
import { createRelister, gone, isGone, type Relister } from '../source/refresh.js';
import { iterateAccount } from '../source/sources.js';
import { resolveInside } from '../store/layout.js';
import { Manifest } from '../store/manifest.js';
import { layoutValuesOf } from '../store/render-layout.js';
import type { Asset } from '../types.js';
import { Accounting, type BackupSummary } from './accounting.js';
import { claimOutFolder } from './claim.js';
import { claimsFromManifest, type PathClaims } from './claims.js';
import { saveAndUnlock, settleWork, writeChecksums } from './finish.js';
import { fileKey, resolveLeftovers } from './leftovers.js';
import { type BackupOptions, type ResolvedBackupOptions, resolveBackupOptions } from './options.js';
import { type FileJob, isDone, planFiles, setAsideDamaged, urlOf } from './plan.js';
import { finishRecords } from './record-run.js';
import { GenerationKeeper } from './records.js';
import { describe } from './refusal.js';
import { moveToLayout } from './relayout.js';
import { entryOf, Selection, setFileTime } from './selection.js';
import { writeSidecar } from './sidecar.js';
import { sidecarText } from './sidecars.js';
import { walkAccounts } from './walk.js';

export type { BackupEvent, BackupFailure, BackupSummary, UnwantedAsset } from './accounting.js';
export type { BackupOptions } from './options.js';
export type { FileJob } from './plan.js';

/**
 * Backs up an account's media into `options.out`: lists every asset, hands each file that the manifest does not
 * prove done to the lanes, records each file only after it is verified and renamed. Never throws for a single
 * file's failure (it is in `failures`) nor for one account of several being refused (`failedAccounts`); throws
 * for what stops the whole run (bad options, the API refusing the listing, a full disk). On abort it stops taking
 * work, writes the manifest and returns with `interrupted`.
 */
export async function backup(options: BackupOptions): Promise<BackupSummary> {
  const o = resolveBackupOptions(options);
  const started = Date.now();
  const out = path.resolve(o.out);
  const controller = new AbortController();
  // Every transfer and sleep listens to this one signal; many listeners are expected, not a leak.
  setMaxListeners(0, controller.signal);
  let fatal: unknown;
  const stop = (error: unknown): void => {
    fatal ??= isDiskError(error) ? toDiskError(error, 'the output folder') : error;
    controller.abort();
  };
  const lanes = createLanes(o.concurrency);
  const acct = new Accounting(
    options.onEvent,
    stop,
    { mode: lanes.mode, final: lanes.limit, peak: lanes.limit },
    o.dryRun,
  );
  const client = options.client ?? clientOf(o, acct);
  const closeClient = (): void => {
    if (!options.client) client.close();
  };

  // A dry run writes nothing: it neither creates nor locks the folder.
  const release = o.dryRun
    ? async () => {}
    : await claimOutFolder(out, options.onLocked, closeClient, (stale) => acct.lockTakenOver(stale));
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) controller.abort();
  const signal = controller.signal;
  lanes.onChange((n) => acct.lanes(n));
  const limiter = o.limitRate ? new RateLimiter({ schedule: o.limitRate }) : undefined;
  const scheduler = new Scheduler({
    lanes,
    split: o.split,
    rateLimited: () => limiter?.takeLimited() ?? false,
  });
  const assets = new Set<Promise<void>>();
  let manifest: Manifest | undefined;

  try {
    manifest = await Manifest.load(out);
    acct.summary.filter = o.filter;
    // `verify` judges the backup by the filter of its last run: what that run left out is not missing.
    if (!o.dryRun) await manifest.setFilter(o.filter);
    // Before anything is planned: files move to the run's layout first, so that planning finds them there.
    await moveToLayout(manifest, out, o, signal, acct);
    const run = new Run(o, out, manifest, client, scheduler, acct, signal, stop, { ...options, limiter });
    await walkAccounts(run, assets);
    scheduler.drain();
    while (assets.size > 0) await Promise.allSettled([...assets]);
    if (!o.dryRun && !signal.aborted && fatal === undefined) await run.leftovers();
    if (!o.dryRun) await finishRecords(run.keeper, out, o.metadata, acct.summary, signal);
  } catch (error) {
    if (!(error instanceof AbortError) && fatal === undefined) stop(error);
    controller.abort();
  } finally {
    // Whatever ended the walk, every transfer finishes (an aborted one quickly) before the manifest is written and
    // the lock released: nothing may touch the folder after backup() has returned.
    await settleWork(assets, scheduler);
    options.signal?.removeEventListener('abort', onAbort);
    acct.summary.apiRequests = client.requestCount;
    closeClient();
    const unsaved = await saveAndUnlock(manifest, !o.dryRun, release, (m) =>
      writeChecksums(out, m, acct.summary),
    );
    fatal ??= unsaved;
  }
  acct.summary.seconds = (Date.now() - started) / 1000;
  if (fatal !== undefined) throw fatal;
  acct.summary.interrupted = options.signal?.aborted ?? false;
  return acct.summary;
}

/** The API client of a run that was given none, its retries reported to the run's accounting. */
function clientOf(o: ResolvedBackupOptions, acct: Accounting): AssetsClient {
  return createClient({
    token: o.token,
    baseUrl: o.baseUrl,
    timeoutMs: o.timeoutMs,
    retries: o.retries,
    backoffBaseMs: o.backoffBaseMs,
    onRetry: (info) => acct.retry(undefined, info),
  });
}

/** One run's wiring: where assets come from, how each becomes transfers, and what is recorded when. */
class Run {
  readonly #claims: PathClaims;
  readonly #seen = new Set<string>();
  /** The files planned this run, by key (`fileKey`) and by path: what the run wants. */
  readonly #wanted = { keys: new Set<string>(), paths: new Set<string>() };
  readonly #knownDirs = new Map<string, Set<string>>();
  readonly #relisters = new Map<string | undefined, Relister>();
  readonly #perAccountFolders: boolean;
  readonly #selection: Selection;
  readonly keeper: GenerationKeeper;

  constructor(
    readonly o: ResolvedBackupOptions,
    readonly out: string,
    readonly manifest: Manifest,
    readonly client: AssetsClient,
    readonly scheduler: Scheduler,
    readonly acct: Accounting,
    readonly signal: AbortSignal,
    readonly stop: (error: unknown) => void,
    readonly extra: Pick<BackupOptions, 'transport' | 'io'> & { limiter: RateLimiter | undefined },
  ) {
    this.#perAccountFolders = o.accounts.length > 1;
    this.#claims = claimsFromManifest(manifest);
    this.#selection = new Selection(manifest, o.filter, acct, o.dryRun, this.#perAccountFolders, {
      layout: o.layout,
      timeZone: o.timeZone,
    });
    this.keeper = new GenerationKeeper(manifest, client, signal);
  }

  /** Every wanted asset of one account once: its assets windows, and the task history when they are capped. */
  async *source(account: string | undefined): AsyncGenerator<Asset> {
    const assets = iterateAccount(this.client, {
      email: account,
      mediaTypes: this.o.mediaTypes,
      taskHistory: this.o.taskHistory,
      signal: this.signal,
      onEvent: (event) => this.acct.source(account, event),
      onTask: this.keeper.taskReader(account),
    });
    for await (const asset of assets) {
      this.keeper.note(account, asset);
      // The manifest is keyed by assetId across accounts: an asset two accounts share is backed up once.
      if (this.#seen.has(asset.assetId)) continue;
      this.#seen.add(asset.assetId);
      if (await this.#selection.wants(asset, account)) yield asset;
    }
  }

  #relister(account: string | undefined): Relister {
    let relister = this.#relisters.get(account);
    if (!relister) {
      relister = createRelister(this.client, account, this.signal);
      this.#relisters.set(account, relister);
    }
    return relister;
  }

  /** The asset's files at safe, unique paths; an asset that cannot be placed safely fails alone. */
  #planned(asset: Asset, account: string | undefined): { jobs: FileJob[]; sidecar: string } | undefined {
    try {
      const plan = planFiles(
        asset,
        account,
        this.#perAccountFolders,
        this.o.previews,
        this.out,
        this.#claims,
        this.manifest.get(asset.assetId),
        {
          layout: this.o.layout,
          timeZone: this.o.timeZone,
          values: layoutValuesOf(this.manifest.get(asset.assetId)?.generation),
        },
      );
      this.acct.asset(asset, account, plan.jobs.length);
      for (const job of plan.jobs) {
        this.#wanted.keys.add(fileKey(job.assetId, job.role, job.index));
        this.#wanted.paths.add(job.path);
      }
      return plan;
    } catch (error) {
      // Defence in depth: layout never produces such a path, but if it did, this asset fails, not the run.
      if (!(error instanceof UnsafePathError)) throw error;
      this.acct.assetFailed(asset, error.code, error.message);
      return undefined;
    }
  }

  /** After every asset settled: marks the missing files no backup fetches, removes `.part` files nobody wants. */
  async leftovers(): Promise<void> {
    const s = this.acct.summary;
    const removed = await resolveLeftovers(this.manifest, this.out, {
      complete: s.cappedWindows.length + s.incompleteWindows.length + s.failedAccounts.length === 0,
      mediaTypes: this.o.mediaTypes,
      previews: this.o.previews,
      seen: this.#seen,
      planned: this.#wanted.keys,
      plannedPaths: this.#wanted.paths,
      claims: this.#claims,
    });
    for (const part of removed) this.acct.partRemoved(part);
  }

  /** A dry run: what is done and what would be fetched; nothing is written. */
  async plan(asset: Asset, account: string | undefined): Promise<void> {
    const plan = this.#planned(asset, account);
    for (const job of plan?.jobs ?? []) {
      const done = await isDone(this.manifest, job, this.out);
      if (done !== undefined) this.acct.skipped(job, done);
      else this.acct.planned(job);
    }
  }

  /** Fetches what the asset lacks, then records it complete (and writes its sidecar). Never rejects. */
  async asset(asset: Asset, account: string | undefined): Promise<void> {
    try {
      const plan = this.#planned(asset, account);
      if (!plan || this.signal.aborted) return;
      await this.manifest.upsertAsset(entryOf(asset, account));
      // allSettled, not all: when one file throws (and stops the run), its siblings may still be moving a damaged
      // copy aside or writing the journal; backup() waits for this asset, so it must not settle before they do.
      const settled = await Promise.allSettled(plan.jobs.map((job) => this.#file(asset, account, job)));
      const thrown = settled.find((r) => r.status === 'rejected');
      if (thrown) throw thrown.reason;
      if (this.signal.aborted || !settled.every((r) => r.status === 'fulfilled' && r.value)) return;
      let sidecar: string | undefined;
      if (this.o.metadata) {
        sidecar = plan.sidecar;
        try {
          const record = this.manifest.get(asset.assetId)?.generation;
          const text = sidecarText(asset.raw, record);
          const { movedAside } = await writeSidecar(this.out, sidecar, asset, text);
          if (movedAside !== undefined) this.acct.setAside(sidecar, movedAside);
        } catch (error) {
          if (isDiskError(error)) throw error;
          // Something else stands at the sidecar's path (a folder, say): this asset's sidecar fails, not the run.
          const code = (error as NodeJS.ErrnoException).code ?? 'ERR_SIDECAR';
          this.acct.failed(
            { ...(plan.jobs[0] as FileJob), path: sidecar },
            'ERR_SIDECAR',
            `cannot write the metadata sidecar (${code})`,
          );
          return;
        }
      }
      this.acct.assetComplete();
      await this.manifest.setStatus(asset.assetId, 'complete', sidecar);
    } catch (error) {
      // A journal write, a move aside, a sidecar on a full disk: the run stops cleanly, it does not crash.
      if (!this.signal.aborted) this.stop(error);
    }
  }

  /** One file: skipped when done, else fetched on the lanes and recorded. True when it is on disk. */
  async #file(asset: Asset, account: string | undefined, job: FileJob): Promise<boolean> {
    const m = this.manifest;
    const done = await isDone(m, job, this.out);
    if (done !== undefined) {
      this.acct.skipped(job, done);
      return true;
    }
    if (this.signal.aborted) return false;
    this.acct.planned(job);
    const found = await setAsideDamaged(m, job, this.out);
    if (found && 'movedTo' in found) this.acct.damaged(job, found.movedTo);
    else if (found) this.acct.vanished(job);
    const relister = this.#relister(account);
    let url = urlOf(asset, job) ?? asset.url;
    // A 404 while the asset is still listed gets one more try, with the fresh URL that proved it listed.
    for (let tries = 0; ; tries++) {
      try {
        const result = await this.#transfer(job, url, relister, asset.taskId);
        // After the rename, before the record: a file recorded done has its time. A file that stood there already
        // (identical, adopted) is the user's and keeps its own.
        if (this.o.mtime && !result.adopted) {
          await setFileTime(resolveInside(this.out, job.path), asset.createdAt);
        }
        await m.recordFile(asset.assetId, {
          role: job.role,
          index: job.index,
          path: job.path,
          bytes: result.bytes,
          sha256: result.sha256,
          status: 'done',
          completedAt: new Date().toISOString(),
        });
        this.acct.done(job, result);
        return true;
      } catch (error) {
        if (this.signal.aborted || error instanceof AbortError) return false;
        if (error instanceof DiskError || isDiskError(error)) throw error;
        const code = error instanceof RunwayBackupError ? error.code : 'ERR_UNKNOWN';
        // Gone as the lookup after a first 404 answered it: isGone() would ask the API the same question again.
        let goneOnLookup = false;
        if (code === 'ERR_DOWNLOAD_GONE' && tries === 0) {
          const fresh: unknown = await relister.fresh(asset.assetId, asset.taskId).catch((e: unknown) => e);
          if (!(fresh instanceof Error)) {
            const freshUrl = urlOf(fresh as Asset, job);
            if (freshUrl) {
              url = freshUrl;
              continue;
            }
            goneOnLookup = true; // the asset is listed, this file of it no longer
          } else goneOnLookup = fresh instanceof RunwayBackupError && fresh.code === 'ERR_ASSET_GONE';
        }
        if (goneOnLookup || (await isGone(error, asset.assetId, relister, asset.taskId))) {
          // Deleted on Runway since the listing: nothing to fetch any more, so not a failure of the backup.
          this.acct.gone(job);
          return false;
        }
        this.acct.failed(job, code, describe(error));
        return false;
      }
    }
  }

  async #transfer(job: FileJob, url: string, relister: Relister, taskId: string | undefined) {
    const m = this.manifest;
    const key = `${job.role}-${job.index}`;
    const transfer = new FileTransfer({
      dest: resolveInside(this.out, job.path),
      url,
      expectedSize: job.expectedBytes,
      // The resume state goes to the manifest journal: one appended line, not a file per download.
      resumeStore: {
        get: () => m.partial(job.assetId, key),
        // With its path, so that the path stays this asset's while the `.part` waits (see claims.ts).
        set: (state) => m.setPartial(job.assetId, key, state && { ...state, path: job.path }),
        // The file's record, written next (#file), forgets the resume state with it (manifest-data.ts `file`).
        placed: () => {},
      },
      refreshUrl: async () => {
        const fresh = urlOf(await relister.fresh(job.assetId, taskId), job);
        // A DownloadError, not retried: a plain error became a retryable I/O failure in the transfer, and the file
        // was retried into ERR_URL_EXPIRED and counted as failed instead of gone.
        if (!fresh) throw gone('the file is no longer listed');
        return fresh;
      },
      signal: this.signal,
      gate: this.client.gate,
      retries: this.o.retries,
      timeoutMs: this.o.timeoutMs,
      backoffBaseMs: this.o.backoffBaseMs,
      knownDirs: this.#knownDirs,
      transport: this.extra.transport,
      io: this.extra.io,
      rateLimit: this.extra.limiter,
      spawn: (segment) => void this.scheduler.run(segment),
      onStart: ({ total, offset }) => this.acct.size(job, total, offset),
      onBytes: (bytes) => {
        this.acct.bytes(job, bytes);
        this.scheduler.lanes.addBytes(bytes);
      },
      onRetry: (info) => this.acct.retry(job, info),
      onThrottle: () => this.scheduler.lanes.throttle(),
    });
    await this.scheduler.transfer(transfer, () => {
      if (!this.signal.aborted) this.acct.started(job);
    });
    return transfer.result;
  }
}
