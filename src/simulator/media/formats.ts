/**
 * How each simulated file is laid out as real media of an exact size: a small valid file (`head`, `tail`) with
 * filler in a place its format lets readers skip, cut into segments that each carry a header (and a trailer):
 *
 * - mp4: the sample clip, then one `free` box;
 * - png: signature, IHDR, IDAT (a gradient in the asset's colour), private `fiLl` chunks with their CRC, IEND;
 * - jpg: SOI and JFIF APP0, COM segments, the rest of the sample;
 * - webp: RIFF with a VP8X header, the sample's VP8 chunk, one unknown `FILL` chunk;
 * - mp3: ID3v2.4 tags holding a PRIV frame each, then the sample's audio frames;
 * - wav: RIFF, fmt, a short tone in `data`, one `junk` chunk.
 *
 * The filler bytes themselves are the caller's (position-dependent pseudo-random bytes), so any byte range can be
 * produced without building the file. A size too small for the sample gets no layout (plain filler).
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { JPG_SAMPLES, MP3_SAMPLES, MP4_SAMPLES, WEBP_SAMPLES } from './samples.js';

export interface Segments {
  /** Where the first segment starts: the length of `head`. */
  start: number;
  /** Segments of `fullData` data bytes, then one or two of `extras` data bytes each. */
  full: number;
  fullData: number;
  extras: number[];
  headerLength: number;
  header(dataLength: number): Buffer;
  trailerLength: number;
  /** The bytes after a segment's data; `dataStart` is the absolute offset of its first data byte. */
  trailer(dataStart: number, dataLength: number): Buffer;
}

export interface MediaLayout {
  size: number;
  head: Buffer;
  tail: Buffer;
  segments: Segments;
}

/** Reads filler bytes [start, end) as a sequence of views; supplied by content.ts. */
export type FillerReader = (start: number, end: number, visit: (slice: Buffer) => void) => void;

interface SegmentFormat {
  headerLength: number;
  /** Largest data length of one segment. */
  maxData: number;
  header(dataLength: number): Buffer;
  trailerLength: number;
  trailer(dataStart: number, dataLength: number): Buffer;
}

const decoded = new Map<string, Buffer>();
function sample(list: readonly string[], look: string): Buffer {
  const index = lookNumber(look) % list.length;
  const text = list[index] ?? '';
  let buffer = decoded.get(text);
  if (!buffer) {
    buffer = Buffer.from(text, 'base64');
    decoded.set(text, buffer);
  }
  return buffer;
}

function lookNumber(look: string): number {
  return createHash('sha256').update(look).digest().readUInt32BE(0);
}

const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const synchsafe = (n: number): Buffer =>
  Buffer.from([(n >>> 21) & 0x7f, (n >>> 14) & 0x7f, (n >>> 7) & 0x7f, n & 0x7f]);

/** Fits segments of `format` into [start, start + room): undefined when they cannot fill it exactly. */
function fitSegments(format: SegmentFormat, start: number, room: number): Segments | undefined {
  if (room < 0) return undefined;
  const base = {
    start,
    headerLength: format.headerLength,
    header: format.header,
    trailerLength: format.trailerLength,
    trailer: format.trailer,
    fullData: format.maxData,
  };
  if (room === 0) return { ...base, full: 0, extras: [] };
  const fullLength = format.headerLength + format.maxData + format.trailerLength;
  let full = Math.floor(room / fullLength);
  let rest = room - full * fullLength;
  if (rest === 0) return { ...base, full, extras: [] };
  const last = dataFor(format, rest);
  if (last !== undefined) return { ...base, full, extras: [last] };
  // Too little left for a segment's own bytes: shorten the last full segment and add a short one.
  if (full === 0) return undefined;
  full -= 1;
  rest += fullLength;
  const small = dataFor(format, format.headerLength + format.trailerLength) ?? 0;
  const smallLength = format.headerLength + small + format.trailerLength;
  const first = dataFor(format, rest - smallLength);
  if (first === undefined || first > format.maxData) return undefined;
  return { ...base, full, extras: [first, small] };
}

