// Written chunks are freed a little behind, and only when nothing else can be reading them: a buffer freed too
// early reads as empty, which in a backup would be a file with missing bytes.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkReleaser, chunkReleaser } from '../src/engine/chunk-release.js';
import { FileTransfer, type ResumeState } from '../src/engine/transfer.js';
import type { TransportResponse } from '../src/engine/transport.js';
import { backup } from '../src/run/backup.js';
import { type TestServer, withServer } from './helpers/server.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const fresh = (size: number, fill: number) => Buffer.alloc(size, fill);

describe('ChunkReleaser', () => {
  it('frees each buffer once `delay` newer ones came, oldest first, and leaves the newest alone', () => {
    const releaser = new ChunkReleaser(2);
    const chunks = [1, 2, 3, 4, 5].map((n) => fresh(65_536, n));
    for (const chunk of chunks) releaser.release(chunk);
    expect(releaser.released).toBe(3);
    expect(chunks.map((c) => c.byteLength)).toEqual([0, 0, 0, 65_536, 65_536]);
    // The two held ones are intact, byte for byte.
    expect(chunks[3]?.every((b) => b === 4)).toBe(true);
    expect(chunks[4]?.every((b) => b === 5)).toBe(true);
  });

  it('never frees part of a buffer, a shared one, or an empty one: other views may still be in use', () => {
    const releaser = new ChunkReleaser(1);
    const whole = fresh(4096, 9);
    const tail = whole.subarray(100); // a body that starts after the headers in the same read
    const head = whole.subarray(0, 1000); // a chunk cut at a segment's end
    const pooled = Buffer.from('a small chunk from Node’s shared pool');
    const shared = Buffer.from(new SharedArrayBuffer(1024));
    for (const chunk of [tail, head, pooled, shared, Buffer.alloc(0), tail, head, pooled, shared]) {
      releaser.release(chunk);
    }
    expect(releaser.released).toBe(0);
    expect(whole.byteLength).toBe(4096);
    expect(pooled.toString()).toBe('a small chunk from Node’s shared pool');
    expect(shared.byteLength).toBe(1024);
  });

  it('drain frees everything it holds at once, and it goes on working afterwards', () => {
    const releaser = new ChunkReleaser(4);
    const chunks = [1, 2, 3].map((n) => fresh(1024, n));
    for (const chunk of chunks) releaser.release(chunk);
    expect(releaser.held).toBe(3);
    expect(releaser.released).toBe(0);
    releaser.drain();
    expect(releaser.held).toBe(0);
    expect(releaser.released).toBe(3);
    expect(chunks.map((c) => c.byteLength)).toEqual([0, 0, 0]);
    const later = fresh(1024, 4);
    releaser.release(later);
    expect(releaser.held).toBe(1);
    expect(later.byteLength).toBe(1024);
  });

  it('takes the same buffer twice, or one already detached, without throwing', () => {
    const releaser = new ChunkReleaser(1);
    const chunk = fresh(1024, 1);
    releaser.release(chunk);
    releaser.release(chunk); // frees the first hold
    releaser.release(fresh(1024, 2)); // the second hold is the same, already detached buffer
    expect(chunk.byteLength).toBe(0);
    expect(releaser.released).toBe(1);
  });
});

describe('ChunkReleaser.received', () => {
  it('asks for one young-generation collection per `everyBytes` received, carrying the remainder over', () => {
    let calls = 0;
    const releaser = new ChunkReleaser(4, { collectYoung: () => calls++, everyBytes: 1000 });
    releaser.received(999);
    expect(calls).toBe(0);
    releaser.received(1);
    expect(calls).toBe(1);
    for (let i = 0; i < 25; i++) releaser.received(100); // 2,500 bytes: two more, 500 left over
    expect(calls).toBe(3);
    releaser.received(499);
    expect(calls).toBe(3);
    releaser.received(1);
    expect(calls).toBe(4);
    expect(releaser.collections).toBe(4);
  });
});

describe('backup()', () => {
  it('leaves no written chunk held once it returns: a process that goes on keeps none of them', async () => {
    const s = await sim({ assets: 3, mediaMix: { video: 1, image: 0, audio: 0 } });
    const asset = s.assets()[0]!;
    s.mutateFile(asset.assetId, 'main', 0, { size: 4 * 1024 * 1024 });
    const out = await tempDir();
    const before = chunkReleaser.released;
    const summary = await backup({ token: s.token, baseUrl: s.url, out, concurrency: 2, backoffBaseMs: 5 });
    expect(summary.filesFailed).toBe(0);
    expect(summary.filesDownloaded).toBeGreaterThan(0);
    expect(chunkReleaser.released).toBeGreaterThan(before);
    expect(chunkReleaser.held).toBe(0);
  });
});

describe('a transfer frees its chunks only when the transport says they are its own', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  const store = () => {
    let state: ResumeState | undefined;
    return {
      get: () => state,
      set: (next: ResumeState | undefined) => {
        state = next;
      },
    };
  };
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('nodeTransport against a real server: chunks are freed, and the file and its hash are exact', async () => {
    const dir = await tempDir();
    // 8 MiB of varying bytes: a chunk freed before it was written or hashed would leave a hole or a wrong hash.
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
    const s = await withServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length, etag: '"x"' });
      res.end(body);
    });
    servers.push(s);
    const before = chunkReleaser.released;
    const collections = chunkReleaser.collections;
    const transfer = new FileTransfer({
      dest: path.join(dir, 'clip.mp4'),
      url: `${s.url}/clip.mp4`,
      resumeStore: store(),
    });
    await transfer.run();
    const result = await transfer.result;
    const onDisk = await fs.readFile(path.join(dir, 'clip.mp4'));
    expect(onDisk.equals(body)).toBe(true);
    expect(result.sha256).toBe(sha256(body));
    expect(chunkReleaser.released).toBeGreaterThan(before);
    // Every received byte counted: 8 MiB is two young-generation collections of 4 MiB, whatever was left over.
    expect(chunkReleaser.collections - collections).toBe(2);
  });

  it('a transport that hands out one buffer again and again (not its to free): every copy reaches the file', async () => {
    const dir = await tempDir();
    const block = fresh(65_536, 0x5a);
    const before = chunkReleaser.released;
    const collections = chunkReleaser.collections;
    const transport = async (): Promise<TransportResponse> => ({
      status: 200,
      headers: { 'content-length': String(block.length * 128) },
      body: (async function* () {
        for (let i = 0; i < 128; i++) yield block;
      })(),
      destroy() {},
    });
    const transfer = new FileTransfer({
      dest: path.join(dir, 'a.bin'),
      url: 'http://127.0.0.1:9/a.bin',
      transport,
      resumeStore: store(),
    });
    await transfer.run();
    const result = await transfer.result;
    const expected = Buffer.concat(Array.from({ length: 128 }, () => block));
    expect(block.byteLength).toBe(65_536);
    expect((await fs.readFile(path.join(dir, 'a.bin'))).equals(expected)).toBe(true);
    expect(result.sha256).toBe(sha256(expected));
    expect(chunkReleaser.released).toBe(before);
    // Not freed, but counted: Node's read buffers are behind any transport's chunks. 128 x 64 KiB = 8 MiB.
    expect(chunkReleaser.collections - collections).toBe(2);
  });
});
