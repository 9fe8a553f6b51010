import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BackupEvent, FileJob } from '../src/backup.js';
import { createProgress } from '../src/progress.js';

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
});