/** The data length of one segment whose total length is `length`, if there is one. */
function dataFor(format: SegmentFormat, length: number): number | undefined {
  const data = length - format.headerLength - format.trailerLength;
  return data >= 0 ? data : undefined;
}

/**
 * A RIFF file is always of even length (chunks are padded to even). An odd size gets one byte after the RIFF
 * form, which readers ignore (libwebp cuts its input at the form's end), so every chunk inside stays even.
 */
function riffSegment(fourcc: string): SegmentFormat {
  return {
    headerLength: 8,
    maxData: 0xffff_fff0,
    header: (n) => Buffer.concat([ascii(fourcc), u32le(n)]),
    trailerLength: 0,
    trailer: () => Buffer.alloc(0),
  };
}

function riffHeader(size: number, form: string): Buffer {
  return Buffer.concat([ascii('RIFF'), u32le(size - 8 - (size % 2)), ascii(form)]);
}

const riffTail = (size: number): Buffer => Buffer.alloc(size % 2);

function layoutOf(size: number, head: Buffer, tail: Buffer, format: SegmentFormat): MediaLayout | undefined {
  const segments = fitSegments(format, head.length, size - head.length - tail.length);
  return segments ? { size, head, tail, segments } : undefined;
}

function mp4(size: number, look: string): MediaLayout | undefined {
  const head = sample(MP4_SAMPLES, look);
  const large = size - head.length > 0xffff_ffff;
  return layoutOf(size, head, Buffer.alloc(0), {
    headerLength: large ? 16 : 8,
    maxData: Number.MAX_SAFE_INTEGER,
    header: (n) => {
      if (!large) return Buffer.concat([u32be(8 + n), ascii('free')]);
      const b = Buffer.alloc(16);
      b.writeUInt32BE(1, 0);
      b.write('free', 4, 'latin1');
      b.writeBigUInt64BE(BigInt(16 + n), 8);
      return b;
    },
    trailerLength: 0,
    trailer: () => Buffer.alloc(0),
  });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([ascii(type), data]);
  return Buffer.concat([u32be(data.length), body, u32be(crc32(body))]);
}

const PNG_HEADS = new Map<string, Buffer>();
/** A 160x90 diagonal gradient in a colour of the asset's own. */
function pngHead(look: string): Buffer {
  const cached = PNG_HEADS.get(look);
  if (cached) return cached;
  const width = 160;
  const height = 90;
  const n = lookNumber(look);
  const colour = [(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const shade = 0.35 + (0.65 * (x + y)) / (width + height);
      for (let c = 0; c < 3; c++) raw[row + 1 + x * 3 + c] = Math.round((colour[c] ?? 0) * shade);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const head = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
  ]);
  PNG_HEADS.set(look, head);
  if (PNG_HEADS.size > 1024) PNG_HEADS.delete(PNG_HEADS.keys().next().value ?? '');
  return head;
}

const PNG_FILL = ascii('fiLl');
const PNG_FILL_CRC = crc32(PNG_FILL);
const PNG_SEGMENT_DATA = 1024 * 1024;

function png(size: number, look: string, read: FillerReader): MediaLayout | undefined {
  const crcs = new Map<number, number>();
  return layoutOf(size, pngHead(look), pngChunk('IEND', Buffer.alloc(0)), {
    headerLength: 8,
    maxData: PNG_SEGMENT_DATA,
    header: (n) => Buffer.concat([u32be(n), PNG_FILL]),
    trailerLength: 4,
    trailer: (start, n) => {
      let crc = crcs.get(start);
      if (crc === undefined) {
        let value = PNG_FILL_CRC;
        read(start, start + n, (slice) => {
          value = crc32(slice, value);
        });
        crc = value;
        crcs.set(start, crc);
        if (crcs.size > 64) crcs.delete(crcs.keys().next().value ?? 0);
      }
      return u32be(crc);
    },
  });
}

