// The manifest's journal on its own: group commit, the torn-tail rule, rotation and the order of replay.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Journal, replayJournals, rotatedJournals } from '../src/store/journal.js';
import { JOURNAL_NAME } from '../src/store/own-files.js';
import { tempDir } from './helpers/tmp.js';

/** The FileHandle prototype, whose appendFile the journal writes through. */
async function handleProto(dir: string): Promise<{ appendFile: (data: unknown) => Promise<void> }> {
  const probe = await fs.open(path.join(dir, 'probe'), 'w');
  await probe.close();
  await fs.rm(path.join(dir, 'probe'));
  return Object.getPrototypeOf(probe) as { appendFile: (data: unknown) => Promise<void> };
}

/** Every line the journals of `dir` replay, parsed, in replay order. */
async function replayed(dir: string): Promise<{ ops: unknown[]; torn: number; tornTail: boolean }> {
  const ops: unknown[] = [];
  const replay = await replayJournals(dir, (op) => {
    ops.push(op);
    return true;
  });
  expect(replay.replayed).toBe(ops.length);
  return { ops, torn: replay.torn, tornTail: replay.tornTail };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Journal: group commit', () => {
  it('writes appends made while a write is under way together, in the next write, in order', async () => {
    const dir = await tempDir();
    const proto = await handleProto(dir);
    const spy = vi.spyOn(proto, 'appendFile');
    const journal = new Journal(dir);
    const file = path.join(dir, JOURNAL_NAME);
    const settled: number[] = [];
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      appends.push(
        journal.append({ i }).then(() => {
          // Settled only once its own line is in the file.
          const lines = readFileSync(file, 'utf8').split('\n');
          expect(lines).toContain(JSON.stringify({ i }));
          settled.push(i);
        }),
      );
    }
    expect(journal.writing).toBeDefined();
    await Promise.all(appends);
    // The first append starts a write of its own line; the 99 that came while it was under way share the next.
    expect(spy).toHaveBeenCalledTimes(2);
    expect(String(spy.mock.calls[0]?.[0])).toBe(`${JSON.stringify({ i: 0 })}\n`);
    expect(String(spy.mock.calls[1]?.[0]).split('\n')).toHaveLength(100); // 99 lines and the final ''
    expect(settled).toEqual([...Array(100).keys()]);
    const text = await fs.readFile(file, 'utf8');
    expect(text.trimEnd().split('\n')).toEqual([...Array(100).keys()].map((i) => JSON.stringify({ i })));
    expect(journal.bytes).toBe(Buffer.byteLength(text));
    await journal.close();
    expect(journal.writing).toBeUndefined();
  });

  it('calls onDrained once every pending line is written, and a later append writes again', async () => {
    const dir = await tempDir();
    const drained: number[] = [];
    const journal = new Journal(dir, { onDrained: () => drained.push(journal.bytes) });
    await Promise.all([journal.append('a'), journal.append('b')]);
    while (journal.writing) await journal.writing;
    expect(drained).toEqual([8]); // '"a"\n"b"\n'
    await journal.append('c');
    while (journal.writing) await journal.writing;
    expect(drained).toEqual([8, 12]);
    await journal.close();
    expect(await fs.readFile(path.join(dir, JOURNAL_NAME), 'utf8')).toBe('"a"\n"b"\n"c"\n');
  });

  it('after a failed write, rejects that batch and every later append with the same error', async () => {
    const dir = await tempDir();
    // A folder where the journal should be: opening it for appending fails.
    await fs.mkdir(path.join(dir, JOURNAL_NAME));
    const drained = vi.fn();
    const journal = new Journal(dir, { onDrained: drained });
    const first = journal.append({ n: 1 });
    const second = journal.append({ n: 2 });
    const error = await first.catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('EISDIR');
    await expect(second).rejects.toBe(error);
    expect(journal.broken).toBe(error);
    await expect(journal.append({ n: 3 })).rejects.toBe(error);
    expect(drained).not.toHaveBeenCalled();
    await journal.close();
  });
});

describe('Journal: a torn last line', () => {
  it('is skipped on replay, and the next write starts on a line of its own', async () => {
    const dir = await tempDir();
    const file = path.join(dir, JOURNAL_NAME);
    await fs.writeFile(file, '{"n":1}\n{"n":2,"tor');
    const before = await replayJournals(dir, () => true);
    expect(before).toEqual({ replayed: 1, torn: 1, tornTail: true, rotations: 0 });

    const journal = new Journal(dir, { tornTail: before.tornTail });
    await journal.append({ n: 3 });
    await journal.append({ n: 4 });
    await journal.close();
    // One newline ends the fragment, before the first write only.
    expect(await fs.readFile(file, 'utf8')).toBe('{"n":1}\n{"n":2,"tor\n{"n":3}\n{"n":4}\n');
    const after = await replayed(dir);
    expect(after.ops).toEqual([{ n: 1 }, { n: 3 }, { n: 4 }]);
    expect(after.torn).toBe(1);
    expect(after.tornTail).toBe(false);
  });

  it('a journal that ends in a newline is not torn, and a line apply refuses counts as torn', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, JOURNAL_NAME), '{"n":1}\n\n{"n":2}\n');
    const replay = await replayJournals(dir, (op) => (op as { n: number }).n !== 2);
    expect(replay).toEqual({ replayed: 1, torn: 1, tornTail: false, rotations: 0 });
    // No journal at all: nothing to replay.
    expect(await replayJournals(await tempDir(), () => true)).toEqual({
      replayed: 0,
      torn: 0,
      tornTail: false,
      rotations: 0,
    });
  });
});

