import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../src/report/progress.js';
import type { BackupEvent, FileJob } from '../src/run/backup.js';

const job = (n: number): FileJob => ({
  assetId: `a${n}`,
  name: `clip ${n}`,
  account: undefined,
  role: 'main',
  index: 0,
  path: `video/clip\u001b[31m${n}.mp4`,
  expectedBytes: 1000,
});

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const run = (events: BackupEvent[], onEvent: (e: BackupEvent) => void) => {
  for (const e of events) onEvent(e);
};

const events: BackupEvent[] = [
  { type: 'file-start', file: job(1) },
  { type: 'file-size', file: job(1), total: 1000, offset: 0 },
  { type: 'file-bytes', file: job(1), bytes: 1000 },
  { type: 'file-done', file: job(1), bytes: 1000, resumedFrom: 0, movedAside: undefined, segments: 1 },
  { type: 'file-start', file: job(2) },
  { type: 'file-failed', file: job(2), code: 'ERR_DOWNLOAD_HTTP', reason: 'answered 503' },
];

describe('progress', () => {
  it('without a terminal: periodic plain lines with counts, and failures named (control characters shown as ?)', async () => {
    const out = capture();
    const progress = await createProgress({ stream: out.stream, tty: false, quiet: false, intervalMs: 20 });
    progress.onEvent({
      type: 'asset',
      asset: { assetId: 'a1' } as never,
      account: undefined,
      files: 2,
    });
    run(events, (e) => progress.onEvent(e));
    await new Promise((r) => setTimeout(r, 60));
    progress.stop();
    expect(out.text()).toContain('failed: video/clip?[31m2.mp4: answered 503\n');
    expect(out.text()).toMatch(/^2\/2 files \| 1\.0 KB \| .*\/s \| ETA .* \| 1 failed$/m);
    expect(out.text()).not.toContain('\u001b');
  });

  it('quiet: nothing but failures', async () => {
    const out = capture();
    const progress = await createProgress({ stream: out.stream, tty: false, quiet: true, intervalMs: 5 });
    run(events, (e) => progress.onEvent(e));
    await new Promise((r) => setTimeout(r, 30));
    progress.stop();
    expect(out.text()).toBe('failed: video/clip?[31m2.mp4: answered 503\n');
  });

  it('item 7: an asset deleted on Runway ends its files: no orphaned count, the last line reaches N/N', async () => {
    const out = capture();
    const progress = await createProgress({
      stream: out.stream,
      tty: false,
      quiet: false,
      intervalMs: 60_000,
    });
    const asset = (id: string) => ({ assetId: id }) as never;
    progress.onEvent({ type: 'asset', asset: asset('a1'), account: undefined, files: 1 });
    progress.onEvent({ type: 'asset', asset: asset('a3'), account: undefined, files: 3 });
    run(events.slice(0, 4), (e) => progress.onEvent(e)); // a1's one file done
    progress.onEvent({ type: 'file-start', file: job(3) });
    progress.onEvent({ type: 'file-gone', file: job(3) }); // a3 is gone: its two previews will never start
    progress.stop();
    expect(out.text()).toMatch(/^4\/4 files \| .* \| 3 gone$/m);
  });

  it('without a terminal, no periodic line while there is nothing to count (a long listing)', async () => {
    const out = capture();
    const progress = await createProgress({ stream: out.stream, tty: false, quiet: false, intervalMs: 10 });
    await new Promise((r) => setTimeout(r, 80));
    expect(out.text()).toBe('');
    progress.onEvent({ type: 'asset', asset: { assetId: 'a1' } as never, account: undefined, files: 1 });
    await new Promise((r) => setTimeout(r, 80));
    progress.stop();
    expect(out.text()).toMatch(/^0\/1 file \| 0 B \| /);
  });

  it('on a terminal, the overall bar counts gone files as finished, like the plain line', async () => {
    const out = capture();
    Object.assign(out.stream, { isTTY: true, columns: 120 });
    const progress = await createProgress({ stream: out.stream, tty: true, quiet: false });
    const asset = (id: string) => ({ assetId: id }) as never;
    progress.onEvent({ type: 'asset', asset: asset('a1'), account: undefined, files: 1 });
    progress.onEvent({ type: 'asset', asset: asset('a3'), account: undefined, files: 3 });
    run(events.slice(0, 4), (e) => progress.onEvent(e));
    progress.onEvent({ type: 'file-start', file: job(3) });
    progress.onEvent({ type: 'file-gone', file: job(3) });
    // The bars are drawn on timers (and cleared at stop): let them draw first.
    await new Promise((r) => setTimeout(r, 600));
    progress.stop();
    expect(out.text()).toMatch(/ 4\/4 files \| .* \| 3 gone/);
    expect(out.text()).not.toMatch(/ 1\/4 files/);
  });

  it('item 11: without a terminal, a line as soon as bytes flow (with a real rate), and a last one at stop', async () => {
    const out = capture();
    // An interval far longer than the test: every line seen comes from the start or the stop.
    const progress = await createProgress({
      stream: out.stream,
      tty: false,
      quiet: false,
      intervalMs: 60_000,
    });
    progress.onEvent({ type: 'asset', asset: { assetId: 'a1' } as never, account: undefined, files: 1 });
    const big = { ...job(1), expectedBytes: 20_000_000 };
    progress.onEvent({ type: 'file-start', file: big });
    await new Promise((r) => setTimeout(r, 300));
    progress.onEvent({ type: 'file-size', file: big, total: 20_000_000, offset: 0 });
    progress.onEvent({ type: 'file-bytes', file: big, bytes: 14_000_000 });
    const first = out.text();
    expect(first).toMatch(/^0\/1 file \| 14 MB \| [\d.]+ MB\/s \| ETA \d+s$/m);
    progress.onEvent({ type: 'file-bytes', file: big, bytes: 6_000_000 });
    progress.onEvent({
      type: 'file-done',
      file: big,
      bytes: 20_000_000,
      resumedFrom: 0,
      movedAside: undefined,
      segments: 1,
    });
    await new Promise((r) => setTimeout(r, 100));
    progress.stop();
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^1\/1 file \| 20 MB \| [\d.]+ MB\/s/);
    expect(out.text()).not.toContain('0 B/s');
  });
});

describe('the first plain line of a run', () => {
  it('gives no ETA from the first few kilobytes, which would promise minutes for a run of seconds', async () => {
    const out = capture();
    const progress = await createProgress({
      stream: out.stream,
      tty: false,
      quiet: false,
      intervalMs: 60_000,
    });
    const file = job(1);
    progress.onEvent({
      type: 'asset',
      asset: { assetId: file.assetId } as never,
      account: undefined,
      files: 90,
    });
    progress.onEvent({ type: 'file-size', file, total: 500_000, offset: 0 });
    progress.onEvent({ type: 'file-bytes', file, bytes: 30_000 });
    progress.stop();
    expect(out.text().split('\n')[0]).toMatch(/^0\/90 files \| 30 KB \| .*\/s \| ETA --$/);
  });
});
