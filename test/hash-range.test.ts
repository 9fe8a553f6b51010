import type { Hash } from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashRange } from '../src/fsutil.js';
import { tempDir } from './helpers/tmp.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('hashRange', () => {
  it('hashes exactly bytes [start, end), across many reads and at odd offsets', async () => {
    const bytes = randomBytes(1_000_003);
    const file = path.join(await tempDir(), 'f.part');
    await fs.writeFile(file, bytes);
    for (const [start, end] of [
      [0, bytes.length],
      [1, bytes.length - 1],
      [262_143, 262_145],
      [300_000, 900_001],
      [999_999, 1_000_003],
    ] as const) {
      const hash = createHash('sha256');
      await hashRange(file, hash, start, end);
      expect(hash.digest('hex')).toBe(sha(bytes.subarray(start, end)));
    }
  });

  it('continues a hash already fed with the bytes before start', async () => {
    const bytes = randomBytes(600_000);
    const file = path.join(await tempDir(), 'g.part');
    await fs.writeFile(file, bytes);
    const hash = createHash('sha256').update(bytes.subarray(0, 123_456));
    await hashRange(file, hash, 123_456, bytes.length);
    expect(hash.digest('hex')).toBe(sha(bytes));
  });

  it('an empty range reads nothing, not even a missing file', async () => {
    const hash = createHash('sha256');
    await hashRange(path.join(await tempDir(), 'absent'), hash, 10, 10);
    expect(hash.digest('hex')).toBe(sha(Buffer.alloc(0)));
  });

  it('a file shorter than the range ends the hash at its end (the caller checks sizes)', async () => {
    const bytes = randomBytes(1000);
    const file = path.join(await tempDir(), 'short.part');
    await fs.writeFile(file, bytes);
    const hash = createHash('sha256');
    await hashRange(file, hash, 0, 5000);
    expect(hash.digest('hex')).toBe(sha(bytes));
  });

  it('to Infinity means to the end of the file', async () => {
    const bytes = randomBytes(700_001);
    const file = path.join(await tempDir(), 'all.part');
    await fs.writeFile(file, bytes);
    const hash = createHash('sha256');
    await hashRange(file, hash, 5, Number.POSITIVE_INFINITY);
    expect(hash.digest('hex')).toBe(sha(bytes.subarray(5)));
  });

  it('a signal aborted mid-file stops it between reads with the AbortError of an interruption', async () => {
    const file = path.join(await tempDir(), 'long.part');
    await fs.writeFile(file, randomBytes(2_000_000));
    const controller = new AbortController();
    let updates = 0;
    // A hash that pulls the plug as soon as the first piece arrives (Ctrl-C while verify hashes a large file).
    const hash = {
      update() {
        updates++;
        controller.abort();
        return hash;
      },
    } as unknown as Hash;
    const error = await hashRange(file, hash, 0, Number.POSITIVE_INFINITY, controller.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'AbortError', code: 'ERR_ABORTED' });
    expect(updates).toBe(1);
  });
});
