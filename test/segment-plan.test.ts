// The plan of one file's byte ranges as a SegmentPlan (src/engine/segments.ts), without a server or a disk: where
// a file is split, what each segment asks, how a resume state is taken over, which answers belong to the object.
import { describe, expect, it } from 'vitest';
import { ALIGN, OVERLAP_BYTES, type Segment, SegmentPlan } from '../src/engine/segments.js';

const MiB = 1024 * 1024;
const seg = (start: number, pos: number, end: number, synced = pos): Segment => ({ start, pos, end, synced });

/** A plan as a split download of `total` bytes under a strong ETag has it. */
function splitPlan(total: number, segments: Segment[]): SegmentPlan {
  const plan = new SegmentPlan();
  plan.total = total;
  plan.validator = '"abc"';
  plan.rangeOk = true;
  plan.segments = segments;
  return plan;
}

describe('SegmentPlan: resume, start over, progress', () => {
  it('resumes a split state: its segments, from their recorded positions, with Range support', () => {
    const plan = new SegmentPlan();
    plan.resume({
      kind: 'segments',
      validator: '"abc"',
      total: 300,
      segments: [
        [0, 50, 100],
        [100, 180, 300],
      ],
    });
    expect(plan.segments).toEqual([seg(0, 50, 100), seg(100, 180, 300)]);
    expect([plan.total, plan.validator, plan.rangeOk, plan.count]).toEqual([300, '"abc"', true, 2]);
    expect(plan.held).toBe(130);
    expect(plan.remaining).toBe(170);
    expect(plan.complete).toBe(false);
  });

  it('resumes a prefix as one segment, its end the total when known, and without Range support shown', () => {
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: undefined, total: undefined, bytes: 120 });
    expect(plan.segments).toEqual([seg(0, 120, Number.POSITIVE_INFINITY)]);
    expect(plan.rangeOk).toBe(false);
    expect(plan.remaining).toBe(Number.POSITIVE_INFINITY);
    const known = new SegmentPlan();
    known.resume({ kind: 'prefix', validator: '"abc"', total: 300, bytes: 120 });
    expect(known.segments).toEqual([seg(0, 120, 300)]);
    expect(known.remaining).toBe(180);
  });

  it('has infinitely much left before it is prepared, and one open segment when nothing is resumed', () => {
    const plan = new SegmentPlan();
    expect(plan.remaining).toBe(Number.POSITIVE_INFINITY);
    plan.resume(undefined);
    expect(plan.segments).toEqual([seg(0, 0, Number.POSITIVE_INFINITY)]);
    expect(plan.complete).toBe(false);
  });

  it('starts over to one open segment, forgetting the size and validator', () => {
    const plan = splitPlan(300, [seg(0, 100, 100), seg(100, 150, 300)]);
    plan.count = 2;
    const first = plan.startOver();
    expect(plan.segments).toEqual([first]);
    expect(first).toEqual(seg(0, 0, Number.POSITIVE_INFINITY));
    expect([plan.total, plan.validator, plan.count]).toEqual([undefined, undefined, 1]);
  });

  it('is complete only when every segment is and the size is known', () => {
    const plan = splitPlan(300, [seg(0, 100, 100), seg(100, 300, 300)]);
    expect(plan.complete).toBe(true);
    plan.segments[0]!.pos = 99;
    expect(plan.complete).toBe(false);
    const unknown = new SegmentPlan();
    unknown.segments = [seg(0, 10, 10)];
    expect(unknown.complete).toBe(false);
  });
});

