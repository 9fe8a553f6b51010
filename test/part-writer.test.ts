// The .part as a transfer's lanes write it (src/engine/part-writer.ts), on a real disk: one handle, the running
// hash, the background flush, and the final hash of bytes written out of order.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodePartIO, type PartHandle, type PartIO } from '../src/engine/part-file.js';
import { PartWriter } from '../src/engine/part-writer.js';
import { Superseded } from '../src/engine/transfer-errors.js';
import { tempDir } from './helpers/tmp.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const bytes = (size: number, seed: number) =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i + seed) & 0xff));
const live = () => new AbortController().signal;

/** nodePartIO, counting opens and datasyncs. */
function countingIO() {
  const counts = { opens: 0, datasyncs: 0 };
  const io: PartIO = {
    async open(file, fresh) {
      counts.opens++;
      const handle = await nodePartIO.open(file, fresh);
      return {
        ...handle,
        datasync: async () => {
          counts.datasyncs++;
          await handle.datasync();
        },
      } satisfies PartHandle;
    },
  };
  return { io, counts };
}

describe('PartWriter: opening the .part', () => {
  it('opens the .part once for lanes that ask together, and only when asked', async () => {
    const file = path.join(await tempDir(), 'a.part');
    const { io, counts } = countingIO();
    const writer = new PartWriter(io, file);
    await expect(fs.stat(file)).rejects.toThrow();
    const [a, b] = await Promise.all([writer.open(), writer.open()]);
    expect(a).toBe(b);
    expect(counts.opens).toBe(1);
    await writer.close();
  });

  it('creates the .part empty unless told to keep it', async () => {
    const dir = await tempDir();
    const fresh = path.join(dir, 'fresh.part');
    const kept = path.join(dir, 'kept.part');
    await fs.writeFile(fresh, 'old bytes');
    await fs.writeFile(kept, 'old bytes');
    const emptied = new PartWriter(nodePartIO, fresh);
    await emptied.open();
    const keeper = new PartWriter(nodePartIO, kept);
    keeper.keep();
    await keeper.open();
    // Closed, not left to the garbage collector (Node warns of each handle it closes: DEP0137).
    await emptied.close();
    await keeper.close();
    expect(await fs.readFile(fresh, 'utf8')).toBe('');
    expect(await fs.readFile(kept, 'utf8')).toBe('old bytes');
  });
});

describe('PartWriter: writing and hashing', () => {
  it('hashes in order what it writes in order, and the rest from the disk at the end', async () => {
    const file = path.join(await tempDir(), 'a.part');
    const writer = new PartWriter(nodePartIO, file);
    await writer.open();
    const head = bytes(1000, 1);
    const tail = bytes(1000, 2);
    // The second segment lands first: it cannot be hashed yet, and hashTo reads it back.
    await writer.write(tail, 1000, live());
    await writer.write(head, 0, live());
    await writer.hashTo(2000, false);
    const sha = await writer.seal();
    expect(sha).toBe(sha256(Buffer.concat([head, tail])));
    expect((await fs.readFile(file)).equals(Buffer.concat([head, tail]))).toBe(true);
  });

  it('continues the hash of a kept prefix, and cuts what lies past the end when told to', async () => {
    const file = path.join(await tempDir(), 'a.part');
    const old = bytes(3000, 5);
    await fs.writeFile(file, old);
    const writer = new PartWriter(nodePartIO, file);
    writer.keep();
    await writer.hashPrefix(1000);
    await writer.open();
    const rest = bytes(500, 9);
    await writer.write(rest, 1000, live());
    await writer.hashTo(1500, true);
    const expected = Buffer.concat([old.subarray(0, 1000), rest]);
    expect(await writer.seal()).toBe(sha256(expected));
    expect((await fs.readFile(file)).equals(expected)).toBe(true);
  });

  it('starts over: empty file, fresh hash', async () => {
    const file = path.join(await tempDir(), 'a.part');
    const writer = new PartWriter(nodePartIO, file);
    await writer.open();
    await writer.write(bytes(800, 1), 0, live());
    await writer.quiesce();
    writer.rehash();
    await writer.empty();
    expect((await fs.stat(file)).size).toBe(0);
    const again = bytes(300, 7);
    await writer.write(again, 0, live());
    await writer.hashTo(300, false);
    expect(await writer.seal()).toBe(sha256(again));
  });

  it('a write whose file was restarted meanwhile is Superseded and left out of the hash', async () => {
    const file = path.join(await tempDir(), 'a.part');
    const writer = new PartWriter(nodePartIO, file);
    await writer.open();
    const generation = new AbortController();
    const write = writer.write(bytes(100, 1), 0, generation.signal);
    generation.abort();
    await expect(write).rejects.toBeInstanceOf(Superseded);
    const next = bytes(100, 2);
    // Nothing was hashed: the same position hashes anew.
    await writer.write(next, 0, live());
    await writer.hashTo(100, false);
    expect(await writer.seal()).toBe(sha256(next));
  });

  it('a write after the .part was closed is Superseded', async () => {
    const writer = new PartWriter(nodePartIO, path.join(await tempDir(), 'a.part'));
    await writer.open();
    await writer.close();
    await expect(writer.write(bytes(10, 1), 0, live())).rejects.toBeInstanceOf(Superseded);
  });
});

describe('PartWriter: flushing', () => {
  it('flushes in the background every `every` bytes, one flush at a time', async () => {
    const { io, counts } = countingIO();
    const writer = new PartWriter(io, path.join(await tempDir(), 'a.part'));
    await writer.open();
    let flushes = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const flush = async () => {
      flushes++;
      expect(await writer.datasync()).toBe(true);
      await held;
    };
    writer.written(600, 1000, flush);
    expect(flushes).toBe(0);
    writer.written(600, 1000, flush);
    expect(flushes).toBe(1);
    // While that flush is running, no second one starts, however much is written.
    writer.written(5000, 1000, flush);
    expect(flushes).toBe(1);
    release();
    await writer.hashTo(0, false); // waits for the background flush
    writer.written(1000, 1000, flush);
    expect(flushes).toBe(2);
    expect(counts.datasyncs).toBe(2);
    await writer.close();
  });

  it('reports a failed flush instead of throwing it', async () => {
    const failing: PartIO = {
      async open(file, fresh) {
        const handle = await nodePartIO.open(file, fresh);
        return { ...handle, datasync: () => Promise.reject(new Error('EIO')) };
      },
    };
    const writer = new PartWriter(failing, path.join(await tempDir(), 'a.part'));
    await writer.open();
    expect(await writer.datasync()).toBe(false);
    await writer.close();
  });
});
