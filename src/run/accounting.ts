/**
 * The run's accounting (rclone's `accounting` is the model): one object owns the summary and emits the events, so
 * every count and the event that reports it change together, in one place.
 */

import type { DownloadResult } from '../engine/transfer.js';
import type { RetryInfo } from '../retry.js';
import type { ListingEvent, WindowName } from '../source/paginate.js';
import type { SourceEvent } from '../source/sources.js';
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
  | { type: 'retry'; file: FileJob | undefined; attempt: number; delayMs: number; reason: string }
  /** The number of parallel transfers changed (`--concurrency auto`). */
  | { type: 'lanes'; lanes: number }
  /** One page of the task history was read (walked when an assets window is capped, or on request). */
  | { type: 'tasks-page'; account: string | undefined; offset: number; tasks: number; artifacts: number }
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
  /** Parallel transfers: `auto` or fixed, and the most that ran at once. */
  lanes: { mode: 'auto' | 'fixed'; final: number; peak: number };
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
      skippedItems: [],
      cappedWindows: [],
      artifactsSkipped: { deleted: 0, directory: 0 },
      incompleteWindows: [],
      failedAccounts: [],
      apiRequests: 0,
      restarts: 0,
      filesSplit: 0,
      lanes,
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