describe('SegmentPlan.split', () => {
  it('cuts the largest unfinished segment at its middle, aligned up to 64 KiB, and keeps the order', () => {
    const plan = splitPlan(100 * MiB, [seg(0, 10 * MiB, 20 * MiB), seg(20 * MiB, 30 * MiB, 100 * MiB)]);
    const cut = plan.split(4 * MiB);
    // 30 MiB + 70 MiB / 2 = 65 MiB, already aligned.
    expect(cut?.from).toBe(plan.segments[1]);
    expect(cut?.seg).toEqual(seg(65 * MiB, 65 * MiB, 100 * MiB));
    expect(plan.segments.map((s) => [s.start, s.end])).toEqual([
      [0, 20 * MiB],
      [20 * MiB, 65 * MiB],
      [65 * MiB, 100 * MiB],
    ]);
    expect(plan.remaining).toBe(10 * MiB + 70 * MiB);
  });

  it('rounds an odd middle up to the next boundary', () => {
    const plan = splitPlan(10 * MiB + 1, [seg(0, 1, 10 * MiB + 1)]);
    const cut = plan.split(MiB);
    const middle = Math.ceil((1 + (10 * MiB) / 2) / ALIGN) * ALIGN;
    expect(cut?.seg.start).toBe(middle);
    expect(middle % ALIGN).toBe(0);
    expect(middle).toBe(5 * MiB + ALIGN);
    expect(plan.segments[0]?.end).toBe(middle);
  });

  it('skips finished segments and declines when neither half would reach the minimum', () => {
    const plan = splitPlan(20 * MiB, [seg(0, 12 * MiB, 12 * MiB), seg(12 * MiB, 13 * MiB, 20 * MiB)]);
    expect(plan.split(4 * MiB)).toBeUndefined(); // 7 MiB left: two halves of 3.5
    expect(plan.segments).toHaveLength(2);
    const cut = plan.split(3 * MiB);
    expect(cut?.from.start).toBe(12 * MiB);
    expect(cut?.seg.start).toBe(16 * MiB + 512 * 1024);
  });

  it('declines when alignment would leave the second half short', () => {
    // 2 * min left, but the aligned middle leaves less than min after it.
    const plan = splitPlan(ALIGN * 5, [seg(0, ALIGN / 2, ALIGN * 4 + ALIGN / 2)]);
    expect(plan.split(ALIGN * 2)).toBeUndefined();
    expect(plan.segments).toEqual([seg(0, ALIGN / 2, ALIGN * 4 + ALIGN / 2)]);
  });

  it('is undone by unsplit: the shortened segment gets its range back', () => {
    const plan = splitPlan(100 * MiB, [seg(0, 0, 100 * MiB)]);
    const cut = plan.split(4 * MiB)!;
    plan.unsplit(cut.from, cut.seg);
    expect(plan.segments).toEqual([seg(0, 0, 100 * MiB)]);
  });
});

describe('SegmentPlan: splittable, checkpoint', () => {
  it('is splittable only with Range support, a validator and a size, and never after Range was ignored', () => {
    const plan = splitPlan(100, [seg(0, 0, 100)]);
    expect(plan.splittable).toBe(true);
    for (const spoil of [
      (p: SegmentPlan) => {
        p.rangeOk = false;
      },
      (p: SegmentPlan) => {
        p.validator = undefined;
      },
      (p: SegmentPlan) => {
        p.total = undefined;
      },
      (p: SegmentPlan) => {
        p.noSplit = true;
      },
    ]) {
      const spoiled = splitPlan(100, [seg(0, 0, 100)]);
      spoil(spoiled);
      expect(spoiled.splittable).toBe(false);
    }
  });

  it('checkpoints each segment from its flushed position, never past where it is', () => {
    const plan = splitPlan(300, [seg(0, 80, 100, 64), seg(100, 150, 300, 200)]);
    expect(plan.checkpoint()).toEqual({
      validator: '"abc"',
      total: 300,
      segments: [
        [0, 64, 100],
        [100, 150, 300],
      ],
    });
  });
});

describe('SegmentPlan.ask', () => {
  it('asks a fresh file whole, without Range', () => {
    const plan = new SegmentPlan();
    const first = plan.startOver();
    expect(plan.ask(first)).toEqual({ back: 0, headers: { 'accept-encoding': 'identity' } });
  });

  it('continues under a validator with an open Range and If-Range', () => {
    const plan = splitPlan(300, [seg(0, 120, 300)]);
    expect(plan.ask(plan.segments[0]!)).toEqual({
      back: 0,
      headers: { 'accept-encoding': 'identity', range: 'bytes=120-', 'if-range': '"abc"' },
    });
  });

  it('asks a segment that ends before the file up to its last byte, even the first one from byte 0', () => {
    const plan = splitPlan(300, [seg(0, 0, 100), seg(100, 100, 300)]);
    expect(plan.ask(plan.segments[0]!).headers.range).toBe('bytes=0-99');
    expect(plan.ask(plan.segments[1]!).headers.range).toBe('bytes=100-');
  });

  it('without a validator, asks again the 64 KiB before the position (less near the start), no If-Range', () => {
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: undefined, total: 10 * MiB, bytes: MiB });
    expect(plan.ask(plan.segments[0]!)).toEqual({
      back: OVERLAP_BYTES,
      headers: { 'accept-encoding': 'identity', range: `bytes=${MiB - OVERLAP_BYTES}-` },
    });
    plan.segments[0]!.pos = 1000;
    expect(plan.ask(plan.segments[0]!)).toEqual({
      back: 1000,
      headers: { 'accept-encoding': 'identity', range: 'bytes=0-' },
    });
  });
});

