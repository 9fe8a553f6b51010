// Receiving one answer (src/engine/receive.ts) against a plan and an in-memory .part: what is written, what is
// compared, what is put on record, and which answers are refused before a byte lands.
import { describe, expect, it } from 'vitest';
import type { PartHandle } from '../src/engine/part-file.js';
import { checkStatus, type Receiver, receive } from '../src/engine/receive.js';
import { OVERLAP_BYTES, type ResumeState, type Segment, SegmentPlan } from '../src/engine/segments.js';
import { StartOver, Superseded } from '../src/engine/transfer-errors.js';
import type { ThrottleReason } from '../src/engine/transfer-types.js';
import type { TransportResponse } from '../src/engine/transport.js';
import { DownloadError } from '../src/errors.js';
import { RateGate } from '../src/retry.js';

/** `size` bytes, byte i being (i * 7 + seed) mod 256. */
const bytes = (size: number, seed = 0) =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff));

function answer(status: number, headers: Record<string, string>, body: Buffer[] = []): TransportResponse {
  return {
    status,
    headers,
    body: (async function* () {
      yield* body;
    })(),
    destroy() {},
  };
}

/** A Receiver over an in-memory .part, logging what the transfer is asked to do, in order. */
function receiver(plan = new SegmentPlan(), disk: Buffer = Buffer.alloc(0), expectedSize?: number) {
  const log: string[] = [];
  const recorded: (ResumeState | undefined)[] = [];
  const throttles: ThrottleReason[] = [];
  const part = { bytes: disk };
  const handle: PartHandle = {
    async write(data, position) {
      const end = position + data.length;
      if (part.bytes.length < end)
        part.bytes = Buffer.concat([part.bytes, Buffer.alloc(end - part.bytes.length)]);
      part.bytes.set(data, position);
    },
    async read(length, position) {
      return Buffer.from(part.bytes.subarray(position, position + length));
    },
    async datasync() {},
    async sync() {},
    async truncate() {},
    async close() {},
  };
  const gate = new RateGate();
  const rx: Receiver = {
    plan,
    url: () => 'https://cdn.example.test/a.mp4?sig=secret',
    gate,
    onThrottle: (reason) => throttles.push(reason),
    checkSize(total) {
      if (expectedSize !== undefined && total !== undefined && total !== expectedSize) {
        throw new DownloadError('ERR_DOWNLOAD_SIZE', 'size', { retryable: false });
      }
    },
    async record(state) {
      // Slow, as a journal append is: the first byte must wait for it.
      await new Promise((resolve) => setTimeout(resolve, 5));
      recorded.push(state);
      log.push('recorded');
    },
    announce(seg, ranged) {
      log.push(`announce ${seg.pos} ${ranged}`);
    },
    async open() {
      log.push('open');
      return handle;
    },
    async write(data, seg, voided) {
      await handle.write(data, seg.pos);
      if (voided.aborted) throw new Superseded();
      log.push(`write ${seg.pos}+${data.length}`);
      seg.pos += data.length;
    },
  };
  return { rx, log, recorded, throttles, part, gate };
}

