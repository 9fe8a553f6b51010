import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLanes, type LaneController, type LaneOptions } from '../src/engine/lanes.js';
import { type BackupEvent, backup } from '../src/run/backup.js';
import { expectBackupMatches } from './helpers/backup-check.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const MB = 1_000_000;

/** An adaptive controller on a fake clock; `window(rate)` feeds one 500 ms window at `rate` bytes/s and ticks. */
function adaptive(options: LaneOptions = {}) {
  let now = 1_000_000;
  const changes: number[] = [];
  const lanes = createLanes('auto', { now: () => now, ...options });
  lanes.onChange((n) => changes.push(n));
  return {
    lanes,
    changes,
    advance(ms: number) {
      now += ms;
    },
    window(rate: number, busy = true) {
      lanes.addBytes((rate * 500) / 1000);
      now += 500;
      lanes.tick(busy);
      return lanes.limit;
    },
  };
}

/** `windows` windows where the throughput is what `rateOf(lanes)` says; the lane count after each. */
function run(c: ReturnType<typeof adaptive>, rateOf: (lanes: number) => number, windows: number): number[] {
  const seen: number[] = [];
  for (let i = 0; i < windows; i++) seen.push(c.window(rateOf(c.lanes.limit)));
  return seen;
}

describe('createLanes("auto")', () => {
  it('starts at the initial count, clamped to [min, max]', () => {
    expect(createLanes('auto').limit).toBe(8);
    expect(createLanes('auto', { initial: 1, min: 2 }).limit).toBe(2);
    expect(createLanes('auto', { initial: 100, max: 32 }).limit).toBe(32);
    expect(createLanes('auto').mode).toBe('auto');
  });

  it('grows while the throughput grows, up to max and never past it', () => {
    const c = adaptive();
    // Every lane adds 1 MB/s: growth always pays.
    const seen = run(c, (n) => n * MB, 12);
    expect(seen.slice(0, 4)).toEqual([12, 18, 27, 32]);
    expect(seen.every((n) => n <= 32)).toBe(true);
    expect(c.lanes.limit).toBe(32);
    expect(c.changes).toEqual([12, 18, 27, 32]);
  });

  it('stops growing when the throughput plateaus and goes back to the smallest count that reached it', () => {
    const c = adaptive();
    // A link of 12 MB/s, 1 MB/s per lane: more than 12 lanes only share the same link.
    const seen = run(c, (n) => Math.min(n, 12) * MB, 20);
    expect(Math.max(...seen)).toBe(18); // one step past the plateau to find it, no more
    expect(c.lanes.limit).toBe(12);
    expect(seen.slice(-10)).toEqual(Array(10).fill(12));
  });

  it('goes back to the best count when more lanes lower the throughput', () => {
    const c = adaptive();
    // Past 12 lanes the server struggles: each extra lane costs throughput.
    run(c, (n) => (n <= 12 ? n : 12 - (n - 12) * 0.5) * MB, 20);
    expect(c.lanes.limit).toBe(12);
  });

  it('probes upward again after a long settled spell, and settles back when that does not pay', () => {
    const c = adaptive({ cooldownMs: 1000 });
    run(c, (n) => Math.min(n, 12) * MB, 10);
    expect(c.lanes.limit).toBe(12);
    // 10 x cooldown settled: the controller tries more lanes once, then returns to 12.
    const seen = run(c, (n) => Math.min(n, 12) * MB, 40);
    expect(seen).toContain(18);
    expect(Math.max(...seen)).toBe(18);
    expect(c.lanes.limit).toBe(12);
  });

  it('halves on throttle(), once per burst (cooldown), and does not grow during the cooldown', () => {
    const c = adaptive({ initial: 16, cooldownMs: 5000 });
    c.lanes.throttle();
    expect(c.lanes.limit).toBe(8);
    // The rest of the burst: 20 more errors within the cooldown halve nothing more.
    for (let i = 0; i < 20; i++) {
      c.advance(100);
      c.lanes.throttle();
    }
    expect(c.lanes.limit).toBe(8);
    // Growth would pay, but the cooldown (5 s from the first error) holds it.
    c.advance(-2000); // back to 0.1 s after the burst's first error
    const during = run(c, (n) => n * MB, 9); // 4.5 s
    expect(during.every((n) => n === 8)).toBe(true);
    // After the cooldown, growth resumes.
    run(c, (n) => n * MB, 3);
    expect(c.lanes.limit).toBeGreaterThan(8);
    // A new burst after the cooldown halves again.
    const before = c.lanes.limit;
    c.advance(6000);
    c.lanes.throttle();
    expect(c.lanes.limit).toBe(Math.floor(before / 2));
    expect(c.changes[0]).toBe(8);
  });

  it('never leaves [min, max]: repeated bursts stop at min, growth stops at max', () => {
    const c = adaptive({ initial: 6, min: 3, max: 10, cooldownMs: 1000 });
    for (let i = 0; i < 10; i++) {
      c.lanes.throttle();
      expect(c.lanes.limit).toBeGreaterThanOrEqual(3);
      c.advance(1500);
    }
    expect(c.lanes.limit).toBe(3);
    const seen = run(c, (n) => n * MB, 20);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...seen)).toBe(10);
    expect(c.lanes.limit).toBe(10);
  });

  it('windows where the lanes were not the limit (busy=false) never grow it, even between busy ones', () => {
    const c = adaptive();
    // Only idle windows, at rising throughput: no change.
    for (let i = 1; i <= 10; i++) c.window(i * 10 * MB, false);
    expect(c.lanes.limit).toBe(8);
    expect(c.changes).toEqual([]);
    // Busy windows at a flat 8 MB/s (the lanes add nothing), each followed by an idle one (the listing was
    // slow): the idle windows must not turn each busy one into a fresh probe.
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push(c.window(8 * MB, true));
      c.window(1 * MB, false);
    }
    expect(Math.max(...seen)).toBeLessThanOrEqual(12);
    expect(c.lanes.limit).toBe(8);
  });

  it('a tick with no time elapsed changes nothing', () => {
    const c = adaptive();
    c.lanes.addBytes(10 * MB);
    c.lanes.tick(true);
    expect(c.lanes.limit).toBe(8);
  });
});

