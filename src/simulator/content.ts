/**
 * Deterministic bytes for the simulator's virtual files. A file is never held in memory: every 64 KiB chunk is a
 * rotation of one 64 KiB block derived from the seed, so any byte range can be produced on demand, at memory
 * speed, and a chunk written at the wrong offset (a resume bug) does not match the expected bytes.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** The size of the seed block and of the chunks the content stream emits. */
export const CHUNK_SIZE = 65_536;
/** Prime, so that consecutive chunks are rotated by different, non-aligned amounts. */
const ROTATION_STEP = 4099;
const MAX_CACHED_BLOCKS = 64;
const MAX_CACHED_DIGESTS = 4096;
/** How much hashing runs before `fileSha256` lets the event loop breathe (the server may share the thread). */
const HASH_SLICE_BYTES = 16 * 1024 * 1024;

const blocks = new Map<string, Buffer>();
const digests = new Map<string, string>();

/**
 * The seed block written twice in a row, so that "block rotated by r" is the zero-copy view [r, r + 64 KiB).
 * Cached because a download touches the same file in many requests.
 */
function doubledBlock(seed: string): Buffer {
  const cached = blocks.get(seed);
  if (cached) {
    // Re-insert to keep the Map in least-recently-used order.
    blocks.delete(seed);
    blocks.set(seed, cached);
    return cached;
  }
  // AES-CTR keyed by the seed's hash: one call makes the whole block (a sha256 chain took ~20 ms a file).
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const block = cipher.update(Buffer.alloc(CHUNK_SIZE));
  const out = Buffer.allocUnsafe(CHUNK_SIZE * 2);
  block.copy(out, 0);
  block.copy(out, CHUNK_SIZE);
  blocks.set(seed, out);
  if (blocks.size > MAX_CACHED_BLOCKS) {
    const oldest = blocks.keys().next().value;
    if (oldest !== undefined) blocks.delete(oldest);
  }
  return out;
}

function checkRange(size: number, start: number, end: number): void {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new RangeError(`Expected \`size\` to be a non-negative integer, got ${size}`);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > size || start > end) {
    throw new RangeError(`Expected 0 <= start <= end <= ${size}, got start=${start} end=${end}`);
  }
}

/** Calls `visit` with read-only views that together make bytes [start, end) of the file, in order. */
function forEachSlice(seed: string, start: number, end: number, visit: (slice: Buffer) => void): void {
  const block = doubledBlock(seed);
  let position = start;
  while (position < end) {
    const slice = sliceAt(block, position, end);
    position += slice.length;
    visit(slice);
  }
}

/** The longest view starting at `position` that stays inside one chunk and before `end`. */
function sliceAt(block: Buffer, position: number, end: number): Buffer {
  const chunk = Math.floor(position / CHUNK_SIZE);
  const within = position - chunk * CHUNK_SIZE;
  const rotation = (chunk * ROTATION_STEP) % CHUNK_SIZE;
  const length = Math.min(CHUNK_SIZE - within, end - position);
  return block.subarray(rotation + within, rotation + within + length);
}

/**
 * Streams bytes [start, end) of the virtual file. Chunks are views of a shared cached block: consumers must not
 * write into them (no Node stream consumer does).
 */
class ContentStream extends Readable {
  readonly #block: Buffer;
  #position: number;
  readonly #end: number;

  constructor(seed: string, start: number, end: number) {
    super({ highWaterMark: CHUNK_SIZE * 4 });
    this.#block = doubledBlock(seed);
    this.#position = start;
    this.#end = end;
  }

  override _read(): void {
    while (this.#position < this.#end) {
      const slice = sliceAt(this.#block, this.#position, this.#end);
      this.#position += slice.length;
      if (!this.push(slice)) return;
    }
    this.push(null);
  }
}

/** A stream of bytes [start, end) of the file named by `seed` and `size`. */
export function fileContent(seed: string, size: number, start = 0, end = size): Readable {
  checkRange(size, start, end);
  return new ContentStream(seed, start, end);
}

/** The whole file in memory; for small files in tests. */
export function fileBytes(seed: string, size: number): Buffer {
  return fileSlice(seed, size, 0, size);
}

/** Bytes [start, end) in memory; for small ranges in tests. */
export function fileSlice(seed: string, size: number, start: number, end: number): Buffer {
  checkRange(size, start, end);
  const out = Buffer.allocUnsafe(end - start);
  let offset = 0;
  forEachSlice(seed, start, end, (slice) => {
    slice.copy(out, offset);
    offset += slice.length;
  });
  return out;
}

/** The hex sha256 of the whole file, computed without holding it, and remembered for the next caller. */
export async function fileSha256(seed: string, size: number): Promise<string> {
  checkRange(size, 0, size);
  const key = `${size}:${seed}`;
  const known = digests.get(key);
  if (known) return known;
  const hash = createHash('sha256');
  for (let start = 0; start < size; start += HASH_SLICE_BYTES) {
    if (start > 0) await yieldToEventLoop();
    forEachSlice(seed, start, Math.min(size, start + HASH_SLICE_BYTES), (slice) => hash.update(slice));
  }
  const hex = hash.digest('hex');
  digests.set(key, hex);
  if (digests.size > MAX_CACHED_DIGESTS) {
    const oldest = digests.keys().next().value;
    if (oldest !== undefined) digests.delete(oldest);
  }
  return hex;
}
