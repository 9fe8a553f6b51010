/**
 * The plan of one file's byte ranges: its segments and how they are split and aligned, the resume state a later run
 * continues them from (and the checkpoint that records it), the Range / If-Range each segment asks, and the
 * validator rules that decide whether an answer belongs to the object the plan is of. No I/O: the transfer reads,
 * writes and records; this says which bytes, and whether they fit.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What a `.part` needs to be continued by a later run, under a fresh URL. */
export interface ResumeState {
  /** Strong ETag, or Last-Modified: what `If-Range` carries. Absent: the overlap check proves the `.part`. */
  validator?: string | undefined;
  /** The full size the server announced. */
  total: number | undefined;
  /** A split download: `[start, written, end)` of each segment, written counting only flushed bytes. */
  segments?: [number, number, number][] | undefined;
}

/** Bytes re-read before the end of a `.part` to prove, without a validator, that it belongs to the object. */
export const OVERLAP_BYTES = 64 * 1024;
/** Segment boundaries are aligned to this. @internal */
export const ALIGN = 64 * 1024;

/** One byte range of the file, fetched by one lane at a time. @internal */
export interface Segment {
  start: number;
  /** Next byte to write. */
  pos: number;
  /** Exclusive; Infinity while the size is unknown. */
  end: number;
  /** `pos` as of the last completed flush: what a checkpoint records. */
  synced: number;
}

/** @internal */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The validator `If-Range` may carry: a strong ETag, else a Last-Modified date that is strong. Weak ETags never
 * match an If-Range on real CDNs. A date is strong only when the answer's own Date is at least a second after it
 * (RFC 9110, 8.8.2.2 and 13.1.5): an object changed twice within that second keeps its date, and a range of the
 * second version would be spliced onto bytes of the first. Without a strong one, a resume proves the `.part` by
 * re-reading its end, and the file is never split.
 */
export function validatorOf(headers: IncomingHttpHeaders): string | undefined {
  const etag = header(headers, 'etag');
  if (etag && !etag.startsWith('W/')) return etag;
  const modified = header(headers, 'last-modified');
  if (modified === undefined) return undefined;
  const date = Date.parse(header(headers, 'date') ?? '');
  return Number.isFinite(date) && date - Date.parse(modified) >= 1000 ? modified : undefined;
}

/** A Content-Range: `end` exclusive, `total` undefined for `*`. @internal */
export interface ContentRange {
  start: number;
  end: number;
  total: number | undefined;
}

