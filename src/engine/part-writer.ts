/**
 * The `.part` of one transfer, as its lanes write it: one handle shared by all of them, opened only when the first
 * byte is due (an error answer leaves no file behind); the running sha256 of its contiguous prefix; the writes in
 * flight, which a restart waits for; one background flush at a time; and the final hash, fsync and close. Knows
 * positions, not segments. @internal
 */
import { createHash, type Hash } from 'node:crypto';
import { hashRange } from '../fsutil.js';
import type { PartHandle, PartIO } from './part-file.js';
import { Superseded } from './transfer-errors.js';

/** @internal */
export class PartWriter {
  readonly path: string;
  #io: PartIO;
  #handle: PartHandle | undefined;
  #opening: Promise<PartHandle> | undefined;
  /** How the `.part` is opened when the first byte is due: created empty, or kept to be continued. */
  #fresh = true;
  #hash: Hash = createHash('sha256');
  #hashedUpTo = 0;
  #inflight = new Set<Promise<void>>();
  #unsynced = 0;
  #syncing: Promise<void> | undefined;

  constructor(io: PartIO, path: string) {
    this.#io = io;
    this.path = path;
  }

  /** The `.part` there is is continued (a resume) instead of created empty. */
  keep(): void {
    this.#fresh = false;
  }

  /** Hashes the first `bytes` of a kept `.part`: the prefix a resume continues. */
  async hashPrefix(bytes: number): Promise<void> {
    await hashRange(this.path, this.#hash, 0, bytes);
    this.#hashedUpTo = bytes;
  }

  /** The `.part`, opened when the first byte is due: an error answer leaves no file behind. */
  async open(): Promise<PartHandle> {
    if (this.#handle) return this.#handle;
    // The segments of a resumed split file all want the .part at once: one open serves them. (A handle per lane
    // left all but the last one unclosed, for the garbage collector to close with a warning on stderr.)
    this.#opening ??= this.#io
      .open(this.path, this.#fresh)
      .then((handle) => {
        this.#handle = handle;
        this.#fresh = false;
        return handle;
      })
      .finally(() => {
        this.#opening = undefined;
      });
    return this.#opening;
  }

  /**
   * Writes all of `data` at `position`, and hashes it when it continues the hashed prefix. Superseded when the
   * `.part` is closed, or `voided` aborted meanwhile (a restart: the bytes no longer count).
   */
  async write(data: Buffer, position: number, voided: AbortSignal): Promise<void> {
    const handle = this.#handle;
    if (!handle) throw new Superseded();
    const write = handle.write(data, position);
    this.#inflight.add(write);
    try {
      await write;
    } finally {
      this.#inflight.delete(write);
    }
    if (voided.aborted) throw new Superseded();
    if (position === this.#hashedUpTo) {
      this.#hash.update(data);
      this.#hashedUpTo += data.length;
    }
  }

  /** Counts `bytes` written; once `every` are unflushed, runs `flush` in the background (one at a time). */
  written(bytes: number, every: number, flush: () => Promise<void>): void {
    this.#unsynced += bytes;
    if (this.#unsynced >= every && this.#syncing === undefined) {
      this.#unsynced = 0;
      this.#syncing = flush().finally(() => {
        this.#syncing = undefined;
      });
    }
  }

  /** Flushes what is written so far (fdatasync); false when that failed. */
  async datasync(): Promise<boolean> {
    try {
      await this.#handle?.datasync();
      return true;
    } catch {
      return false;
    }
  }

  /** Waits for the writes in flight to land or fail. */
  async quiesce(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  /** Forgets what was hashed: the file starts over from byte 0. */
  rehash(): void {
    this.#hash = createHash('sha256');
    this.#hashedUpTo = 0;
  }

  /** Empties the `.part` (or, not open yet, has it created empty when it is). */
  async empty(): Promise<void> {
    if (this.#handle) await this.#handle.truncate(0);
    else this.#fresh = true;
  }

  /**
   * Hashes the bytes not hashed yet, up to `total`, once the background flush is done; `truncate` first cuts off
   * whatever lies past `total`.
   */
  async hashTo(total: number, truncate: boolean): Promise<void> {
    const handle = await this.open();
    await this.#syncing?.catch(() => {});
    if (truncate) await handle.truncate(total);
    await hashRange(this.path, this.#hash, this.#hashedUpTo, total);
  }

  /** fsync and close (after hashTo); returns the sha256 of the whole file. */
  async seal(): Promise<string> {
    const handle = await this.open();
    await handle.sync();
    this.#handle = undefined;
    await handle.close();
    return this.#hash.digest('hex');
  }

  /** Closes the `.part` without sealing it (a failed file), after the background flush. */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await this.#syncing?.catch(() => {});
    await handle?.close().catch(() => {});
  }
}