describe('createLanes(N)', () => {
  it('never changes, whatever happens', () => {
    const lanes: LaneController = createLanes(5);
    const changes: number[] = [];
    lanes.onChange((n) => changes.push(n));
    expect(lanes.mode).toBe('fixed');
    for (let i = 0; i < 10; i++) {
      lanes.addBytes(i * MB);
      lanes.tick(true);
      lanes.throttle();
      lanes.tick(false);
    }
    expect(lanes.limit).toBe(5);
    expect(changes).toEqual([]);
  });
});

describe('lanes against the simulator', () => {
  it('shrink under bursts of 429 and 503, and the backup still ends byte-identical', async () => {
    const s = await sim({
      assets: 40,
      mainSize: { min: 100_000, max: 300_000 },
      cdnConnectionBytesPerSecond: 2_000_000,
      cdnRateLimit: { every: 30, burst: 8, retryAfterSeconds: 0 },
      cdnFaults: { status5xx: 0.1, maxPerFile: 2 },
    });
    const out = path.join(await tempDir(), 'out');
    const events: BackupEvent[] = [];
    const summary = await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      concurrency: 'auto',
      backoffBaseMs: 5,
      retries: 10,
      timeoutMs: 5000,
      onEvent: (e) => events.push(e),
    });
    const lanes = events.flatMap((e) => (e.type === 'lanes' ? [e.lanes] : []));
    expect(s.stats.status429).toBeGreaterThan(0);
    expect(s.stats.faultsByKind.cdn5xx).toBeGreaterThan(0);
    // It started at 8: some change was a halving (a 429/503 burst), and it went below where it started.
    const shrinks = lanes.filter((n, i) => n === Math.max(2, Math.floor((i === 0 ? 8 : lanes[i - 1]!) / 2)));
    expect(shrinks.length).toBeGreaterThan(0);
    expect(Math.min(...lanes)).toBeLessThan(8);
    console.log(
      `lanes under 429/503: ${[8, ...lanes].join(' -> ')}; 429s ${s.stats.status429}, 503s ${s.stats.faultsByKind.cdn5xx}`,
    );
    expect(summary.lanes.mode).toBe('auto');
    expect(summary.lanes.final).toBe(lanes.at(-1));
    expect(summary.filesFailed).toBe(0);
    await expectBackupMatches(s, out);
  });

  it('shrink on connection resets and timeouts too, not only on 429/503', async () => {
    const s = await sim({
      assets: 40,
      mainSize: { min: 100_000, max: 300_000 },
      cdnConnectionBytesPerSecond: 2_000_000,
      cdnFaults: { reset: 0.15, stall: 0.05, stallMs: 5000, maxPerFile: 1 },
    });
    const out = path.join(await tempDir(), 'out');
    const lanes: number[] = [];
    const summary = await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      concurrency: 'auto',
      backoffBaseMs: 5,
      retries: 10,
      timeoutMs: 300,
      onEvent: (e) => {
        if (e.type === 'lanes') lanes.push(e.lanes);
      },
    });
    expect(s.stats.faultsByKind.reset).toBeGreaterThan(0);
    expect(s.stats.faultsByKind.stall).toBeGreaterThan(0);
    expect(s.stats.status429 + s.stats.faultsByKind.cdn5xx).toBe(0);
    // Started at 8: some change was a halving, and it went below where it started.
    const shrinks = lanes.filter((n, i) => n === Math.max(2, Math.floor((i === 0 ? 8 : lanes[i - 1]!) / 2)));
    expect(shrinks.length).toBeGreaterThan(0);
    expect(Math.min(...lanes)).toBeLessThan(8);
    console.log(`lanes under resets/stalls: ${[8, ...lanes].join(' -> ')}`);
    expect(summary.filesFailed).toBe(0);
    await expectBackupMatches(s, out);
  });
});
