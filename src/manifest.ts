import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ManifestCorruptError } from './errors.js';
import { writeFileAtomic } from './fsutil.js';

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_VERSION = 1;

export type FileRole = 'main' | 'preview';

/** One file of an asset that is on disk, verified and renamed to its final name. */
export interface ManifestFile {
  role: FileRole;
  /** 0 for the main file, 1.. for previews. */
  index: number;
  /** POSIX path relative to the output folder. */
  path: string;
  bytes: number;
  sha256: string;
  status: 'done';
  completedAt: string;
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
  /** Write at most this often while changes arrive, in ms. @default 1000 */
  flushIntervalMs?: number;
  /** Write sooner once this many changes are pending. @default 100 */
  flushEvery?: number;
}

/**
 * The record of what is done, keyed by assetId. Changes are batched and written atomically (temp + rename), so a
 * crash at any instant leaves the previous or the next complete manifest, never a torn one. Holds no URLs and no
 * token: only ids, names, paths, sizes and hashes.
 */
export class Manifest {
  readonly file: string;
  readonly data: ManifestData;
  #dirty = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  readonly #intervalMs: number;
  readonly #every: number;

  private constructor(file: string, data: ManifestData, options: ManifestOptions) {
    this.file = file;
    this.data = data;
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    this.#every = options.flushEvery ?? 100;
  }

  /** Loads `<out>/manifest.json`, or starts an empty one. A file that exists but cannot be read is an error. */
  static async load(out: string, options: ManifestOptions = {}): Promise<Manifest> {
    const file = path.join(out, MANIFEST_NAME);
    let text: string | undefined;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ManifestCorruptError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, {
          cause: error,
        });
      }
    }
    if (text === undefined) {
      const now = new Date().toISOString();
      return new Manifest(
        file,
        { version: MANIFEST_VERSION, tool: 'runway-backup', createdAt: now, updatedAt: now, assets: {} },
        options,
      );
    }
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
    return new Manifest(file, checkShape(parsed, file), options);
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
    const now = new Date().toISOString();
    this.data.assets[entry.assetId] = {
      ...existing,
      ...entry,
      status: entry.status ?? existing?.status ?? 'partial',
      files: existing?.files ?? [],
      updatedAt: now,
    };
    this.#changed();
  }

  /** Records one file as done. Call only after the file was verified, fsynced and renamed. */
  recordFile(assetId: string, file: ManifestFile): void {
    const entry = this.get(assetId);
    if (!entry) throw new Error(`recordFile before upsertAsset for ${assetId}`);
    entry.files = entry.files.filter((f) => !(f.role === file.role && f.index === file.index));
    entry.files.push(file);
    entry.files.sort((a, b) => (a.role === b.role ? a.index - b.index : a.role === 'main' ? -1 : 1));
    entry.updatedAt = file.completedAt;
    this.#changed();
  }

  setStatus(assetId: string, status: ManifestAsset['status'], sidecar?: string): void {
    const entry = this.get(assetId);
    if (!entry) return;
    entry.status = status;
    if (sidecar !== undefined) entry.sidecar = sidecar;
    entry.updatedAt = new Date().toISOString();
    this.#changed();
  }

  /** Forgets one file (found missing or corrupt) so that the next backup fetches it again. */
  demoteFile(assetId: string, role: FileRole, index: number): void {
    const entry = this.get(assetId);
    if (!entry) return;
    entry.files = entry.files.filter((f) => !(f.role === role && f.index === index));
    entry.status = 'partial';
    entry.updatedAt = new Date().toISOString();
    this.#changed();
  }

  #changed(): void {
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

  /** Writes pending changes now. Resolves when they are on disk; rejects if a write failed. */
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
        try {
          await writeFileAtomic(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
        } catch (error) {
          this.#dirty += pending;
          throw error;
        }
      });
    this.#writing = run;
    await run;
  }

  /** Stops the timer; call flush() first to keep pending changes. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
