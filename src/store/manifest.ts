// src/store/: the backup folder on disk: the manifest (this file; its data and changes in manifest-data.ts, its
// journal in journal.ts), the layout of paths, the lock, atomic writes, sidecars and the names of our own files.
// Never imports HTTP (the client, the engine) or a run.
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import type { AssetFate, GenerationRecord } from './generation.js';
import { Journal, type Replay, readIfExists, replayJournals } from './journal.js';
import {
  apply,
  emptyData,
  type FileRole,
  type ForgottenAsset,
  type JournalOp,
  type ManifestAsset,
  type ManifestData,
  type ManifestFile,
  type PartialState,
  parseManifest,
  snapshotOf,
} from './manifest-data.js';
import { JOURNAL_NAME, MANIFEST_NAME } from './own-files.js';
import type { AssetFilter } from './wanted.js';

export type {
  FileRole,
  ForgottenAsset,
  ManifestAsset,
  ManifestData,
  ManifestFile,
  PartialState,
} from './manifest-data.js';
export { MANIFEST_VERSION, snapshotOf } from './manifest-data.js';
export { JOURNAL_NAME, MANIFEST_NAME };

export interface ManifestOptions {
  /**
   * Rewrite manifest.json once the journal holds this many bytes more than manifest.json itself, so a rewrite
   * costs O(1) per change however large the manifest grows. @default 1 MiB
   */
  compactAfterBytes?: number;
}

/**
 * The record of what is done, keyed by assetId. Holds no URLs and no token: only ids, names, paths, sizes and
 * hashes.
 *
 * Two files: `manifest.json`, rewritten atomically (temp + fsync + rename), and `manifest.journal`, to which every
 * change is appended as one JSON line. Changes are group-committed: each mutator applies the change at once and
 * returns a promise that settles when its line is in the kernel; lines that arrive while a write is under way go
 * out together in the next one. A `kill -9` at any instant leaves a whole manifest.json plus a journal whose last
 * line may be torn; loading replays the journal (ignoring a torn line), so a file reported done is not downloaded
 * again.
 *
 * manifest.json is rewritten when the journal has grown past its size (and at the end of a run), so the cost of
 * rewrites stays proportional to the changes, not to the number of assets times the changes. Each rewrite first
 * rotates the journal to `manifest.journal.<n>`; the rotated journals are removed only after a rewrite succeeded,
 * so a rewrite that fails (a full disk) loses no line: the next load replays them all, in order.
 */
export class Manifest {
  readonly file: string;
  readonly journal: string;
  readonly data: ManifestData;
  /** Journal lines that could not be read when loading (a torn last line after a crash). */
  readonly tornLines: number;
  #dirty: number;
  readonly #journal: Journal;
  #manifestBytes: number;
  #flushing: Promise<void> = Promise.resolve();
  readonly #compactAfter: number;

