/**
 * Gives the memory of a body chunk back once its bytes are written and hashed, instead of whenever the garbage
 * collector next runs. Node reads a socket into a fresh buffer of up to 64 KiB per read; at the speed of a near
 * server the written ones piled up to 10-25 MiB between two collections, most of the peak memory of a run of large
 * files (8 x 256 MiB on loopback: 96-100 MiB peak RSS before, 84-87 MiB with this).
 *
 * Only whole buffers are released (a view that starts at byte 0 and covers its ArrayBuffer), and only from a transport
 * that promises its chunks are fresh and held by nobody else (`TransportResponse.disposableChunks`): freeing a
 * buffer detaches it, and every other view of it then reads as empty.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { collectYoung } from '../gc.js';

type Detachable = ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer };

let sink: MessagePort | undefined;

/** Detaches `buffer`, which frees its memory now; false if this buffer cannot be detached. */
function detach(buffer: ArrayBuffer): boolean {
  // Already detached (the same buffer released twice): nothing left to free.
  if (buffer.byteLength === 0) return false;
  try {
    const transfer = (buffer as Detachable).transfer;
    if (typeof transfer === 'function') {
      // ES2024 (Node 21 and later): the memory moves to an empty buffer, which frees it.
      transfer.call(buffer, 0);
    } else {
      // Node 20: transferring to a closed port detaches the buffer, and the dropped message frees the memory.
      if (!sink) {
        const channel = new MessageChannel();
        channel.port2.close();
        sink = channel.port1;
      }
      sink.postMessage(null, [buffer]);
    }
    return true;
  } catch {
    // Not detachable (a buffer Node or an add-on pinned): the collector frees it as before.
    return false;
  }
}

/**
 * Bytes received between two young-generation collections. Node reads a socket into a fresh buffer and the HTTP
 * parser copies each body chunk out of it (the chunk `release` frees); the read buffer itself dies at once, but its
 * memory comes back only when the collector next runs, and V8 counts it against the old generation's limit, which
 * for a small heap lies 8 MiB above its size. A byte stream allocates little on the heap, so scavenges came only
 * every ~9 MiB received: once a backup's heap passed V8's 8 MiB threshold for incremental marking (more code loaded,
 * or a larger manifest), each 9 MiB of read buffers started a full mark-compact instead, every 30 ms on loopback.
 * 8 x 80 MB: 36-48 mark-compacts and 2.2-2.3 s of CPU; with a scavenge every 4 MiB, 1-2 and 1.45 s, and a peak
 * 5 MiB lower. 8 MiB was too far apart (32 mark-compacts).
 */
export const YOUNG_GC_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * Holds the last `delay` released buffers and frees the oldest as each new one comes. Freeing each one at once made
 * the large-file run 1.13-1.23x slower in paired runs (`farm-bench`, 5-7 pairs: the main thread waited more while
 * using less CPU; not pinned down, perhaps the allocator handing the block just freed straight to the next socket
 * read); 32 behind (2 MiB) measured the same time as not freeing at all (0.99x, 7 pairs).
 */
export class ChunkReleaser {
  readonly #held: (ArrayBuffer | undefined)[];
  #next = 0;
  #released = 0;
  readonly #collectYoung: () => void;
  readonly #everyBytes: number;
  #uncollected = 0;
  #collections = 0;

  /** `collectYoung` and `everyBytes` are for tests; the process's releaser uses src/gc.ts every 4 MiB. */
  constructor(delay = 32, { collectYoung: collect = collectYoung, everyBytes = YOUNG_GC_EVERY_BYTES } = {}) {
    this.#held = new Array<ArrayBuffer | undefined>(Math.max(1, Math.floor(delay)));
    this.#collectYoung = collect;
    this.#everyBytes = everyBytes;
  }

  /** How many young-generation collections `received` asked for. */
  get collections(): number {
    return this.#collections;
  }

  /** How many buffers this releaser has freed. */
  get released(): number {
    return this.#released;
  }

  /** How many buffers it holds, waiting to be freed. */
  get held(): number {
    return this.#held.reduce((n, buffer) => (buffer === undefined ? n : n + 1), 0);
  }

  /**
   * Frees every buffer it holds. Safe at any time (what it holds was written and hashed already); a run calls it
   * at its end, so a process that goes on after `backup()` keeps none of them.
   */
  drain(): void {
    for (let i = 0; i < this.#held.length; i++) {
      const buffer = this.#held[i];
      this.#held[i] = undefined;
      if (buffer !== undefined && detach(buffer)) this.#released++;
    }
  }

  /**
   * Counts `bytes` received from any transport (released or not: Node's read buffers are behind them all), and asks
   * for a young-generation collection each `everyBytes`.
   */
  received(bytes: number): void {
    this.#uncollected += bytes;
    if (this.#uncollected < this.#everyBytes) return;
    this.#uncollected = 0;
    this.#collections++;
    this.#collectYoung();
  }

  /**
   * Takes a chunk nothing will read again. A view of part of a buffer (a slice after headers, a cut at a segment's
   * end) is left to the collector: the rest of its buffer may still be in use.
   */
  release(chunk: Uint8Array): void {
    const buffer = chunk.buffer;
    if (!(buffer instanceof ArrayBuffer)) return;
    if (chunk.byteLength === 0 || chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength) return;
    const oldest = this.#held[this.#next];
    this.#held[this.#next] = buffer;
    this.#next = (this.#next + 1) % this.#held.length;
    if (oldest !== undefined && detach(oldest)) this.#released++;
  }
}

/** The one releaser of the process: the delay is about the allocator, shared by every transfer. */
export const chunkReleaser = new ChunkReleaser();
