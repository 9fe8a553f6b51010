/**
 * The run's accounting (rclone's `accounting` is the model): one object owns the summary and emits the events, so
 * every count and the event that reports it change together, in one place.
 */

import type { DownloadResult } from '../engine/transfer.js';
import type { RetryInfo } from '../retry.js';
import type { ListingEvent, WindowName } from '../source/paginate.js';
import type { SourceEvent } from '../source/sources.js';
import type { AssetFilter, LeftOutBy } from '../store/wanted.js';
import type { Asset } from '../types.js';
import type { FileJob } from './plan.js';

export type BackupEvent =
  | { type: 'listing'; account: string | undefined; event: ListingEvent }
  | { type: 'asset'; asset: Asset; account: string | undefined; files: number }
  /** A lane took the file. */
  | { type: 'file-start'; file: FileJob }
  /** A transfer began: the file's size when the server says it, and the bytes already kept from a `.part`. */
  | { type: 'file-size'; file: FileJob; total: number | undefined; offset: number }
  | { type: 'file-bytes'; file: FileJob; bytes: number }
  | {
      type: 'file-done';
      file: FileJob;
      bytes: number;
      resumedFrom: number;
      movedAside: string | undefined;
      segments: number;
    }
  | { type: 'file-skipped'; file: FileJob; bytes: number }
  | { type: 'file-failed'; file: FileJob; code: string; reason: string }
  /** The file needs downloading (a dry run stops here). */
  | { type: 'file-planned'; file: FileJob }
  /** The asset was deleted on Runway between the listing and its download. */
  | { type: 'file-gone'; file: FileJob }
  /** The manifest recorded this file, but the disk holds a different size: it was moved aside, then fetched. */
  | { type: 'file-damaged'; file: FileJob; movedTo: string }
  /** An unfinished download of ours that no wanted file needs was removed at the end of the run. */
  | { type: 'part-removed'; path: string }
  /** A file that stood where a sidecar goes and was not ours was moved aside before the sidecar was written. */
  | { type: 'set-aside'; path: string; movedTo: string }
  /** The manifest recorded this file done, but it is no longer on disk: it is fetched again. */
  | { type: 'file-vanished'; file: FileJob }
  /** A recorded file moved to its path under a new `--layout` (on a dry run: that would be moved). */
  | { type: 'file-moved'; assetId: string; from: string; to: string; dryRun: boolean }
  | { type: 'retry'; file: FileJob | undefined; attempt: number; delayMs: number; reason: string }
  /** The number of parallel transfers changed (`--concurrency auto`). */
  | { type: 'lanes'; lanes: number }
  /** One page of the task history was read (walked when an assets window is capped, or on request). */
  | { type: 'tasks-page'; account: string | undefined; offset: number; tasks: number; artifacts: number }
  /** The run's filter leaves the asset out (README, "Filters"): not planned, not counted in `assetsSeen`. */
  | { type: 'asset-filtered'; asset: Asset; account: string | undefined; reason: LeftOutBy }
  /** `forget` (or the config's `exclude`) made the asset unwanted: not fetched; `path` is its main file's. */
  | { type: 'asset-unwanted'; unwanted: UnwantedAsset }
  /** The folder's lock was stale (its heartbeat too old) and this run took it over. */
  | { type: 'lock-taken-over'; pid: number; host: string; heartbeatAt: string }
  /** An account's listing was refused; the other accounts go on. */
  | { type: 'account-failed'; account: string | undefined; code: string; reason: string };

export interface BackupFailure {
  assetId: string;
  name: string | undefined;
  path: string;
  code: string;
  reason: string;
}

/** An asset listed but not fetched because `forget` or the config's `exclude` said so. */
export interface UnwantedAsset {
  assetId: string;
  name: string | undefined;
  /** Its main file: where the backup holds it, or would put it. */
  path: string;
  reason: 'forgotten' | 'excluded';
  /** When it was forgotten. */
  since: string | undefined;
}

