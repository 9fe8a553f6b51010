/**
 * Deterministic bytes for the simulator's virtual files. A file is never held in memory: every 64 KiB chunk is a
 * rotation of one 64 KiB block derived from the seed, so any byte range can be produced on demand, at memory
 * speed, and a chunk written at the wrong offset (a resume bug) does not match the expected bytes.
 *
 * A file the running simulator knows (its seed resolves to an extension, see `registerMediaResolver`) is real
 * media of exactly its size: a small valid image, clip or tone, with those bytes as filler where its format lets
 * readers skip them (media/formats.ts). Other seeds, and sizes too small for the sample, are the bytes alone.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type MediaLayout, mediaLayout } from './media/formats.js';

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

/** Calls `visit` with read-only views that together make filler bytes [start, end), in order. */
function forEachFillerSlice(block: Buffer, start: number, end: number, visit: (slice: Buffer) => void): void {
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

/** What a seed stands for: the extension of the file and a key that gives an asset's files one look. */
export interface MediaKind {
  ext: string;
  look: string;
}

export type MediaResolver = (seed: string) => MediaKind | undefined;

const resolvers = new Set<MediaResolver>();
/** Seeds resolved so far, kept after their simulator closed so that a test can still rebuild the same bytes. */
const resolved = new Map<string, MediaKind | null>();
const MAX_RESOLVED = 200_000;
const layouts = new Map<string, MediaLayout | null>();
const MAX_LAYOUTS = 256;

/** Lets a running simulator say which seeds are its files; returns the function that removes it. */
export function registerMediaResolver(resolver: MediaResolver): () => void {
  resolvers.add(resolver);
  return () => resolvers.delete(resolver);
}

function kindOf(seed: string): MediaKind | undefined {
  const known = resolved.get(seed);
  if (known !== undefined) return known ?? undefined;
  let kind: MediaKind | undefined;
  for (const resolve of resolvers) {
    kind = resolve(seed);
    if (kind) break;
  }
  // Only hits are remembered: a seed asked for before its simulator started must not stay plain forever.
  if (kind) {
    resolved.set(seed, kind);
    if (resolved.size > MAX_RESOLVED) resolved.delete(resolved.keys().next().value ?? '');
  }
  return kind;
}

function layoutFor(seed: string, size: number): MediaLayout | undefined {
  const key = `${size}:${seed}`;
  const cached = layouts.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const kind = kindOf(seed);
  const block = doubledBlock(seed);
  const layout = kind
    ? mediaLayout(kind.ext, size, kind.look, (start, end, visit) =>
        forEachFillerSlice(block, start, end, visit),
      )
    : undefined;
  if (kind) {
    layouts.set(key, layout ?? null);
    if (layouts.size > MAX_LAYOUTS) layouts.delete(layouts.keys().next().value ?? '');
  }
  return layout;
}

/**
 * The longest view of the file starting at `position` and ending at or before `end` that is one piece: filler
 * from the block, or part of a head, segment header or trailer, or tail.
 */
function pieceAt(layout: MediaLayout | undefined, block: Buffer, position: number, end: number): Buffer {
  if (!layout) return sliceAt(block, position, end);
  const cut = (bytes: Buffer, offset: number) => bytes.subarray(offset, offset + (end - position));
  if (position < layout.head.length) return cut(layout.head, position);
  const tailStart = layout.size - layout.tail.length;
  if (position >= tailStart) return cut(layout.tail, position - tailStart);
  const seg = layout.segments;
  const overhead = seg.headerLength + seg.trailerLength;
  const fullLength = overhead + seg.fullData;
  let offset = position - seg.start;
  let segmentStart: number;
  let data: number;
  if (offset < seg.full * fullLength) {
    const index = Math.floor(offset / fullLength);
    segmentStart = seg.start + index * fullLength;
    offset -= index * fullLength;
    data = seg.fullData;
  } else {
    segmentStart = seg.start + seg.full * fullLength;
    offset -= seg.full * fullLength;
    data = 0;
    for (const extra of seg.extras) {
      data = extra;
      if (offset < overhead + extra) break;
      offset -= overhead + extra;
      segmentStart += overhead + extra;
    }
  }
  if (offset < seg.headerLength) return cut(seg.header(data), offset);
  const dataStart = segmentStart + seg.headerLength;
  if (offset < seg.headerLength + data) return sliceAt(block, position, Math.min(end, dataStart + data));
  return cut(seg.trailer(dataStart, data), offset - seg.headerLength - data);
}

/** Calls `visit` with read-only views that together make bytes [start, end) of the file, in order. */
function forEachSlice(
  seed: string,
  size: number,
  start: number,
  end: number,
  visit: (slice: Buffer) => void,
): void {
  const block = doubledBlock(seed);
  const layout = layoutFor(seed, size);
  let position = start;
  while (position < end) {
    const slice = pieceAt(layout, block, position, end);
    if (slice.length === 0) throw new Error(`No bytes at ${position} of ${seed}`);
    position += slice.length;
    visit(slice);
  }
}

/**
 * Streams bytes [start, end) of the virtual file. Chunks are views of a shared cached block: consumers must not
 * write into them (no Node stream consumer does).
 */
class ContentStream extends Readable {
  readonly #block: Buffer;
  readonly #layout: MediaLayout | undefined;
  #position: number;
  readonly #end: number;

  constructor(seed: string, size: number, start: number, end: number) {
    super({ highWaterMark: CHUNK_SIZE * 4 });
    this.#block = doubledBlock(seed);
    this.#layout = layoutFor(seed, size);
    this.#position = start;
    this.#end = end;
  }

  override _read(): void {
    while (this.#position < this.#end) {
      const slice = pieceAt(this.#layout, this.#block, this.#position, this.#end);
      this.#position += slice.length;
      if (!this.push(slice)) return;
    }
    this.push(null);
  }
}

/** A stream of bytes [start, end) of the file named by `seed` and `size`. */
export function fileContent(seed: string, size: number, start = 0, end = size): Readable {
  checkRange(size, start, end);
  return new ContentStream(seed, size, start, end);
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
  forEachSlice(seed, size, start, end, (slice) => {
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
    forEachSlice(seed, size, start, Math.min(size, start + HASH_SLICE_BYTES), (slice) => hash.update(slice));
  }
  const hex = hash.digest('hex');
  digests.set(key, hex);
  if (digests.size > MAX_CACHED_DIGESTS) {
    const oldest = digests.keys().next().value;
    if (oldest !== undefined) digests.delete(oldest);
  }
  return hex;
}
