// The validator rules and resume states of src/engine/segments.ts, without a server or a disk: which validator
// If-Range may carry, how Content-Range and Content-Length read, and which resume states are trusted.
import { describe, expect, it } from 'vitest';
import {
  lengthOf,
  OVERLAP_BYTES,
  parseContentRange,
  type ResumeState,
  resumable,
  validatorOf,
  validSegments,
} from '../src/engine/segments.js';
import * as transfer from '../src/engine/transfer.js';

describe('validatorOf', () => {
  const modified = 'Tue, 01 Oct 2024 10:00:00 GMT';

  it('takes a strong ETag as it is', () => {
    expect(validatorOf({ etag: '"v1"' })).toBe('"v1"');
    expect(
      validatorOf({ etag: '"v1"', 'last-modified': modified, date: 'Tue, 01 Oct 2024 11:00:00 GMT' }),
    ).toBe('"v1"');
  });

  it('never takes a weak W/ ETag: without a strong date there is no validator at all', () => {
    expect(validatorOf({ etag: 'W/"v1"' })).toBeUndefined();
    expect(validatorOf({ etag: 'W/"v1"', 'last-modified': modified })).toBeUndefined();
  });

  it('falls back from a weak ETag to a Last-Modified the answer’s Date is a second or more past', () => {
    const date = 'Tue, 01 Oct 2024 10:00:01 GMT';
    expect(validatorOf({ etag: 'W/"v1"', 'last-modified': modified, date })).toBe(modified);
    expect(validatorOf({ 'last-modified': modified, date: 'Wed, 02 Oct 2024 10:00:00 GMT' })).toBe(modified);
  });

  it('refuses a Last-Modified within the same second as the Date, before it, or without a readable Date', () => {
    expect(validatorOf({ 'last-modified': modified, date: modified })).toBeUndefined();
    expect(validatorOf({ 'last-modified': modified, date: 'Tue, 01 Oct 2024 09:59:59 GMT' })).toBeUndefined();
    expect(validatorOf({ 'last-modified': modified })).toBeUndefined();
    expect(validatorOf({ 'last-modified': modified, date: 'not a date' })).toBeUndefined();
  });

  it('has none without ETag and Last-Modified; an empty ETag is none', () => {
    expect(validatorOf({})).toBeUndefined();
    expect(validatorOf({ etag: '' })).toBeUndefined();
  });

  it('reads the first value of a repeated header', () => {
    expect(validatorOf({ etag: ['"first"', '"second"'] as unknown as string })).toBe('"first"');
  });
});

describe('parseContentRange', () => {
  it('reads start, exclusive end and total', () => {
    expect(parseContentRange('bytes 0-99/1000')).toEqual({ start: 0, end: 100, total: 1000 });
    expect(parseContentRange('bytes 65536-131071/131072')).toEqual({
      start: 65536,
      end: 131072,
      total: 131072,
    });
    expect(parseContentRange('  bytes 5-5/6 ')).toEqual({ start: 5, end: 6, total: 6 });
  });

  it('has an unknown total for *', () => {
    expect(parseContentRange('bytes 10-19/*')).toEqual({ start: 10, end: 20, total: undefined });
  });

  it('refuses anything else: an unsatisfied range, another unit, missing or malformed values', () => {
    for (const value of [
      undefined,
      '',
      'bytes */1000',
      'items 0-9/10',
      'bytes 0-9',
      'bytes=0-9/10',
      'bytes a-9/10',
    ]) {
      expect(parseContentRange(value), String(value)).toBeUndefined();
    }
  });
});

describe('lengthOf', () => {
  it('takes a plain byte count only', () => {
    expect(lengthOf({ 'content-length': '1234' })).toBe(1234);
    expect(lengthOf({ 'content-length': '0' })).toBe(0);
    expect(lengthOf({})).toBeUndefined();
    expect(lengthOf({ 'content-length': '12.5' })).toBeUndefined();
    expect(lengthOf({ 'content-length': '-1' })).toBeUndefined();
  });
});