export interface BackupSummary {
  assetsSeen: number;
  /** Assets whose every planned file is on disk, this run or before. */
  assetsComplete: number;
  /** Files that needed downloading (on a dry run: that would be downloaded). */
  filesPlanned: number;
  filesDownloaded: number;
  filesSkipped: number;
  filesFailed: number;
  bytesDownloaded: number;
  /** Bytes of skipped files, already on disk. */
  bytesSkipped: number;
  seconds: number;
  failures: BackupFailure[];
  /** Assets deleted on Runway between the listing and their download: reported, not failures. */
  gone: { assetId: string; name: string | undefined; path: string }[];
  /** Files the manifest recorded but the disk no longer held intact: moved aside (when present) and fetched again. */
  damaged: { path: string; movedTo: string | undefined }[];
  /** Files the manifest recorded done that were no longer on disk (deleted or moved away by hand): fetched again. */
  vanished: { assetId: string; path: string }[];
  /** Unfinished downloads (`.part`) no wanted file needs any more, removed after a complete listing. */
  partsRemoved: string[];
  /** Recorded files (and sidecars) moved to their paths under a new `--layout` (on a dry run: that would be). */
  moved: { assetId: string; from: string; to: string }[];
  /** Items of the listing that were unusable (no id or url), reported and skipped. */
  skippedItems: { account: string | undefined; assetId: string | undefined; reason: string }[];
  /** Windows the API could not list to the end (assets per type, the task history): older assets may exist. */
  cappedWindows: { account: string | undefined; window: WindowName | 'tasks'; seen: number }[];
  /** Task artifacts with nothing to fetch (deleted in Runway, directories): counted, not failures. */
  artifactsSkipped: { deleted: number; directory: number };
  /** Walks cut short by the request budget (heavy drift): the listing is incomplete, not the account. */
  incompleteWindows: {
    account: string | undefined;
    window: WindowName | 'tasks';
    seen: number;
    requests: number;
  }[];
  /** Accounts whose listing the API refused; the others were backed up. */
  failedAccounts: { account: string | undefined; code: string; reason: string }[];
  /** Requests to the API (listing pages and single-asset lookups), retries included. */
  apiRequests: number;
  /** `.part` files that could not be proven to belong to the object and were fetched again from byte 0. */
  restarts: number;
  /** Files fetched in more than one Range segment. */
  filesSplit: number;
  /** Generation records (task model, prompt, seed, settings) kept this run, once per asset for good. */
  recordsKept: number;
  /** Generated assets whose task could not be read this run: backed up all the same; the next run tries again. */
  recordsMissing: number;
  /** `--metadata` sidecars rewritten to hold a record read after they were written. */
  sidecarsUpdated: number;
  /** Lookups by id of assets backed up before that the walk no longer lists (each looked up once). */
  fateLookups: number;
  /** Assets this backup holds whose asset Runway deleted (its files kept here). */
  deletedOnRunway: number;
  /** Assets this backup holds that the listing no longer reaches but Runway still has (a capped window). */
  outOfReach: number;
  /** Whether `SHA256SUMS` was rewritten (it is when what it should say changed). */
  checksumsWritten: boolean;
  /** Parallel transfers: `auto` or fixed, and the most that ran at once. */
  lanes: { mode: 'auto' | 'fixed'; final: number; peak: number };
  /** The filter the run applied (README, "Filters"); `{}` when it wanted everything. */
  filter: AssetFilter;
  /** Listed assets the filter left out (not in `assetsSeen`). */
  assetsFiltered: number;
  /** Listed assets not fetched because `forget` or the config's `exclude` made them unwanted. */
  forgotten: UnwantedAsset[];
  interrupted: boolean;
  dryRun: boolean;
}

export class Accounting {
  readonly summary: BackupSummary;
  #emit: (event: BackupEvent) => void;