export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) + 1, total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** The Content-Length of an answer, when it is a plain byte count. @internal */
export function lengthOf(headers: IncomingHttpHeaders): number | undefined {
  const value = header(headers, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Whether a resume state's segments can be trusted: whole offsets, each one starting where the one before ended,
 * together covering exactly the recorded total, from a server that gave a validator. @internal
 */
export function validSegments(
  state: ResumeState,
): state is ResumeState & { validator: string; total: number; segments: [number, number, number][] } {
  const { segments, total } = state;
  if (!segments || segments.length === 0 || total === undefined || !state.validator) return false;
  let at = 0;
  for (const seg of segments) {
    if (!Array.isArray(seg) || seg.length !== 3) return false;
    const [start, pos, end] = seg;
    // Whole byte offsets only: a damaged journal's fractions would reach Range headers and file positions.
    if (![start, pos, end].every(Number.isSafeInteger)) return false;
    if (start !== at || !(pos >= start && pos <= end) || !(end > start)) return false;
    at = end;
  }
  return at === total;
}

/** What of a `.part` left by an earlier run is continued: its segments, or its `bytes` as a prefix. @internal */
export type Resumable =
  | { kind: 'segments'; validator: string; total: number; segments: [number, number, number][] }
  | { kind: 'prefix'; validator: string | undefined; total: number | undefined; bytes: number };

/**
 * How a `.part` left by an earlier run can be continued, from its resume state and its size on disk (undefined:
 * no `.part`): segment by segment, as a prefix written from byte 0 on, or (undefined) not at all. @internal
 */
export function resumable(
  state: ResumeState | undefined,
  partBytes: number | undefined,
): Resumable | undefined {
  if (!state || partBytes === undefined) return undefined;
  if (validSegments(state) && state.segments.every(([start, pos]) => pos === start || partBytes >= pos)) {
    return { kind: 'segments', validator: state.validator, total: state.total, segments: state.segments };
  }
  // Only a .part written from byte 0 on, in order, is a prefix. A split download's .part has holes: when its
  // segments cannot be trusted (one reaches past the end of the file), reading it as a prefix spliced the holes'
  // zeros into a file of the right size, hashed as it was.
  if (!state.segments?.length && partBytes && (state.total === undefined || partBytes < state.total)) {
    if (state.validator || state.total !== undefined) {
      return { kind: 'prefix', validator: state.validator, total: state.total, bytes: partBytes };
    }
  }
  return undefined;
}

/** What a whole (200) answer to a segment means for the plan. @internal */
export type WholeAnswer = 'fresh' | 'again' | 'start-over';

/**
 * The byte ranges of one file and what is known of the object they belong to. The transfer mutates segments'
 * `pos` and `synced` as bytes land and are flushed; everything else changes through these methods. @internal
 */
export class SegmentPlan {
  /** The full size, once an answer said it. */
  total: number | undefined;
  /** The strong validator of the object the segments belong to (see validatorOf). */
  validator: string | undefined;
  /** The server showed Range support. */
  rangeOk = false;
  /** The server ignored a Range once: this file is never split again. */
  noSplit = false;
  /** Ordered by `start`, contiguous from 0 (empty until the transfer has prepared). */
  segments: Segment[] = [];
  /** Segments the file was fetched in (1 when never split). */
  count = 1;

  /** Bytes still to fetch (Infinity while the size is unknown). */
  get remaining(): number {
    let left = 0;
    for (const seg of this.segments) left += seg.end - seg.pos;
    return this.segments.length === 0 ? Number.POSITIVE_INFINITY : left;
  }

  /** More than one segment: the file is split (or was, in the run that left the `.part`). */
  get isSplit(): boolean {
    return this.segments.length > 1;
  }

  /** Every byte arrived (and the size is known). */
  get complete(): boolean {
    return this.total !== undefined && !this.segments.some((s) => s.pos < s.end);
  }

  /** Bytes of the `.part` the segments already hold. */
  get held(): number {
    let held = 0;
    for (const seg of this.segments) held += seg.pos - seg.start;
    return held;
  }

  /** The plan of a file fetched from byte 0, of unknown size and validator; returns its one segment. */
  startOver(): Segment {
    const seg: Segment = { start: 0, pos: 0, end: Number.POSITIVE_INFINITY, synced: 0 };
    this.segments = [seg];
    this.total = undefined;
    this.validator = undefined;
    this.count = 1;
    return seg;
  }

  /** Takes over what an earlier run left (see resumable); without anything to continue, starts over. */
  resume(kept: Resumable | undefined): void {
    if (kept === undefined) {
      this.startOver();
      return;
    }
    this.total = kept.total;
    this.validator = kept.validator;
    if (kept.kind === 'prefix') {
      const { bytes } = kept;
      this.segments = [{ start: 0, pos: bytes, end: kept.total ?? Number.POSITIVE_INFINITY, synced: bytes }];
      return;
    }
    this.rangeOk = true;
    this.segments = kept.segments.map(([start, pos, end]) => ({ start, pos, end, synced: pos }));
    this.count = this.segments.length;
  }

  /** Only from a server that showed Range support, a strong validator and a size, and never ignored a Range. */
  get splittable(): boolean {
    return !this.noSplit && this.rangeOk && !!this.validator && this.total !== undefined;
  }

  /**
   * Splits the largest unfinished segment at its aligned middle: returns it (shortened) and the new segment of its
   * second half, or undefined when neither half would be `minBytes` or more. Does not check `splittable`.
   */
  split(minBytes: number): { from: Segment; seg: Segment } | undefined {
    let best: Segment | undefined;
    for (const seg of this.segments) {
      if (seg.pos < seg.end && (!best || seg.end - seg.pos > best.end - best.pos)) best = seg;
    }
    if (!best || best.end - best.pos < 2 * minBytes) return undefined;
    const middle = Math.ceil((best.pos + (best.end - best.pos) / 2) / ALIGN) * ALIGN;
    if (middle - best.pos < minBytes || best.end - middle < minBytes) return undefined;
    const seg: Segment = { start: middle, pos: middle, end: best.end, synced: middle };
    best.end = middle;
    this.segments.push(seg);
    this.segments.sort((a, b) => a.start - b.start);
    return { from: best, seg };
  }

  /** Undoes a split: `from` gets back the range it gave `seg`. */
  unsplit(from: Segment, seg: Segment): void {
    from.end = seg.end;
    this.segments = this.segments.filter((s) => s !== seg);
  }

  /** The resume state of a split file: each segment from what is known to be flushed. */
  checkpoint(): ResumeState {
    return {
      validator: this.validator,
      total: this.total,
      segments: this.segments.map((s) => [s.start, Math.min(s.synced, s.pos), s.end]),
    };
  }

  /**
   * What the next request for `seg` asks: the Range and If-Range headers, and `back`, the bytes before `seg.pos`
   * asked again to prove a `.part` without a validator (compared with the disk).
   */
  ask(seg: Segment): { back: number; headers: Record<string, string> } {
    const back = seg.pos > 0 && !this.validator ? Math.min(OVERLAP_BYTES, seg.pos) : 0;
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    // The first segment of a split file asks a Range too, even from byte 0 (a retry after the split): a whole
    // answer to it would mean starting the file over, and the other segments with it.
    if (seg.pos > 0 || seg.start > 0 || this.segments.length > 1) {
      const last = Number.isFinite(seg.end) && seg.end !== this.total ? String(seg.end - 1) : '';
      headers.range = `bytes=${seg.pos - back}-${last}`;
      if (this.validator) headers['if-range'] = this.validator;
    }
    return { back, headers };
  }

  /**
   * A whole (200) answer to `seg`, of `total` bytes (when said) under `validator`: a fresh start of the file, the
   * same object again (the server ignored Range: skip what is there), or a different object (start over).
   */
  whole(seg: Segment, validator: string | undefined, total: number | undefined): WholeAnswer {
    // (A whole answer to the first segment of a split file, from the same object, is the server ignoring Range
    // this once: the other segments stand, and it is read like any ignored Range below.)
    const fresh = seg.pos === 0 && this.segments.length === 1;
    if (seg.start === 0 && (fresh || validator !== this.validator || !validator)) {
      // A fresh start, or a resume the server declined (If-Range did not match, or no validator to trust):
      // the whole current object, from byte 0.
      // Starting over here with this very answer cannot work: it was asked under the generation a restart
      // aborts, so its body breaks off at once; the file then failed a retry at a time (and, split again during
      // the backoff, restarted again, until it ran out of retries). The transfer starts over and asks anew.
      return seg.pos > 0 || this.segments.length > 1 ? 'start-over' : 'fresh';
    }
    // The same object, whole: the server ignores Range.
    if (validator && validator === this.validator && total === this.total) return 'again';
    return 'start-over';
  }

  /** Takes a fresh whole answer as the object: its size (the end of `seg`), validator and Range support. */
  beginWhole(seg: Segment, validator: string | undefined, total: number | undefined, rangeOk: boolean): void {
    this.total = total;
    seg.end = total ?? Number.POSITIVE_INFINITY;
    this.validator = validator;
    this.rangeOk = rangeOk;
  }

  /**
   * Whether a partial (206) answer continues `seg` (asked from `seg.pos - back`) of the same object: it starts
   * there, says a total, the total the plan knows (if any), and no other validator.
   */
  fits(
    seg: Segment,
    back: number,
    range: ContentRange | undefined,
    validator: string | undefined,
  ): range is ContentRange & { total: number } {
    return !(
      !range ||
      range.start !== seg.pos - back ||
      range.total === undefined ||
      (this.total !== undefined && range.total !== this.total) ||
      (this.validator && validator && validator !== this.validator)
    );
  }

  /** Takes a fitting partial answer's total as the size, and its existence as Range support. */
  acceptRange(seg: Segment, total: number): void {
    this.total = total;
    if (!Number.isFinite(seg.end)) seg.end = total;
    this.rangeOk = true;
  }
}