const live = () => new AbortController().signal;

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('checkStatus', () => {
  const { rx, throttles, gate } = receiver();

  it('lets a 200 and a 206 through', () => {
    expect(() => checkStatus(rx, 200, {})).not.toThrow();
    expect(() => checkStatus(rx, 206, {})).not.toThrow();
  });

  it('starts the file over on a 416', () => {
    expect(() => checkStatus(rx, 416, {})).toThrow(StartOver);
  });

  it('retries a 429 after its Retry-After, capped to a minute, pausing everyone through the gate', () => {
    let error: unknown;
    try {
      checkStatus(rx, 429, { 'retry-after': '3600' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ code: 'ERR_DOWNLOAD_RATE_LIMITED', retryable: true, retryAfterMs: 60_000 });
    expect(gate.pauses).toBe(1);
    expect(throttles).toContain('rate-limited');
    expect(() => checkStatus(rx, 429, { 'retry-after': '2' })).toThrow(
      expect.objectContaining({ retryAfterMs: 2000 }),
    );
  });

  it('gives up on a 404 or 410 (gone) and on other 4xx; retries 5xx and 408 and backs the lanes off', () => {
    for (const status of [404, 410]) {
      expect(() => checkStatus(rx, status, {})).toThrow(
        expect.objectContaining({ code: 'ERR_DOWNLOAD_GONE', retryable: false, status }),
      );
    }
    expect(() => checkStatus(rx, 401, {})).toThrow(
      expect.objectContaining({ code: 'ERR_DOWNLOAD_HTTP', retryable: false, status: 401 }),
    );
    for (const status of [500, 503, 408]) {
      expect(() => checkStatus(rx, status, {})).toThrow(
        expect.objectContaining({ code: 'ERR_DOWNLOAD_HTTP', retryable: true, status }),
      );
    }
    expect(throttles.filter((t) => t === 'server-error')).toHaveLength(3);
  });

  it('names the URL without its signature', () => {
    expect(() => checkStatus(rx, 503, {})).toThrow('https://cdn.example.test/a.mp4?… answered 503');
  });
});

describe('receive: a whole (200) answer', () => {
  it('takes a fresh whole answer as the object, on record before the first byte, and writes it all', async () => {
    const plan = new SegmentPlan();
    const seg = plan.startOver();
    const { rx, log, recorded, part } = receiver(plan);
    const body = bytes(3000);
    const headers = { 'content-length': '3000', etag: '"v1"', 'accept-ranges': 'bytes' };
    await receive(rx, seg, live(), answer(200, headers, [body.subarray(0, 1000), body.subarray(1000)]), 0);
    expect(log).toEqual(['recorded', 'announce 0 false', 'open', 'write 0+1000', 'write 1000+2000']);
    expect(recorded).toEqual([{ validator: '"v1"', total: 3000 }]);
    expect([plan.total, plan.validator, plan.rangeOk, seg.end, seg.pos]).toEqual([
      3000,
      '"v1"',
      true,
      3000,
      3000,
    ]);
    expect(part.bytes.equals(body)).toBe(true);
  });

  it('records nothing for a file it could never continue (no validator, no size); the body’s end is its size', async () => {
    const plan = new SegmentPlan();
    const seg = plan.startOver();
    const { rx, recorded, part } = receiver(plan);
    await receive(rx, seg, live(), answer(200, {}, [bytes(500)]), 0);
    expect(recorded).toEqual([undefined]);
    expect([plan.total, seg.end, plan.rangeOk]).toEqual([500, 500, false]);
    expect(part.bytes.length).toBe(500);
  });

  it('refuses a size other than the API’s before it opens the .part', async () => {
    const plan = new SegmentPlan();
    const seg = plan.startOver();
    const { rx, log } = receiver(plan, Buffer.alloc(0), 2000);
    const error = await failure(
      receive(rx, seg, live(), answer(200, { 'content-length': '3000' }, [bytes(3000)]), 0),
    );
    expect(error).toMatchObject({ code: 'ERR_DOWNLOAD_SIZE' });
    expect(log).toEqual([]);
  });

  it('keeps what a short body brought, and asks for a retry', async () => {
    const plan = new SegmentPlan();
    const seg = plan.startOver();
    const { rx, part } = receiver(plan);
    const error = await failure(
      receive(rx, seg, live(), answer(200, { 'content-length': '3000', etag: '"v1"' }, [bytes(1200)]), 0),
    );
    expect(error).toMatchObject({
      code: 'ERR_DOWNLOAD_SHORT',
      retryable: true,
      message: 'got 1200 of 3000 bytes',
    });
    expect(seg.pos).toBe(1200);
    expect(part.bytes.length).toBe(1200);
  });

  it('skips what it has when the server ignores Range for the same object, and never splits the file again', async () => {
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: '"v1"', total: 3000, bytes: 1000 });
    const seg = plan.segments[0]!;
    const full = bytes(3000);
    const { rx, log, part } = receiver(plan, Buffer.from(full.subarray(0, 1000)));
    const headers = { 'content-length': '3000', etag: '"v1"' };
    await receive(rx, seg, live(), answer(200, headers, [full.subarray(0, 700), full.subarray(700)]), 0);
    expect(log).toEqual(['announce 1000 false', 'open', 'write 1000+2000']);
    expect(part.bytes.equals(full)).toBe(true);
    expect(plan.noSplit).toBe(true);
  });

  it('starts over when a resumed .part gets a whole answer of another object', async () => {
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: '"v1"', total: 3000, bytes: 1000 });
    const { rx, log } = receiver(plan, bytes(1000));
    const headers = { 'content-length': '3000', etag: '"v2"' };
    expect(
      await failure(receive(rx, plan.segments[0]!, live(), answer(200, headers, [bytes(3000)]), 0)),
    ).toBeInstanceOf(StartOver);
    expect(log).toEqual([]);
  });
});

describe('receive: a ranged (206) answer', () => {
  it('writes no further than the segment’s end: the next segment’s bytes are not its own', async () => {
    const plan = new SegmentPlan();
    plan.resume({
      kind: 'segments',
      validator: '"v1"',
      total: 3000,
      segments: [
        [0, 0, 1000],
        [1000, 1000, 3000],
      ],
    });
    const first = plan.segments[0]!;
    const { rx, part } = receiver(plan);
    const headers = { 'content-range': 'bytes 0-2999/3000', etag: '"v1"' };
    await receive(rx, first, live(), answer(206, headers, [bytes(3000)]), 0);
    expect(first.pos).toBe(1000);
    expect(part.bytes.equals(bytes(3000).subarray(0, 1000))).toBe(true);
  });

  it('continues a .part with a ranged answer under the same validator', async () => {
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: '"v1"', total: 3000, bytes: 1000 });
    const seg = plan.segments[0]!;
    const full = bytes(3000);
    const { rx, log, part } = receiver(plan, Buffer.from(full.subarray(0, 1000)));
    const headers = { 'content-range': 'bytes 1000-2999/3000', etag: '"v1"' };
    await receive(rx, seg, live(), answer(206, headers, [full.subarray(1000)]), 0);
    expect(log).toEqual(['announce 1000 true', 'open', 'write 1000+2000']);
    expect(part.bytes.equals(full)).toBe(true);
    expect(plan.rangeOk).toBe(true);
  });

  it('starts over on a ranged answer that starts elsewhere, has another total or another validator', async () => {
    for (const headers of [
      { 'content-range': 'bytes 0-2999/3000', etag: '"v1"' },
      { 'content-range': 'bytes 1000-3999/4000', etag: '"v1"' },
      { 'content-range': 'bytes 1000-2999/*', etag: '"v1"' },
      { 'content-range': 'bytes 1000-2999/3000', etag: '"v2"' },
      { etag: '"v1"' },
    ]) {
      const plan = new SegmentPlan();
      plan.resume({ kind: 'prefix', validator: '"v1"', total: 3000, bytes: 1000 });
      const { rx, log } = receiver(plan, bytes(1000));
      const error = await failure(
        receive(rx, plan.segments[0]!, live(), answer(206, headers, [bytes(2000)]), 0),
      );
      expect(error, JSON.stringify(headers)).toBeInstanceOf(StartOver);
      expect(log).toEqual([]);
    }
  });
});

