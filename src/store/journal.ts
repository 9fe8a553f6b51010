// The manifest's journal: an append-only file of JSON lines, one per change, group-committed; rotated to
// `manifest.journal.<n>` when manifest.json is rewritten, and replayed (rotated ones first) on load. It knows lines,
// not what they mean: manifest-data.ts says how a change applies, manifest.ts when to rewrite.
import { promises as fs, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { ManifestCorruptError } from '../errors.js';
import { JOURNAL_NAME } from './own-files.js';

/** `manifest.journal.old` (older versions) and `manifest.journal.<n>`, in the order they must be replayed. */
export function rotatedJournals(out: string): { name: string; n: number }[] {
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

/** The file's text, or undefined when there is none; ManifestCorruptError when it cannot be read. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ManifestCorruptError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, {
      cause: error,
    });
  }
}

/** What replaying the journals of a folder found. */
export interface Replay {
  /** Lines applied. */
  replayed: number;
  /** Lines that could not be read or applied (a torn last line after a crash). */
  torn: number;
  /** The current journal ends without a newline: a crash tore its last line. */
  tornTail: boolean;
  /** The highest `<n>` of the rotated journals on disk; 0 when there are none. */
  rotations: number;
}

/**
 * Hands every line of the journals in `out` to `apply`, in order: the rotated journals (left by a crash or a failed
 * rewrite) first, oldest first, then the current one. A line that is not JSON, or that `apply` refuses (returns
 * false), counts as torn and is skipped.
 */
export async function replayJournals(out: string, apply: (op: unknown) => boolean): Promise<Replay> {
  let torn = 0;
  let replayed = 0;
  let tornTail = false;
  const rotated = rotatedJournals(out);
  for (const name of [...rotated.map((r) => r.name), JOURNAL_NAME]) {
    const journal = await readIfExists(path.join(out, name));
    if (journal === undefined) continue;
    if (name === JOURNAL_NAME) tornTail = journal.length > 0 && !journal.endsWith('\n');
    for (const line of journal.split('\n')) {
      if (line.trim() === '') continue;
      let op: unknown;
      try {
        op = JSON.parse(line);
      } catch {
        torn++;
        continue;
      }
      if (apply(op)) replayed++;
      else torn++;
    }
  }
  return { replayed, torn, tornTail, rotations: rotated.at(-1)?.n ?? 0 };
}

export interface JournalOptions {
  /** The journal on disk ends in a torn line (Replay.tornTail). */
  tornTail?: boolean;
  /** The highest `<n>` of the rotated journals on disk (Replay.rotations): the next rotation takes the one after. */
  rotations?: number;
  /** Called each time every pending line has been written (not after a failed write). */
  onDrained?: () => void;
}

/**
 * The writer of `<dir>/manifest.journal`. Lines are group-committed: `append` returns a promise that settles when
 * its line is in the kernel; lines that arrive while a write is under way go out together in the next one. After a
 * failed write the journal is broken: that append and every one after it reject with the same error.
 */
export class Journal {
  readonly file: string;
  readonly #dir: string;
  #opening: Promise<fs.FileHandle> | undefined;
  #pending: string[] = [];
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #pumping: Promise<void> | undefined;
  #looping = false;
  #broken: unknown;
  #bytes = 0;
  /**
   * The journal on disk ends in a torn line (a crash mid-write): the next write starts on a line of its own, or its
   * first line would be glued to the fragment and lost with it at the next load.
   */
  #tornTail: boolean;
  #rotations: number;
  readonly #onDrained: (() => void) | undefined;

  constructor(dir: string, options: JournalOptions = {}) {
    this.#dir = dir;
    this.file = path.join(dir, JOURNAL_NAME);
    this.#tornTail = options.tornTail ?? false;
    this.#rotations = options.rotations ?? 0;
    this.#onDrained = options.onDrained;
  }

  /** The error of the write that failed, once one did; undefined while the journal works. */
  get broken(): unknown {
    return this.#broken;
  }

  /** Bytes appended to the current journal file by this writer. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The writes under way, while there are any. Await it in a loop (`while (j.writing) await j.writing`): a line
   * appended meanwhile starts another, and the loop ends in the same tick as the last check found none.
   */
  get writing(): Promise<void> | undefined {
    return this.#pumping;
  }

  /** Appends `value` as one JSON line; settles once the line is in the kernel. */
  append(value: unknown): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    this.#pending.push(`${JSON.stringify(value)}\n`);
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
        this.#opening ??= fs.open(this.file, 'a');
        const handle = await this.#opening;
        // appendFile, not write: one write() may take only part of a large batch (a nearly full disk) without
        // an error, and the lines it left out would be reported done.
        await handle.appendFile(lines);
        this.#bytes += Buffer.byteLength(lines);
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
    this.#onDrained?.();
  }

  /**
   * Renames the journal to `manifest.journal.<n>` (the next n) and closes its handle; the next line opens a fresh
   * journal. No journal to rename is no error. Call it with no write under way (see `writing`).
   *
   * Everything up to the rename happens at the call, in the caller's tick (an async function runs synchronously up
   * to its first await): a caller that took a snapshot just before knows that every line of the rotated journal is
   * in it, and every later line goes to the fresh journal.
   */
  async rotate(): Promise<void> {
    // Renamed before its handle is closed, in the same tick as the caller's snapshot: a change recorded while the
    // close is under way opens a fresh journal. Closed first, that change would reopen and append to the file about
    // to be rotated (and deleted once the snapshot is written) although the snapshot lacks it, and later lines would
    // follow it there.
    const old = this.#opening;
    this.#opening = undefined;
    const rotated = path.join(this.#dir, `${JOURNAL_NAME}.${this.#rotations + 1}`);
    let renameError: unknown;
    try {
      renameSync(this.file, rotated);
      this.#tornTail = false;
      this.#rotations++;
      this.#bytes = 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') renameError = error;
      else this.#bytes = 0;
    }
    if (old) await (await old.catch(() => undefined))?.close();
    if (renameError !== undefined) throw renameError;
  }

  /**
   * Removes every rotated journal (this writer's and any older failed rewrite's): call it only once a snapshot that
   * holds all their lines is safely written. Numbering starts again at 1.
   */
  async removeRotated(): Promise<void> {
    for (const { name } of rotatedJournals(this.#dir)) {
      await fs.rm(path.join(this.#dir, name), { force: true });
    }
    this.#rotations = 0;
  }

  /** Closes the journal once its pending lines are written. */
  async close(): Promise<void> {
    while (this.#pumping) await this.#pumping;
    const opening = this.#opening;
    this.#opening = undefined;
    if (opening) await (await opening.catch(() => undefined))?.close();
  }
}
