import { closeSync, promises as fs, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ManifestCorruptError } from './errors.js';
import { writeFileAtomic } from './fsutil.js';

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_VERSION = 1;

export type FileRole = 'main' | 'preview';

/**
 * One file of an asset. `done`: on disk, verified and renamed to its final name. `missing`: it was done, then a
 * check (`verify`, or a backup finding the wrong size) found it missing or damaged; the record is kept so that the
 * file stays wanted, and is reported, until a backup fetches it again.
 */
export interface ManifestFile {
  role: FileRole;
  /** 0 for the main file, 1.. for previews. */
  index: number;
  /** POSIX path relative to the output folder. */
  path: string;
  bytes: number;
  sha256: string;
  status: 'done' | 'missing';
  completedAt: string;
  /** When a check found the file missing or damaged (status `missing`). */
  missingSince?: string | undefined;
}

export interface ManifestAsset {
  assetId: string;
  id?: string | undefined;
  name?: string | undefined;
  mediaType?: string | undefined;
  createdAt?: string | undefined;
  fileSize?: number | undefined;
  account?: string | undefined;
  /** `complete` once every planned file is done. */
  status: 'complete' | 'partial';
  files: ManifestFile[];
  /** Relative path of the `--metadata` sidecar, when written. */
  sidecar?: string | undefined;
  /** Resume state of interrupted downloads, by file key (`main-0`, `preview-1`): the If-Range validator. */
  partials?: Record<string, { validator: string; total: number | undefined }> | undefined;
  updatedAt: string;
}

export interface ManifestData {
  version: number;
  tool: 'runway-backup';
  createdAt: string;
  updatedAt: string;
  assets: Record<string, ManifestAsset>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkShape(data: unknown, file: string): ManifestData {
  const bad = (why: string): never => {
    throw new ManifestCorruptError(`${file} is not a valid manifest (${why}); it was left untouched`);
  };
  if (!isObject(data)) return bad('not an object');
  if (data.version !== MANIFEST_VERSION) return bad(`unsupported version ${JSON.stringify(data.version)}`);
  if (!isObject(data.assets)) return bad('no assets map');
  for (const [key, entry] of Object.entries(data.assets)) {
    if (!isObject(entry) || entry.assetId !== key || !Array.isArray(entry.files))
      return bad(`bad entry "${key}"`);
    for (const f of entry.files) {
      if (
        !isObject(f) ||
        typeof f.path !== 'string' ||
        typeof f.bytes !== 'number' ||
        typeof f.sha256 !== 'string' ||
        (f.role !== 'main' && f.role !== 'preview')
      ) {
        return bad(`bad file in "${key}"`);
      }
    }
  }
  return data as unknown as ManifestData;
}

export interface ManifestOptions {
  /** Rewrite manifest.json at most this often while changes arrive, in ms. @default 2000 */
  flushIntervalMs?: number;
  /** Rewrite sooner once this many changes are pending. @default 500 */
  flushEvery?: number;
}

/** One change, as appended to the journal. Every op is idempotent, so replaying a journal twice is harmless. */
type JournalOp =
  | { op: 'asset'; entry: Omit<ManifestAsset, 'files'> }
  | { op: 'file'; assetId: string; file: ManifestFile }
  | { op: 'status'; assetId: string; status: ManifestAsset['status']; sidecar?: string | undefined }
  | { op: 'demote'; assetId: string; role: FileRole; index: number; at?: string | undefined }
  | { op: 'partial'; assetId: string; key: string; state?: { validator: string; total: number | undefined } };

export const JOURNAL_NAME = 'manifest.journal';

/**
 * The record of what is done, keyed by assetId. Holds no URLs and no token: only ids, names, paths, sizes and
 * hashes.
 *
 * Two files: `manifest.json`, rewritten atomically (temp + fsync + rename) every few seconds, and
 * `manifest.journal`, to which each change is appended as one JSON line the moment it happens. A `kill -9` at any
 * instant leaves a whole manifest.json plus a journal whose last line may be torn; loading replays the journal
 * (ignoring a torn line), so a file finished a millisecond before the kill is not downloaded again. Rewriting the
 * whole manifest per file would cost O(assets) per file; the journal costs one small append.
 */
export class Manifest {
  readonly file: string;
  readonly journal: string;
  readonly data: ManifestData;
  #dirty = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #fd: number | undefined;
  readonly #intervalMs: number;
  readonly #every: number;
  /** Journal lines that could not be read when loading (a torn last line after a crash). */
  readonly tornLines: number;