function jpg(size: number, look: string): MediaLayout | undefined {
  const base = sample(JPG_SAMPLES, look);
  // After SOI and, when present, the JFIF APP0 segment that readers expect right after SOI.
  const at = base[2] === 0xff && base[3] === 0xe0 ? 4 + base.readUInt16BE(4) : 2;
  return layoutOf(size, base.subarray(0, at), base.subarray(at), {
    headerLength: 4,
    maxData: 0xffff - 2,
    header: (n) => Buffer.from([0xff, 0xfe, ((n + 2) >>> 8) & 0xff, (n + 2) & 0xff]),
    trailerLength: 0,
    trailer: () => Buffer.alloc(0),
  });
}

function webp(size: number, look: string): MediaLayout | undefined {
  const base = sample(WEBP_SAMPLES, look);
  // The sample is a simple-format WebP (RIFF, WEBP, one VP8 chunk); unknown chunks need the extended format.
  const vp8 = base.subarray(12);
  const width = vp8.readUInt16LE(8 + 6) & 0x3fff;
  const height = vp8.readUInt16LE(8 + 8) & 0x3fff;
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'latin1');
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(width - 1, 12, 3);
  vp8x.writeUIntLE(height - 1, 15, 3);
  const head = Buffer.concat([riffHeader(size, 'WEBP'), vp8x, vp8]);
  return layoutOf(size, head, riffTail(size), riffSegment('FILL'));
}

const ID3_OWNER = ascii('runway-backup-simulator\0');
const ID3_MAX_DATA = 64 * 1024 * 1024;

function mp3(size: number, look: string): MediaLayout | undefined {
  // Readers skip ID3v2 tags one after another before the first audio frame.
  const headerLength = 10 + 10 + ID3_OWNER.length;
  return layoutOf(size, Buffer.alloc(0), sample(MP3_SAMPLES, look), {
    headerLength,
    maxData: ID3_MAX_DATA,
    header: (n) => {
      const frame = ID3_OWNER.length + n;
      return Buffer.concat([
        Buffer.from([0x49, 0x44, 0x33, 4, 0, 0]),
        synchsafe(10 + frame),
        ascii('PRIV'),
        synchsafe(frame),
        Buffer.from([0, 0]),
        ID3_OWNER,
      ]);
    },
    trailerLength: 0,
    trailer: () => Buffer.alloc(0),
  });
}

function wav(size: number, look: string): MediaLayout | undefined {
  const rate = 8000;
  const samples = rate / 2;
  const hz = 220 * (2 + (lookNumber(look) % 4));
  const tone = Buffer.alloc(samples);
  for (let i = 0; i < samples; i++) tone[i] = 128 + Math.round(60 * Math.sin((2 * Math.PI * hz * i) / rate));
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // mono
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate, 8); // bytes per second
  fmt.writeUInt16LE(1, 12); // block align
  fmt.writeUInt16LE(8, 14); // bits per sample
  const head = Buffer.concat([
    riffHeader(size, 'WAVE'),
    ascii('fmt '),
    u32le(16),
    fmt,
    ascii('data'),
    u32le(samples),
    tone,
  ]);
  return layoutOf(size, head, riffTail(size), riffSegment('junk'));
}

/** The layout of a file of this extension and size, or undefined when it has no media form at that size. */
export function mediaLayout(
  ext: string,
  size: number,
  look: string,
  read: FillerReader,
): MediaLayout | undefined {
  if (size > 0xffff_fff0 && (ext === 'webp' || ext === 'wav')) return undefined;
  switch (ext) {
    case 'mp4':
      return mp4(size, look);
    case 'png':
      return png(size, look, read);
    case 'jpg':
    case 'jpeg':
      return jpg(size, look);
    case 'webp':
      return webp(size, look);
    case 'mp3':
      return mp3(size, look);
    case 'wav':
      return wav(size, look);
    default:
      return undefined;
  }
}