describe('SegmentPlan.whole: a 200 answer', () => {
  it('to a fresh file is its fresh start, with or without a validator', () => {
    const plan = new SegmentPlan();
    const first = plan.startOver();
    expect(plan.whole(first, '"abc"', 300)).toBe('fresh');
    expect(plan.whole(first, undefined, undefined)).toBe('fresh');
    plan.beginWhole(first, '"abc"', 300, true);
    expect([plan.total, plan.validator, plan.rangeOk, first.end]).toEqual([300, '"abc"', true, 300]);
  });

  it('of unknown size leaves the segment open', () => {
    const plan = new SegmentPlan();
    const first = plan.startOver();
    plan.beginWhole(first, undefined, undefined, false);
    expect(first.end).toBe(Number.POSITIVE_INFINITY);
    expect(plan.rangeOk).toBe(false);
  });

  it('to a resumed first segment under the same validator and size is the server ignoring Range', () => {
    const plan = splitPlan(300, [seg(0, 120, 300)]);
    expect(plan.whole(plan.segments[0]!, '"abc"', 300)).toBe('again');
  });

  it('to a later segment of a split file, from the same object, is read the same way', () => {
    const plan = splitPlan(300, [seg(0, 100, 100), seg(100, 150, 300)]);
    expect(plan.whole(plan.segments[1]!, '"abc"', 300)).toBe('again');
  });

  it('starts the file over when the object differs, its size does, or there is no validator to trust', () => {
    const plan = splitPlan(300, [seg(0, 120, 300)]);
    const first = plan.segments[0]!;
    expect(plan.whole(first, '"other"', 300)).toBe('start-over');
    expect(plan.whole(first, undefined, 300)).toBe('start-over');
    const later = splitPlan(300, [seg(0, 100, 100), seg(100, 150, 300)]);
    expect(later.whole(later.segments[1]!, '"abc"', 301)).toBe('start-over');
    expect(later.whole(later.segments[1]!, '"other"', 300)).toBe('start-over');
    // Even from byte 0: the other segments of a split file stand on the old object.
    const split = splitPlan(300, [seg(0, 0, 100), seg(100, 150, 300)]);
    expect(split.whole(split.segments[0]!, '"other"', 300)).toBe('start-over');
  });
});

describe('SegmentPlan.fits: a 206 answer', () => {
  const plan = splitPlan(300, [seg(0, 120, 300)]);
  const first = plan.segments[0]!;

  it('continues the segment when it starts where asked, with the known total, under no other validator', () => {
    expect(plan.fits(first, 0, { start: 120, end: 300, total: 300 }, '"abc"')).toBe(true);
    expect(plan.fits(first, 0, { start: 120, end: 300, total: 300 }, undefined)).toBe(true);
    expect(plan.fits(first, 20, { start: 100, end: 300, total: 300 }, '"abc"')).toBe(true);
  });

  it('does not otherwise', () => {
    expect(plan.fits(first, 0, undefined, '"abc"')).toBe(false);
    expect(plan.fits(first, 0, { start: 0, end: 300, total: 300 }, '"abc"')).toBe(false);
    expect(plan.fits(first, 0, { start: 120, end: 300, total: undefined }, '"abc"')).toBe(false);
    expect(plan.fits(first, 0, { start: 120, end: 400, total: 400 }, '"abc"')).toBe(false);
    expect(plan.fits(first, 0, { start: 120, end: 300, total: 300 }, '"other"')).toBe(false);
  });

  it('takes the total of an answer when the size was unknown', () => {
    const open = new SegmentPlan();
    open.resume({ kind: 'prefix', validator: undefined, total: undefined, bytes: 50 });
    const only = open.segments[0]!;
    expect(open.fits(only, 50, { start: 0, end: 400, total: 400 }, undefined)).toBe(true);
    open.acceptRange(only, 400);
    expect([open.total, only.end, open.rangeOk]).toEqual([400, 400, true]);
  });
});