  private constructor(file: string, data: ManifestData, options: ManifestOptions, tornLines: number) {
    this.file = file;
    this.journal = path.join(path.dirname(file), JOURNAL_NAME);
    this.data = data;
    this.tornLines = tornLines;
    this.#intervalMs = options.flushIntervalMs ?? 2000;
    this.#every = options.flushEvery ?? 500;
  }

  /**
   * Loads `<out>/manifest.json` and replays the journal, or starts an empty manifest. A manifest.json that exists
   * but cannot be read is an error, and it is left as it is.
   */
  static async load(out: string, options: ManifestOptions = {}): Promise<Manifest> {
    const file = path.join(out, MANIFEST_NAME);
    const text = await readIfExists(file);
    let data: ManifestData;
    if (text === undefined) {
      const now = new Date().toISOString();
      data = { version: MANIFEST_VERSION, tool: 'runway-backup', createdAt: now, updatedAt: now, assets: {} };
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new ManifestCorruptError(
          `${file} is not valid JSON; it was left untouched (move it away to start over)`,
          {
            cause: error,
          },
        );
      }
      data = checkShape(parsed, file);
    }
    let torn = 0;
    let replayed = 0;
    // The rotated journal (left by a crash during a rewrite) first, then the current one.
    for (const name of [`${JOURNAL_NAME}.old`, JOURNAL_NAME]) {
      const journal = await readIfExists(path.join(out, name));
      if (journal === undefined) continue;
      for (const line of journal.split('\n')) {
        if (line.trim() === '') continue;
        let op: JournalOp;
        try {
          op = JSON.parse(line) as JournalOp;
        } catch {
          torn++;
          continue;
        }
        if (apply(data, op)) replayed++;
        else torn++;
      }
    }
    const manifest = new Manifest(file, data, options, torn);
    // Replayed changes are not in manifest.json yet: the next flush writes them there.
    manifest.#dirty = replayed;
    return manifest;
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
  ): void {
    const existing = this.get(entry.assetId);
    // A nightly re-run sees every asset again; only what changed is worth a journal line and a rewrite.
    const unchanged =
      existing !== undefined &&
      (entry.status === undefined || entry.status === existing.status) &&
      (Object.keys(entry) as (keyof typeof entry)[]).every(
        (key) => key === 'status' || existing[key] === entry[key],
      );
    if (unchanged) return;
    this.#record({
      op: 'asset',
      entry: {
        ...entry,
        status: entry.status ?? existing?.status ?? 'partial',
        updatedAt: new Date().toISOString(),
      },
    });
  }

  /** Records one file as done. Call only after the file was verified, fsynced and renamed. */
  recordFile(assetId: string, file: ManifestFile): void {
    if (!this.get(assetId)) throw new Error(`recordFile before upsertAsset for ${assetId}`);
    this.#record({ op: 'file', assetId, file });
  }

  setStatus(assetId: string, status: ManifestAsset['status'], sidecar?: string): void {
    const entry = this.get(assetId);
    if (!entry) return;
    if (entry.status === status && (sidecar === undefined || entry.sidecar === sidecar)) return;
    this.#record({ op: 'status', assetId, status, sidecar });
  }

  /** The resume state of an interrupted download of this asset's file `key`. */
  partial(assetId: string, key: string): { validator: string; total: number | undefined } | undefined {
    const partials = this.get(assetId)?.partials;
    return partials && Object.hasOwn(partials, key) ? partials[key] : undefined;
  }

  /** Records (or, with undefined, forgets) the resume state of one download. */
  setPartial(
    assetId: string,
    key: string,
    state: { validator: string; total: number | undefined } | undefined,
  ): void {
    if (!this.get(assetId)) return;
    if (state === undefined && this.partial(assetId, key) === undefined) return;
    this.#record({ op: 'partial', assetId, key, ...(state ? { state } : {}) });
  }

  /** Marks one file as found missing or corrupt: it stays recorded as wanted until a backup fetches it again. */
  demoteFile(assetId: string, role: FileRole, index: number): void {
    if (!this.get(assetId)) return;
    this.#record({ op: 'demote', assetId, role, index, at: new Date().toISOString() });
  }

  #record(op: JournalOp): void {
    apply(this.data, op);
    // Synchronous on purpose: the line is in the kernel before the caller goes on, so a kill -9 right after
    // cannot lose it, and no rotation can run between the change and its line.
    this.#fd ??= openSync(this.journal, 'a');
    writeSync(this.#fd, `${JSON.stringify(op)}\n`);
    this.#dirty++;
    if (this.#dirty >= this.#every) {
      void this.flush().catch(() => {});
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush().catch(() => {});
      }, this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Rewrites manifest.json with every change so far and empties the journal. Rejects if the write failed. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // Writes are chained so that two flushes never race to rename older content over newer; a failed write
    // leaves the changes dirty and does not block the next attempt.
    const run = this.#writing
      .catch(() => {})
      .then(async () => {
        if (this.#dirty === 0) return;
        const pending = this.#dirty;
        this.#dirty = 0;
        this.data.updatedAt = new Date().toISOString();
        // Snapshot and rotate together, synchronously: every line in the rotated journal is in the snapshot,
        // and every later change goes to the fresh journal.
        const snapshot = `${JSON.stringify(this.data, null, 2)}\n`;
        const rotated = `${this.journal}.old`;
        this.#closeJournal();
        let hasRotated = false;
        try {
          renameSync(this.journal, rotated);
          hasRotated = true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        try {
          await writeFileAtomic(this.file, snapshot);
        } catch (error) {
          this.#dirty += pending;
          throw error;
        }
        if (hasRotated) await fs.rm(rotated, { force: true });
      });
    this.#writing = run;
    await run;
  }

  #closeJournal(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Stops the timer and closes the journal; call flush() first to fold the journal into manifest.json. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closeJournal();
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ManifestCorruptError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, {
      cause: error,
    });
  }
}