  /** `onError` receives what a throwing `onEvent` threw: the run stops, it does not crash half-way. */
  constructor(
    onEvent: ((event: BackupEvent) => void) | undefined,
    onError: (error: unknown) => void,
    lanes: BackupSummary['lanes'],
    dryRun: boolean,
  ) {
    this.#emit = (event) => {
      if (!onEvent) return;
      try {
        onEvent(event);
      } catch (error) {
        onError(error);
      }
    };
    this.summary = {
      assetsSeen: 0,
      assetsComplete: 0,
      filesPlanned: 0,
      filesDownloaded: 0,
      filesSkipped: 0,
      filesFailed: 0,
      bytesDownloaded: 0,
      bytesSkipped: 0,
      seconds: 0,
      failures: [],
      gone: [],
      damaged: [],
      vanished: [],
      partsRemoved: [],
      moved: [],
      skippedItems: [],
      cappedWindows: [],
      artifactsSkipped: { deleted: 0, directory: 0 },
      incompleteWindows: [],
      failedAccounts: [],
      apiRequests: 0,
      restarts: 0,
      filesSplit: 0,
      recordsKept: 0,
      recordsMissing: 0,
      sidecarsUpdated: 0,
      fateLookups: 0,
      deletedOnRunway: 0,
      outOfReach: 0,
      checksumsWritten: false,
      lanes,
      filter: {},
      assetsFiltered: 0,
      forgotten: [],
      interrupted: false,
      dryRun,
    };
  }

  /** What the account's sources found: the assets walk's events, capped windows, skipped items and artifacts. */
  lockTakenOver(stale: { pid: number; host: string; heartbeatAt: Date }): void {
    const { pid, host, heartbeatAt } = stale;
    this.#emit({ type: 'lock-taken-over', pid, host, heartbeatAt: heartbeatAt.toISOString() });
  }

  source(account: string | undefined, event: SourceEvent): void {
    const s = this.summary;
    switch (event.type) {
      case 'listing':
        if (event.event.type === 'incomplete') {
          const { window, seen, requests } = event.event;
          s.incompleteWindows.push({ account, window, seen, requests });
        }
        this.#emit({ type: 'listing', account, event: event.event });
        break;
      case 'capped':
        s.cappedWindows.push({ account, window: event.window, seen: event.seen });
        break;
      case 'incomplete':
        s.incompleteWindows.push({
          account,
          window: event.window,
          seen: event.seen,
          requests: event.requests,
        });
        break;
      case 'skipped':
        s.skippedItems.push({ account, assetId: event.assetId, reason: event.reason });
        break;
      case 'artifact-skipped':
        s.artifactsSkipped[event.reason]++;
        break;
      case 'tasks-page':
        this.#emit({ ...event, account });
        break;
    }
  }

  asset(asset: Asset, account: string | undefined, files: number): void {
    this.summary.assetsSeen++;
    this.#emit({ type: 'asset', asset, account, files });
  }

  filtered(asset: Asset, account: string | undefined, reason: LeftOutBy): void {
    this.summary.assetsFiltered++;
    this.#emit({ type: 'asset-filtered', asset, account, reason });
  }

  unwanted(unwanted: UnwantedAsset): void {
    this.summary.forgotten.push(unwanted);
    this.#emit({ type: 'asset-unwanted', unwanted });
  }

  assetComplete(): void {
    this.summary.assetsComplete++;
  }

  skipped(file: FileJob, bytes: number): void {
    this.summary.filesSkipped++;
    this.summary.bytesSkipped += bytes;
    this.#emit({ type: 'file-skipped', file, bytes });
  }

  planned(file: FileJob): void {
    this.summary.filesPlanned++;
    this.#emit({ type: 'file-planned', file });
  }

  damaged(file: FileJob, movedTo: string | undefined): void {
    this.summary.damaged.push({ path: file.path, movedTo });
    if (movedTo !== undefined) this.#emit({ type: 'file-damaged', file, movedTo });
  }

  setAside(relative: string, movedTo: string): void {
    this.#emit({ type: 'set-aside', path: relative, movedTo });
  }

  partRemoved(relative: string): void {
    this.summary.partsRemoved.push(relative);
    this.#emit({ type: 'part-removed', path: relative });
  }

  moved(move: { assetId: string; from: string; to: string }, dryRun: boolean): void {
    this.summary.moved.push({ assetId: move.assetId, from: move.from, to: move.to });
    this.#emit({ type: 'file-moved', assetId: move.assetId, from: move.from, to: move.to, dryRun });
  }

  vanished(file: FileJob): void {
    this.summary.vanished.push({ assetId: file.assetId, path: file.path });
    this.#emit({ type: 'file-vanished', file });
  }

  started(file: FileJob): void {
    this.#emit({ type: 'file-start', file });
  }

  size(file: FileJob, total: number | undefined, offset: number): void {
    this.#emit({ type: 'file-size', file, total, offset });
  }

  bytes(file: FileJob, bytes: number): void {
    this.summary.bytesDownloaded += bytes;
    this.#emit({ type: 'file-bytes', file, bytes });
  }

  done(file: FileJob, result: DownloadResult): void {
    const s = this.summary;
    s.filesDownloaded++;
    s.restarts += result.restarts;
    if (result.segments > 1) s.filesSplit++;
    this.#emit({
      type: 'file-done',
      file,
      bytes: result.bytes,
      resumedFrom: result.resumedFrom,
      movedAside: result.movedAside,
      segments: result.segments,
    });
  }

  failed(file: FileJob, code: string, reason: string): void {
    this.summary.filesFailed++;
    this.summary.failures.push({ assetId: file.assetId, name: file.name, path: file.path, code, reason });
    this.#emit({ type: 'file-failed', file, code, reason });
  }

  /** An asset that could not even be planned (an unsafe path): a failure without a file. */
  assetFailed(asset: Asset, code: string, reason: string): void {
    this.summary.filesFailed++;
    this.summary.failures.push({ assetId: asset.assetId, name: asset.name, path: '', code, reason });
  }

  gone(file: FileJob): void {
    // One entry per asset (its main file's path when that is the one that found it gone); every file gets its event.
    if (!this.summary.gone.some((g) => g.assetId === file.assetId)) {
      this.summary.gone.push({ assetId: file.assetId, name: file.name, path: file.path });
    }
    this.#emit({ type: 'file-gone', file });
  }

  retry(file: FileJob | undefined, info: RetryInfo): void {
    this.#emit({ type: 'retry', file, ...info });
  }

  lanes(lanes: number): void {
    const l = this.summary.lanes;
    l.final = lanes;
    l.peak = Math.max(l.peak, lanes);
    this.#emit({ type: 'lanes', lanes });
  }

  accountFailed(account: string | undefined, code: string, reason: string): void {
    this.summary.failedAccounts.push({ account, code, reason });
    this.#emit({ type: 'account-failed', account, code, reason });
  }
}
