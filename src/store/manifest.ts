// src/store/: the backup folder on disk: the manifest (this file, its journal in journal.ts), the layout of paths,
// the lock, atomic writes, sidecars and the names of our own files. Never imports HTTP (the client, the engine)
// or a run.
import { promises as fs, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { ManifestCorruptError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';

import { JOURNAL_NAME, MANIFEST_NAME } from './own-files.js';

export { JOURNAL_NAME, MANIFEST_NAME };
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
  /** Resume state of interrupted downloads, by file key (`main-0`, `preview-1`): validator, size, segments. */
  partials?: Record<string, PartialState> | undefined;
  updatedAt: string;
}

/** What a `.part` needs to be continued (see ResumeState in src/engine/transfer.ts). */
export interface PartialState {
  validator?: string | undefined;
  total: number | undefined;
  segments?: [number, number, number][] | undefined;
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
  /**
   * Rewrite manifest.json once the journal holds this many bytes more than manifest.json itself, so a rewrite
   * costs O(1) per change however large the manifest grows. @default 1 MiB
   */
  compactAfterBytes?: number;
}

/** One change, as appended to the journal. Every op is idempotent, so replaying a journal twice is harmless. */
type JournalOp =
  | { op: 'asset'; entry: Omit<ManifestAsset, 'files'> }
  | { op: 'file'; assetId: string; file: ManifestFile }
  | { op: 'status'; assetId: string; status: ManifestAsset['status']; sidecar?: string | undefined }
  | { op: 'demote'; assetId: string; role: FileRole; index: number; at?: string | undefined }
  | { op: 'partial'; assetId: string; key: string; state?: PartialState };

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
  #dirty = 0;
  #handle: fs.FileHandle | undefined;
  #opening: Promise<fs.FileHandle> | undefined;
  #pending: string[] = [];
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #pumping: Promise<void> | undefined;
  #looping = false;
  #broken: unknown;
  #journalBytes = 0;
  /**
   * The journal on disk ends in a torn line (a crash mid-write): the next write starts on a line of its own, or its
   * first line would be glued to the fragment and lost with it at the next load.
   */
  #tornTail = false;
  #manifestBytes: number;
  #rotations: number;
  #flushing: Promise<void> = Promise.resolve();
  readonly #compactAfter: number;

  private constructor(
    file: string,
    data: ManifestData,
    options: ManifestOptions,
    tornLines: number,
    manifestBytes: number,
    rotations: number,
  ) {
    this.file = file;
    this.journal = path.join(path.dirname(file), JOURNAL_NAME);
    this.data = data;
    this.tornLines = tornLines;
    this.#compactAfter = options.compactAfterBytes ?? 1024 * 1024;
    this.#manifestBytes = manifestBytes;
    this.#rotations = rotations;
  }

  /**
   * Loads `<out>/manifest.json` and replays the journals, or starts an empty manifest. A manifest.json that exists
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
          { cause: error },
        );
      }
      data = checkShape(parsed, file);
    }
    let torn = 0;
    let replayed = 0;
    const rotated = rotatedJournals(out);
    // Rotated journals (left by a crash or a failed rewrite) first, oldest first, then the current one.
    let tornTail = false;
    for (const name of [...rotated.map((r) => r.name), JOURNAL_NAME]) {
      const journal = await readIfExists(path.join(out, name));
      if (journal === undefined) continue;
      if (name === JOURNAL_NAME) tornTail = journal.length > 0 && !journal.endsWith('\n');
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
    const last = rotated.at(-1)?.n ?? 0;
    const manifest = new Manifest(file, data, options, torn, text?.length ?? 0, last);
    // Replayed changes are not in manifest.json yet: the next flush writes them there.
    manifest.#dirty = replayed;
    manifest.#tornTail = tornTail;
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

  /** Marks one file as found missing or corrupt: it stays recorded as wanted until a backup fetches it again. */
  demoteFile(assetId: string, role: FileRole, index: number): Promise<void> {
    if (!this.get(assetId)) return Promise.resolve();
    return this.#record({ op: 'demote', assetId, role, index, at: new Date().toISOString() });
  }

  #record(op: JournalOp): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    apply(this.data, op);
    this.#dirty++;
    this.#pending.push(`${JSON.stringify(op)}\n`);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#looping) {
      this.#looping = true;
      const pumping: Promise<void> = this.#pump().finally(() => {
        if (this.#pumping === pumping) this.#pumping = undefined;
      });
      this.#pumping = pumping;
    }
    return done;
  }

  /** Writes pending lines, many per write, until none are left. */
  async #pump(): Promise<void> {
    // #looping is cleared in the same tick as the last emptiness check: a line added after it starts a new pump.
    for (;;) {
      if (this.#pending.length === 0) {
        this.#looping = false;
        break;
      }
      const lines = (this.#tornTail ? '\n' : '') + this.#pending.join('');
      const waiters = this.#waiters;
      this.#pending = [];
      this.#waiters = [];
      try {
        this.#opening ??= fs.open(this.journal, 'a');
        this.#handle = await this.#opening;
        // appendFile, not write: one write() may take only part of a large batch (a nearly full disk) without
        // an error, and the lines it left out would be reported done.
        await this.#handle.appendFile(lines);
        this.#journalBytes += Buffer.byteLength(lines);
        this.#tornTail = false;
      } catch (error) {
        // The change is applied in memory but not on disk: nothing more may be reported done in this run.
        this.#broken = error;
        for (const w of [...waiters, ...this.#waiters]) w.reject(error);
        this.#pending = [];
        this.#waiters = [];
        this.#looping = false;
        return;
      }
      for (const w of waiters) w.resolve();
    }
    if (this.#journalBytes > this.#manifestBytes + this.#compactAfter) {
      void this.flush().catch(() => {});
    }
  }

  /** Rewrites manifest.json with every change so far and folds in the journals. Rejects if the write failed. */
  async flush(): Promise<void> {
    // Rewrites are chained so that two never race to rename older content over newer; a failed one leaves the
    // changes dirty and does not block the next attempt.
    const run = this.#flushing
      .catch(() => {})
      .then(async () => {
        // The journal's file handle is closed for the rotation: no write may be under way on it.
        while (this.#pumping) await this.#pumping;
        if (this.#dirty === 0) return;
        const pending = this.#dirty;
        this.#dirty = 0;
        this.data.updatedAt = new Date().toISOString();
        // Snapshot and rotate together, with nothing in between: every line of the rotated journals is in the
        // snapshot, and every later change goes to a fresh journal.
        const snapshot = snapshotOf(this.data);
        // Renamed before its handle is closed, in the same tick as the snapshot: a change recorded while the close
        // is under way opens a fresh journal. Closed first, that change would reopen and append to the file about
        // to be rotated (and deleted below) although the snapshot lacks it, and later lines would follow it there.
        const old = this.#opening;
        this.#opening = undefined;
        this.#handle = undefined;
        const rotated = path.join(path.dirname(this.file), `${JOURNAL_NAME}.${this.#rotations + 1}`);
        let renameError: unknown;
        try {
          renameSync(this.journal, rotated);
          this.#tornTail = false;
          this.#rotations++;
          this.#journalBytes = 0;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') renameError = error;
          else this.#journalBytes = 0;
        }
        if (old) await (await old.catch(() => undefined))?.close();
        if (renameError !== undefined) {
          this.#dirty += pending;
          throw renameError;
        }
        try {
          await writeFileAtomic(this.file, snapshot.pieces);
        } catch (error) {
          this.#dirty += pending;
          throw error;
        }
        this.#manifestBytes = snapshot.length();
        // Only now are the rotated journals in manifest.json; older failed rewrites' journals go too.
        for (const { name } of rotatedJournals(path.dirname(this.file))) {
          await fs.rm(path.join(path.dirname(this.file), name), { force: true });
        }
        this.#rotations = 0;
      });
    this.#flushing = run;
    await run;
  }

  async #closeJournal(): Promise<void> {
    const opening = this.#opening;
    this.#opening = undefined;
    this.#handle = undefined;
    if (opening) await (await opening.catch(() => undefined))?.close();
  }

  /** Closes the journal once its pending lines are written; call flush() first to fold it into manifest.json. */
  async close(): Promise<void> {
    while (this.#pumping) await this.#pumping;
    await this.#closeJournal();
  }
}

/** `manifest.journal.old` (older versions) and `manifest.journal.<n>`, in the order they must be replayed. */
function rotatedJournals(out: string): { name: string; n: number }[] {
  let names: string[];
  try {
    names = readdirSync(out);
  } catch {
    return [];
  }
  const found: { name: string; n: number }[] = [];
  for (const name of names) {
    if (name === `${JOURNAL_NAME}.old`) found.push({ name, n: 0 });
    const m = /^manifest\.journal\.(\d{1,9})$/.exec(name);
    if (m) found.push({ name, n: Number(m[1]) });
  }
  return found.sort((a, b) => a.n - b.n);
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
      if (op.state && typeof op.state === 'object') partials[op.key] = op.state;
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

/**
 * `JSON.stringify(data, null, 2)` and a newline, character for character, as pieces of one asset each. Written one
 * piece at a time, the manifest of thousands of assets never stands in memory whole (as one string, its copies and
 * its UTF-8 bytes): that was the peak of a small-file backup's memory, at its end. `length()` is the text's length
 * once the pieces have been read.
 */
export function snapshotOf(data: ManifestData): { pieces: Iterable<string>; length: () => number } {
  let length = 0;
  function* pieces(): Generator<string> {
    const fields = Object.entries(data).filter(([, value]) => value !== undefined);
    let text = '{\n';
    for (const [i, [key, value]] of fields.entries()) {
      text += `  ${JSON.stringify(key)}: `;
      const entries =
        key === 'assets'
          ? Object.entries(value as ManifestData['assets']).filter(([, entry]) => entry !== undefined)
          : undefined;
      if (entries === undefined) text += JSON.stringify(value, null, 2).replaceAll('\n', '\n  ');
      else if (entries.length === 0) text += '{}';
      else {
        text += '{\n';
        for (const [j, [id, entry]] of entries.entries()) {
          text += `    ${JSON.stringify(id)}: ${JSON.stringify(entry, null, 2).replaceAll('\n', '\n    ')}`;
          text += j < entries.length - 1 ? ',\n' : '\n  }';
          length += text.length;
          yield text;
          text = '';
        }
      }
      text += i < fields.length - 1 ? ',\n' : '\n}\n';
    }
    length += text.length;
    yield text;
  }
  return { pieces: { [Symbol.iterator]: pieces }, length: () => length };
}