describe('Journal: rotation and replay order', () => {
  it('rotates to manifest.journal.1, .2, ... and replays them oldest first, then the current one', async () => {
    const dir = await tempDir();
    const journal = new Journal(dir);
    await journal.append('one');
    await journal.rotate();
    expect(journal.bytes).toBe(0);
    await journal.append('two');
    await journal.rotate();
    await journal.append('three');
    await journal.close();
    expect(rotatedJournals(dir)).toEqual([
      { name: `${JOURNAL_NAME}.1`, n: 1 },
      { name: `${JOURNAL_NAME}.2`, n: 2 },
    ]);
    expect(await fs.readFile(path.join(dir, `${JOURNAL_NAME}.1`), 'utf8')).toBe('"one"\n');
    expect(await fs.readFile(path.join(dir, `${JOURNAL_NAME}.2`), 'utf8')).toBe('"two"\n');
    expect((await replayed(dir)).ops).toEqual(['one', 'two', 'three']);
    expect((await replayJournals(dir, () => true)).rotations).toBe(2);

    // A later writer (the next run) numbers on from the highest one on disk.
    const next = new Journal(dir, { rotations: 2 });
    await next.append('four');
    await next.rotate();
    await next.close();
    expect(rotatedJournals(dir).map((r) => r.n)).toEqual([1, 2, 3]);
    expect((await replayed(dir)).ops).toEqual(['one', 'two', 'three', 'four']);

    await next.removeRotated();
    expect(rotatedJournals(dir)).toEqual([]);
    await next.append('five');
    await next.rotate();
    await next.close();
    // Numbering starts again once the rotated journals are gone.
    expect(rotatedJournals(dir)).toEqual([{ name: `${JOURNAL_NAME}.1`, n: 1 }]);
  });

  it('orders rotated journals by number, not by name, with an older version’s .old first', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, `${JOURNAL_NAME}.10`), '"ten"\n');
    await fs.writeFile(path.join(dir, `${JOURNAL_NAME}.9`), '"nine"\n');
    await fs.writeFile(path.join(dir, `${JOURNAL_NAME}.old`), '"old"\n');
    await fs.writeFile(path.join(dir, JOURNAL_NAME), '"current"\n');
    // Not journals: no number, or too long a number, or another name.
    await fs.writeFile(path.join(dir, `${JOURNAL_NAME}.x`), '"x"\n');
    await fs.writeFile(path.join(dir, `${JOURNAL_NAME}.1234567890`), '"long"\n');
    await fs.writeFile(path.join(dir, `a${JOURNAL_NAME}.3`), '"other"\n');
    expect(rotatedJournals(dir).map((r) => r.name)).toEqual([
      `${JOURNAL_NAME}.old`,
      `${JOURNAL_NAME}.9`,
      `${JOURNAL_NAME}.10`,
    ]);
    expect((await replayed(dir)).ops).toEqual(['old', 'nine', 'ten', 'current']);
    expect((await replayJournals(dir, () => true)).rotations).toBe(10);
    expect(rotatedJournals(path.join(dir, 'no such folder'))).toEqual([]);
  });
});

describe('Journal: rotation, its edges', () => {
  it('a line appended in the tick of the rotation goes to the fresh journal, not the rotated one', async () => {
    const dir = await tempDir();
    const journal = new Journal(dir);
    await journal.append('before');
    const rotation = journal.rotate();
    // The rename happened at the call: this line opens a new journal while the old handle is being closed.
    const after = journal.append('after');
    await rotation;
    await after;
    await journal.close();
    expect(await fs.readFile(path.join(dir, `${JOURNAL_NAME}.1`), 'utf8')).toBe('"before"\n');
    expect(await fs.readFile(path.join(dir, JOURNAL_NAME), 'utf8')).toBe('"after"\n');
  });

  it('with no journal to rotate, rotation is no error and takes no number', async () => {
    const dir = await tempDir();
    const journal = new Journal(dir);
    await journal.rotate();
    expect(rotatedJournals(dir)).toEqual([]);
    await journal.append('x');
    await journal.rotate();
    await journal.close();
    expect(rotatedJournals(dir).map((r) => r.n)).toEqual([1]);
  });

  it('a rotation that cannot rename rejects and keeps the journal where it was', async () => {
    const dir = await tempDir();
    const journal = new Journal(dir);
    await journal.append('kept');
    // A non-empty folder in the way of the rename.
    await fs.mkdir(path.join(dir, `${JOURNAL_NAME}.1`));
    await fs.writeFile(path.join(dir, `${JOURNAL_NAME}.1`, 'x'), '');
    await expect(journal.rotate()).rejects.toMatchObject({ code: expect.any(String) });
    await journal.append('more');
    await journal.close();
    expect(await fs.readFile(path.join(dir, JOURNAL_NAME), 'utf8')).toBe('"kept"\n"more"\n');
  });
});