describe('validSegments', () => {
  const state = (segments: unknown, extra: Partial<ResumeState> = {}): ResumeState => ({
    validator: '"abc"',
    total: 300,
    segments: segments as [number, number, number][],
    ...extra,
  });

  it('trusts contiguous whole-offset segments that cover exactly the total', () => {
    expect(
      validSegments(
        state([
          [0, 50, 100],
          [100, 100, 200],
          [200, 300, 300],
        ]),
      ),
    ).toBe(true);
    expect(validSegments(state([[0, 0, 300]]))).toBe(true);
  });

  it('refuses a gap, an overlap, a short or long cover, and a segment that is empty or inside out', () => {
    for (const segments of [
      [
        [0, 0, 100],
        [150, 150, 300],
      ],
      [
        [0, 0, 150],
        [100, 100, 300],
      ],
      [[0, 0, 299]],
      [[0, 0, 301]],
      [
        [0, 0, 100],
        [100, 100, 100],
        [100, 100, 300],
      ],
      [[10, 10, 300]],
    ]) {
      expect(validSegments(state(segments)), JSON.stringify(segments)).toBe(false);
    }
  });

  it('refuses a position outside its segment, fractions, and malformed tuples', () => {
    expect(validSegments(state([[0, 301, 300]]))).toBe(false);
    expect(validSegments(state([[0, -1, 300]]))).toBe(false);
    expect(validSegments(state([[0, 10.5, 300]]))).toBe(false);
    expect(validSegments(state([[0, 10]]))).toBe(false);
    expect(validSegments(state(['0-300']))).toBe(false);
  });

  it('refuses a state without a validator, a total or segments', () => {
    expect(validSegments(state([[0, 0, 300]], { validator: undefined }))).toBe(false);
    expect(validSegments(state([[0, 0, 300]], { total: undefined }))).toBe(false);
    expect(validSegments(state([]))).toBe(false);
    expect(validSegments({ validator: '"abc"', total: 300 })).toBe(false);
  });
});

describe('resumable', () => {
  const split: ResumeState = {
    validator: '"abc"',
    total: 300,
    segments: [
      [0, 50, 100],
      [100, 180, 300],
    ],
  };

  it('continues a split .part segment by segment when the disk holds every recorded position', () => {
    expect(resumable(split, 180)).toEqual({
      kind: 'segments',
      validator: '"abc"',
      total: 300,
      segments: split.segments,
    });
    // A segment not begun needs nothing on disk.
    expect(
      resumable(
        {
          ...split,
          segments: [
            [0, 50, 100],
            [100, 100, 300],
          ],
        },
        50,
      )?.kind,
    ).toBe('segments');
  });

  it('never reads a split .part as a prefix: one that is shorter than a recorded position is not continued', () => {
    expect(resumable(split, 179)).toBeUndefined();
    // Untrusted segments (one reaches past the total): the holes would be spliced in as zeros.
    expect(
      resumable(
        {
          ...split,
          segments: [
            [0, 50, 100],
            [100, 100, 400],
          ],
        },
        200,
      ),
    ).toBeUndefined();
  });

  it('continues a .part written from byte 0 on as a prefix, under a validator or a known total', () => {
    expect(resumable({ validator: '"abc"', total: 300 }, 120)).toEqual({
      kind: 'prefix',
      validator: '"abc"',
      total: 300,
      bytes: 120,
    });
    expect(resumable({ validator: undefined, total: 300 }, 120)?.kind).toBe('prefix');
    expect(resumable({ validator: '"abc"', total: undefined }, 120)?.kind).toBe('prefix');
  });

  it('starts over without state, without a .part, from an empty or a full .part, or with nothing to prove it', () => {
    expect(resumable(undefined, 120)).toBeUndefined();
    expect(resumable({ validator: '"abc"', total: 300 }, undefined)).toBeUndefined();
    expect(resumable({ validator: '"abc"', total: 300 }, 0)).toBeUndefined();
    expect(resumable({ validator: '"abc"', total: 300 }, 300)).toBeUndefined();
    expect(resumable({ validator: undefined, total: undefined }, 120)).toBeUndefined();
  });
});

describe('src/engine/transfer.ts', () => {
  it('still exports what moved to segments.ts', () => {
    expect(transfer.OVERLAP_BYTES).toBe(OVERLAP_BYTES);
    expect(transfer.validatorOf).toBe(validatorOf);
    expect(transfer.parseContentRange).toBe(parseContentRange);
  });
});