  private constructor(
    file: string,
    data: ManifestData,
    options: ManifestOptions,
    replay: Replay,
    manifestBytes: number,
  ) {
    this.file = file;
    this.#journal = new Journal(path.dirname(file), {
      tornTail: replay.tornTail,
      rotations: replay.rotations,
      onDrained: () => {
        if (this.#journal.bytes > this.#manifestBytes + this.#compactAfter) void this.flush().catch(() => {});
      },
    });
    this.journal = this.#journal.file;
    this.data = data;
    this.tornLines = replay.torn;
    // Replayed changes are not in manifest.json yet: the next flush writes them there.
    this.#dirty = replay.replayed;
    this.#compactAfter = options.compactAfterBytes ?? 1024 * 1024;
    this.#manifestBytes = manifestBytes;
  }

  /**
   * Loads `<out>/manifest.json` and replays the journals, or starts an empty manifest. A manifest.json that exists
   * but cannot be read is an error, and it is left as it is.
   */
  static async load(out: string, options: ManifestOptions = {}): Promise<Manifest> {
    const file = path.join(out, MANIFEST_NAME);
    const text = await readIfExists(file);
    const data = text === undefined ? emptyData() : parseManifest(text, file);
    const replay = await replayJournals(out, (op) => apply(data, op as JournalOp));
    return new Manifest(file, data, options, replay, text?.length ?? 0);
  }

  get(assetId: string): ManifestAsset | undefined {
    return Object.hasOwn(this.data.assets, assetId) ? this.data.assets[assetId] : undefined;
  }

  get size(): number {
    return Object.keys(this.data.assets).length;
  }

  /** The done file of `assetId` with this role and index, if recorded. */
  doneFile(assetId: string, role: FileRole, index: number): ManifestFile | undefined {
    return this.get(assetId)?.files.find((f) => f.role === role && f.index === index);
  }

  /** Creates or updates the asset's descriptive fields. */
  upsertAsset(
    entry: Omit<ManifestAsset, 'files' | 'updatedAt' | 'status'> & { status?: ManifestAsset['status'] },
  ): Promise<void> {
    const existing = this.get(entry.assetId);
    // A nightly re-run sees every asset again; only what changed is worth a journal line and a rewrite.
    const unchanged =
      existing !== undefined &&
      (entry.status === undefined || entry.status === existing.status) &&
      (Object.keys(entry) as (keyof typeof entry)[]).every(
        (key) => key === 'status' || existing[key] === entry[key],
      );
    if (unchanged) return Promise.resolve();
    return this.#record({
      op: 'asset',
      entry: {
        ...entry,
        status: entry.status ?? existing?.status ?? 'partial',
        updatedAt: new Date().toISOString(),
      },
    });
  }

  /** Records one file as done. Call only after the file was verified, fsynced and renamed; await it before
   * reporting the file done. */
  recordFile(assetId: string, file: ManifestFile): Promise<void> {
    if (!this.get(assetId)) return Promise.reject(new Error(`recordFile before upsertAsset for ${assetId}`));
    return this.#record({ op: 'file', assetId, file });
  }

  setStatus(assetId: string, status: ManifestAsset['status'], sidecar?: string): Promise<void> {
    const entry = this.get(assetId);
    if (!entry) return Promise.resolve();
    if (entry.status === status && (sidecar === undefined || entry.sidecar === sidecar))
      return Promise.resolve();
    return this.#record({ op: 'status', assetId, status, sidecar });
  }

  /** The resume state of an interrupted download of this asset's file `key`. */
  partial(assetId: string, key: string): PartialState | undefined {
    const partials = this.get(assetId)?.partials;
    return partials && Object.hasOwn(partials, key) ? partials[key] : undefined;
  }

  /** Records (or, with undefined, forgets) the resume state of one download. */
  setPartial(assetId: string, key: string, state: PartialState | undefined): Promise<void> {
    if (!this.get(assetId)) return Promise.resolve();
    if (state === undefined && this.partial(assetId, key) === undefined) return Promise.resolve();
    return this.#record({ op: 'partial', assetId, key, ...(state ? { state } : {}) });
  }

  /** Keeps the generation record of an asset (replacing a `missing` one). */
  setGeneration(assetId: string, record: GenerationRecord): Promise<void> {
    if (!this.get(assetId)) return Promise.resolve();
    return this.#record({ op: 'generation', assetId, record });
  }

  /** Records where the asset stands on Runway; undefined: present (listed). Unchanged states write nothing. */
  setFate(assetId: string, fate: AssetFate | undefined): Promise<void> {
    const entry = this.get(assetId);
    if (!entry || (entry.fate === undefined && fate === undefined) || entry.fate?.state === fate?.state)
      return Promise.resolve();
    return this.#record({ op: 'fate', assetId, ...(fate ? { fate } : {}) });
  }

  /** Marks one file as found missing or corrupt: it stays recorded as wanted until a backup fetches it again. */
  demoteFile(assetId: string, role: FileRole, index: number): Promise<void> {
    if (!this.get(assetId)) return Promise.resolve();
    return this.#record({ op: 'demote', assetId, role, index, at: new Date().toISOString() });
  }

  /**
   * Records why no backup will fetch this missing file again (`reason`), or, with undefined, that a run wants it
   * again. Only a `missing` file carries it; nothing is written when nothing changes.
   */
  markUnfetchable(assetId: string, role: FileRole, index: number, reason: string | undefined): Promise<void> {
    const file = this.doneFile(assetId, role, index);
    if (file?.status !== 'missing' || file.unfetchable?.reason === reason) return Promise.resolve();
    const unfetchable = reason === undefined ? undefined : { reason, since: new Date().toISOString() };
    return this.#record({ op: 'unfetchable', assetId, role, index, unfetchable });
  }

  /** When `forget` made this asset unwanted; undefined when it is wanted. */
  forgotten(assetId: string): ForgottenAsset | undefined {
    const map = this.data.forgotten;
    return map && Object.hasOwn(map, assetId) ? map[assetId] : undefined;
  }

  /** Makes an asset unwanted (`forget`), or wanted again (`forget --undo`, with undefined). */
  setForgotten(assetId: string, asset: ForgottenAsset | undefined): Promise<void> {
    if (asset === undefined && this.forgotten(assetId) === undefined) return Promise.resolve();
    return this.#record(asset ? { op: 'forget', assetId, asset } : { op: 'unforget', assetId });
  }

  /** A move to a new layout begins (`done` false, before the rename) or is over (`done` true, after it). */
  recordMove(assetId: string, key: string, from: string, to: string, done: boolean): Promise<void> {
    if (!this.get(assetId)) return Promise.resolve();
    return this.#record({ op: 'move', assetId, key, from, to, done });
  }

  /** Records the layout the recorded paths now follow (a line only when it changed). */
  setLayout(layout: { template: string; timeZone: string }): Promise<void> {
    const now = this.data.layout;
    if (now?.template === layout.template && now.timeZone === layout.timeZone) return Promise.resolve();
    return this.#record({ op: 'layout', layout });
  }

  /** Records the filter of this run (a journal line only when it differs from the last run's). */
  setFilter(filter: AssetFilter): Promise<void> {
    if (JSON.stringify(this.data.filter ?? {}) === JSON.stringify(filter)) return Promise.resolve();
    return this.#record({ op: 'filter', filter });
  }

  #record(op: JournalOp): Promise<void> {
    if (this.#journal.broken !== undefined) return Promise.reject(this.#journal.broken);
    apply(this.data, op);
    this.#dirty++;
    return this.#journal.append(op);
  }

  /** Rewrites manifest.json with every change so far and folds in the journals. Rejects if the write failed. */
  async flush(): Promise<void> {
    // Rewrites are chained so that two never race to rename older content over newer; a failed one leaves the
    // changes dirty and does not block the next attempt.
    const run = this.#flushing
      .catch(() => {})
      .then(async () => {
        // The journal's file handle is closed for the rotation: no write may be under way on it.
        while (this.#journal.writing) await this.#journal.writing;
        if (this.#dirty === 0) return;
        const pending = this.#dirty;
        this.#dirty = 0;
        this.data.updatedAt = new Date().toISOString();
        // Snapshot and rotate together, with nothing in between: every line of the rotated journals is in the
        // snapshot, and every later change goes to a fresh journal. (rotate() renames at the call, before its
        // first await.)
        const snapshot = snapshotOf(this.data);
        try {
          await this.#journal.rotate();
          await writeFileAtomic(this.file, snapshot.pieces);
        } catch (error) {
          this.#dirty += pending;
          throw error;
        }
        this.#manifestBytes = snapshot.length();
        // Only now are the rotated journals in manifest.json; older failed rewrites' journals go too.
        await this.#journal.removeRotated();
      });
    this.#flushing = run;
    await run;
  }

  /** Closes the journal once its pending lines are written; call flush() first to fold it into manifest.json. */
  async close(): Promise<void> {
    await this.#journal.close();
  }
}