describe('receive: the overlap check (no validator)', () => {
  const total = 3 * OVERLAP_BYTES;
  const full = bytes(total, 3);
  const kept = 2 * OVERLAP_BYTES;
  const setup = (disk: Buffer) => {
    const plan = new SegmentPlan();
    plan.resume({ kind: 'prefix', validator: undefined, total, bytes: kept });
    const seg = plan.segments[0]!;
    const { back } = plan.ask(seg);
    expect(back).toBe(OVERLAP_BYTES);
    return { plan, seg, back, ...receiver(plan, disk) };
  };
  const range = { 'content-range': `bytes ${kept - OVERLAP_BYTES}-${total - 1}/${total}` };

  it('writes only the bytes after the .part once the repeated ones match the disk', async () => {
    const { seg, back, rx, log, part } = setup(Buffer.from(full.subarray(0, kept)));
    const body = full.subarray(kept - OVERLAP_BYTES);
    await receive(rx, seg, live(), answer(206, range, [body.subarray(0, 1000), body.subarray(1000)]), back);
    expect(log).toEqual([`announce ${kept} true`, 'open', `write ${kept}+${OVERLAP_BYTES}`]);
    expect(part.bytes.equals(full)).toBe(true);
  });

  it('starts over, writing nothing, when they differ: the .part is of another object', async () => {
    const disk = Buffer.from(full.subarray(0, kept));
    disk[kept - 10] = (disk[kept - 10]! + 1) & 0xff;
    const { seg, back, rx, log, part } = setup(Buffer.from(disk));
    const error = await failure(
      receive(rx, seg, live(), answer(206, range, [full.subarray(kept - OVERLAP_BYTES)]), back),
    );
    expect(error).toBeInstanceOf(StartOver);
    expect(log.some((line) => line.startsWith('write'))).toBe(false);
    expect(part.bytes.equals(disk)).toBe(true);
  });

  it('starts over when the .part is shorter than the bytes to compare, even if the body ends before them', async () => {
    const { seg, back, rx, log } = setup(Buffer.from(full.subarray(0, kept - 1)));
    const cut = full.subarray(kept - OVERLAP_BYTES, kept - 100);
    expect(await failure(receive(rx, seg, live(), answer(206, range, [cut]), back))).toBeInstanceOf(
      StartOver,
    );
    expect(log).toEqual([`announce ${kept} true`, 'open']);
  });

  it('retries, without starting over, a body that ends inside them', async () => {
    const { seg, back, rx } = setup(Buffer.from(full.subarray(0, kept)));
    const error = await failure(
      receive(rx, seg, live(), answer(206, range, [full.subarray(kept - OVERLAP_BYTES, kept - 100)]), back),
    );
    expect(error).toMatchObject({ code: 'ERR_DOWNLOAD_SHORT', retryable: true });
    expect(seg.pos).toBe(kept);
  });
});

describe('receive: errors and aborts', () => {
  it('stops as Superseded once the file’s generation is aborted', async () => {
    const plan = new SegmentPlan();
    const seg = plan.startOver();
    const { rx } = receiver(plan);
    const generation = new AbortController();
    const chunks = (async function* () {
      yield bytes(100);
      generation.abort();
      yield bytes(100);
    })();
    const response: TransportResponse = {
      status: 200,
      headers: { 'content-length': '200' },
      body: chunks,
      destroy() {},
    };
    expect(await failure(receive(rx, seg, generation.signal, response, 0))).toBeInstanceOf(Superseded);
    expect(seg.pos).toBe(100);
  });

  it('refuses an error status before it opens the .part', async () => {
    const plan = new SegmentPlan();
    const seg: Segment = plan.startOver();
    const { rx, log } = receiver(plan);
    const error = await failure(
      receive(rx, seg, live(), answer(500, {}, [Buffer.from('<html>error</html>')]), 0),
    );
    expect(error).toMatchObject({ code: 'ERR_DOWNLOAD_HTTP', status: 500 });
    expect(log).toEqual([]);
  });
});
