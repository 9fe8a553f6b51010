import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLanes } from '../src/engine/lanes.js';
import { parseRate, parseRateSchedule, RateLimiter, rateAt } from '../src/engine/rate-limit.js';
import { Scheduler } from '../src/engine/scheduler.js';
import { RUN_RECORD_NAME, type RunRecord } from '../src/report/run-record.js';
import { backup } from '../src/run/backup.js';
import { expectBackupMatches } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

describe('issue 20, item 3: --limit-rate', () => {
  it('reads rates with SI and binary suffixes, and timetables as rclone writes them', () => {
    expect(parseRate('800k')).toBe(800_000);
    expect(parseRate('5M')).toBe(5_000_000);
    expect(parseRate('1.5Mi')).toBe(1_572_864);
    expect(parseRate('64Ki')).toBe(65_536);
    expect(parseRate('2MB/s')).toBe(2_000_000);
    expect(parseRate('off')).toBeUndefined();
    for (const bad of ['', 'fast', '5X', '-1M', '100']) expect(() => parseRate(bad), bad).toThrow(RangeError);
    const table = parseRateSchedule('19:00,off 08:00,2M');
    expect(table).toEqual([
      { minute: 480, rate: 2_000_000 },
      { minute: 1140, rate: undefined },
    ]);
    const at = (h: number, m: number) => rateAt(table, new Date(2026, 0, 1, h, m));
    expect(at(7, 59)).toBeUndefined(); // before the first time of the day: the last entry, wrapped from yesterday
    expect(at(8, 0)).toBe(2_000_000);
    expect(at(18, 59)).toBe(2_000_000);
    expect(at(19, 0)).toBeUndefined();
    expect(() => parseRateSchedule('8h,2M')).toThrow(RangeError);
    expect(() => parseRateSchedule('08:00,2M 08:00,1M')).toThrow(RangeError);
  });

  it('the bucket never lets more through than rate x time + one burst, and switches at a timetable boundary', async () => {
    let now = new Date(2026, 0, 1, 7, 59, 59).getTime();
    const limiter = new RateLimiter({
      schedule: parseRateSchedule('08:00,off 20:00,1M'),
      burstBytes: 100_000,
      now: () => now,
    });
    // 07:59:59 is under the 20:00 entry (1 MB/s): 10 chunks of 100 kB take 0.9 s beyond the burst.
    const start = now;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) waits.push(limiter.take(100_000));
    expect(limiter.takeLimited()).toBe(true);
    now += 1000; // 08:00:00: no limit any more
    await limiter.take(10_000_000); // returns at once
    expect(limiter.takeLimited()).toBe(false);
    expect(now - start).toBe(1000);
    await Promise.all(waits);
  });

  it('the lane controller does not grow while the budget holds the throughput', async () => {
    /** Busy lanes and a rising throughput for a while: the lane count afterwards. */
    async function lanesAfter(limited: boolean): Promise<number> {
      const lanes = createLanes('auto', { initial: 4 });
      const scheduler = new Scheduler({ lanes, tickMs: 10, split: false, rateLimited: () => limited });
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const jobs = Array.from({ length: 40 }, () => scheduler.run(() => gate));
      let rate = 1_000_000;
      const feed = setInterval(() => {
        rate *= 2;
        lanes.addBytes(rate);
      }, 5);
      await new Promise((resolve) => setTimeout(resolve, 300));
      clearInterval(feed);
      const limit = lanes.limit;
      open();
      await Promise.all(jobs);
      scheduler.close();
      return limit;
    }
    expect(await lanesAfter(false)).toBeGreaterThan(4); // the same load grows the lanes when nothing limits it
    expect(await lanesAfter(true)).toBe(4);
  });

  it('--limit-rate 2M on a 40 MB backup stays within the budget (a burst at most) and not far below it', async () => {
    const s = await sim({ assets: 10, mediaMix: { video: 1 }, uploadShare: 0, fixedSizes: 4_000_000 });
    const out = await tempDir();
    const rate = 2_000_000;
    const samples: { t: number; bytes: number }[] = [];
    let bytes = 0;
    const started = performance.now();
    const summary = await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      previews: false,
      limitRate: parseRateSchedule('2M'),
      onEvent: (e) => {
        if (e.type !== 'file-bytes') return;
        bytes += e.bytes;
        samples.push({ t: (performance.now() - started) / 1000, bytes });
      },
    });
    const seconds = (performance.now() - started) / 1000;
    expect(summary.bytesDownloaded).toBe(40_000_000);
    // The budget: never more than rate x time, plus the bucket's burst (a quarter second of the rate) and one
    // chunk per lane that was reading when it was measured.
    const slack = rate / 4 + 32 * 65_536;
    const over = samples.filter((p) => p.bytes > rate * p.t + slack);
    expect(over, JSON.stringify(over.slice(0, 3))).toEqual([]);
    const achieved = summary.bytesDownloaded / seconds;
    console.log(`--limit-rate 2M: ${(achieved / 1e6).toFixed(3)} MB/s over ${seconds.toFixed(1)} s`);
    expect(achieved).toBeLessThanOrEqual(rate * 1.05);
    expect(achieved).toBeGreaterThan(rate * 0.5);
    // Lanes did not grow beyond the start: more connections cannot beat the budget.
    expect(summary.lanes.peak).toBe(8);
  }, 120_000);
});

describe('issue 20, item 3: --max-duration', () => {
  it('stops at its time, exits 75, is recorded as stopped; the next run finishes byte-identical', async () => {
    const s = await sim({ assets: 10, mediaMix: { video: 1 }, uploadShare: 0, fixedSizes: 4_000_000 });
    const out = await tempDir();
    const args = ['backup', '--out', out, '-q', '--no-previews', '--no-gallery'];
    const first = await runCli([...args, '--limit-rate', '2M', '--max-duration', '5s'], env(s));
    expect(first.code).toBe(75);
    expect(first.stderr).toMatch(/time limit reached \(--max-duration 5s\)/);
    const rec = JSON.parse(await fs.readFile(path.join(out, RUN_RECORD_NAME), 'utf8')) as RunRecord;
    expect(rec.outcome).toBe('stopped');
    expect(rec.summary?.filesDownloaded ?? 0).toBeLessThan(10);
    const status = await runCli(['status', '--out', out]);
    expect(status.stdout).toMatch(/^stopped at its time limit: /);
    expect(status.code).toBe(1);
    const second = await runCli(args, env(s));
    expect(second.code).toBe(0);
    await expectBackupMatches(s, out, { previews: false });
  }, 60_000);

  it('a bad --limit-rate or --max-duration is one line, exit 2', async () => {
    for (const [flag, value] of [
      ['--limit-rate', 'fast'],
      ['--limit-rate', '25:00,1M'],
      ['--max-duration', '10'],
      ['--max-duration', '0s'],
    ] as const) {
      const result = await runCli(['backup', flag, value], { USEAPI_TOKEN: 'tok' });
      expect(result.code, value).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^runway-backup: Expected \`${flag}\` to be .*\\n$`));
    }
  });
});
