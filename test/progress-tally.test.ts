import type cliProgress from 'cli-progress';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressTally } from '../src/report/progress-tally.js';
import type { BackupEvent, FileJob } from '../src/run/backup.js';

const job = (
  asset: string,
  role: FileJob['role'] = 'main',
  expectedBytes: number | undefined = 1000,
): FileJob => ({
  assetId: asset,
  name: asset,
  account: undefined,
  role,
  index: 0,
  path: `video/${asset}-${role}.mp4`,
  expectedBytes,
});

const asset = (id: string, files: number): BackupEvent => ({
  type: 'asset',
  asset: { assetId: id } as never,
  account: undefined,
  files,
});

const done = (file: FileJob): BackupEvent => ({
  type: 'file-done',
  file,
  bytes: 1000,
  resumedFrom: 0,
  movedAside: undefined,
  segments: 1,
});

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ProgressTally', () => {
  it('counts every way a file ends, a gone asset ending its files not started yet', () => {
    const tally = new ProgressTally();
    const a = job('a');
    const b = job('b');
    const c = job('c');
    for (const event of [
      asset('a', 1),
      asset('b', 1),
      asset('c', 3),
      { type: 'lanes', lanes: 4 },
      { type: 'file-start', file: a },
      { type: 'file-bytes', file: a, bytes: 1000 },
      done(a),
      { type: 'file-start', file: b },
      { type: 'file-failed', file: b, code: 'ERR_DOWNLOAD_HTTP', reason: 'answered 503' },
      { type: 'file-start', file: c },
      { type: 'file-gone', file: c },
    ] as BackupEvent[]) {
      tally.count(event);
    }
    expect(tally.finishedFiles()).toBe(5);
    expect(tally.totals).toMatchObject({ files: 5, done: 1, failed: 1, gone: 3, bytes: 1000, lanes: 4 });
    expect(tally.active.size).toBe(0);
    vi.advanceTimersByTime(2000);
    expect(tally.summaryLine()).toBe('5/5 files | 1.0 KB | 500 B/s | ETA -- | 1 failed | 3 gone | 4 lanes');
  });

  it('gives a bar to each transfer when bars are drawn, and takes it away when the file ends or restarts', () => {
    const tally = new ProgressTally();
    const created: FileJob[] = [];
    const removed: unknown[] = [];
    const totals: number[] = [];
    tally.bars = {
      create(file) {
        created.push(file);
        return { setTotal: (n: number) => totals.push(n) } as unknown as cliProgress.SingleBar;
      },
      remove: (bar) => removed.push(bar),
    };
    const a = job('a');
    tally.count(asset('a', 1));
    tally.count({ type: 'file-start', file: a });
    const first = tally.active.get(a)?.bar;
    tally.count({ type: 'file-start', file: a }); // retried with a fresh URL
    tally.count({ type: 'file-size', file: a, total: 2000, offset: 500 });
    expect(tally.active.get(a)).toMatchObject({ bytes: 500, total: 2000 });
    const second = tally.active.get(a)?.bar;
    tally.count(done(a));
    expect(created).toEqual([a, a]);
    expect(totals).toEqual([2000]);
    expect(removed).toEqual([first, second]);
  });

  it('estimates from the announced sizes while nothing has finished, once a megabyte has moved', () => {
    const tally = new ProgressTally();
    const big = job('a', 'main', 4_000_000);
    tally.count(asset('a', 1));
    tally.count({ type: 'file-start', file: big });
    tally.count({ type: 'file-bytes', file: big, bytes: 500_000 });
    vi.advanceTimersByTime(1000);
    expect(tally.summaryLine()).toBe('0/1 file | 500 KB | 500 KB/s | ETA --');
    tally.count({ type: 'file-bytes', file: big, bytes: 1_500_000 });
    vi.advanceTimersByTime(1000);
    // 2 MB left at 1 MB/s.
    expect(tally.summaryLine()).toBe('0/1 file | 2.0 MB | 1.0 MB/s | ETA 2s');
  });
});