/** Applies one change to the data; false when the op is not one we understand (then it is ignored). */
function apply(data: ManifestData, op: JournalOp): boolean {
  if (!op || typeof op !== 'object') return false;
  const entry =
    'assetId' in op && typeof op.assetId === 'string' && Object.hasOwn(data.assets, op.assetId)
      ? data.assets[op.assetId]
      : undefined;
  switch (op.op) {
    case 'asset': {
      if (!op.entry || typeof op.entry.assetId !== 'string') return false;
      const existing = Object.hasOwn(data.assets, op.entry.assetId)
        ? data.assets[op.entry.assetId]
        : undefined;
      data.assets[op.entry.assetId] = { ...existing, ...op.entry, files: existing?.files ?? [] };
      return true;
    }
    case 'partial': {
      if (!entry || typeof op.key !== 'string') return false;
      const partials = { ...entry.partials };
      if (op.state && typeof op.state.validator === 'string') partials[op.key] = op.state;
      else delete partials[op.key];
      entry.partials = Object.keys(partials).length > 0 ? partials : undefined;
      return true;
    }
    case 'file': {
      if (!entry || !op.file || typeof op.file.path !== 'string') return false;
      if (entry.partials) {
        const { [`${op.file.role}-${op.file.index}`]: _done, ...rest } = entry.partials;
        entry.partials = Object.keys(rest).length > 0 ? rest : undefined;
      }
      entry.files = entry.files.filter((f) => !(f.role === op.file.role && f.index === op.file.index));
      entry.files.push(op.file);
      entry.files.sort((a, b) => (a.role === b.role ? a.index - b.index : a.role === 'main' ? -1 : 1));
      entry.updatedAt = op.file.completedAt;
      return true;
    }
    case 'status':
      if (!entry) return false;
      entry.status = op.status;
      if (op.sidecar !== undefined) entry.sidecar = op.sidecar;
      return true;
    case 'demote': {
      if (!entry) return false;
      // Kept, not dropped: a forgotten file would let the next `verify` call the backup healthy.
      const at = typeof op.at === 'string' ? op.at : undefined;
      entry.files = entry.files.map((f) =>
        f.role === op.role && f.index === op.index && f.status !== 'missing'
          ? { ...f, status: 'missing', missingSince: at ?? f.completedAt }
          : f,
      );
      entry.status = 'partial';
      return true;
    }
    default:
      return false;
  }
}
