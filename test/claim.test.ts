import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/errors.js';
import { claimOutFolder } from '../src/run/claim.js';
import { LOCK_NAME } from '../src/store/lock.js';
import { deadPid } from './helpers/pid.js';
import { tempDir } from './helpers/tmp.js';

const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

describe('claimOutFolder', () => {
  it('creates an absent folder, locks it before onLocked runs, and the release unlocks it', async () => {
    const out = path.join(await tempDir(), 'a', 'b');
    const abandon = vi.fn();
    let lockedDuringOnLocked = false;
    const release = await claimOutFolder(
      out,
      async () => {
        lockedDuringOnLocked = await exists(path.join(out, LOCK_NAME));
      },
      abandon,
    );
    expect(lockedDuringOnLocked).toBe(true);
    // One run per folder: a second claim while the first holds it is refused, and abandons.
    const second = vi.fn();
    await expect(claimOutFolder(out, undefined, second)).rejects.toBeInstanceOf(UsageError);
    expect(second).toHaveBeenCalledTimes(1);
    await release();
    expect(await exists(path.join(out, LOCK_NAME))).toBe(false);
    await (await claimOutFolder(out, undefined, abandon))();
    expect(abandon).not.toHaveBeenCalled();
  });

  it("clears a dead run's atomic temp of our files, and leaves a live one's and strangers alone", async () => {
    const out = await tempDir();
    const dead = `.manifest.json.${await deadPid()}.0123abcd.tmp`;
    const live = `.manifest.json.${process.pid}.0123abcd.tmp`;
    const stranger = `.notes.txt.${await deadPid()}.0123abcd.tmp`;
    for (const name of [dead, live, stranger]) await fs.writeFile(path.join(out, name), 'x');
    const release = await claimOutFolder(out, undefined, () => {});
    await release();
    expect((await fs.readdir(out)).sort()).toEqual([live, stranger].sort());
  });

  it('a folder that is a file: one UsageError, abandoned, nothing locked or created', async () => {
    const file = path.join(await tempDir(), 'out');
    await fs.writeFile(file, 'not a folder');
    const abandon = vi.fn();
    await expect(claimOutFolder(file, undefined, abandon)).rejects.toThrow(/is a file, not a folder/);
    await expect(claimOutFolder(path.join(file, 'below'), undefined, abandon)).rejects.toBeInstanceOf(
      UsageError,
    );
    expect(abandon).toHaveBeenCalledTimes(2);
  });

  it.skipIf(process.getuid?.() === 0)('a folder that cannot be written: a UsageError naming it', async () => {
    const out = await tempDir();
    await fs.chmod(out, 0o500);
    try {
      const abandon = vi.fn();
      const claim = claimOutFolder(out, undefined, abandon);
      await expect(claim).rejects.toBeInstanceOf(UsageError);
      await expect(claim).rejects.toThrow(`Cannot write to the output folder ${out}: EACCES`);
      expect(abandon).toHaveBeenCalledTimes(1);
    } finally {
      await fs.chmod(out, 0o700);
    }
  });

  it('onLocked throwing: abandoned, the lock released, the error passed on as it is', async () => {
    const out = await tempDir();
    const abandon = vi.fn();
    const boom = new Error('boom');
    await expect(
      claimOutFolder(
        out,
        () => {
          throw boom;
        },
        abandon,
      ),
    ).rejects.toBe(boom);
    expect(abandon).toHaveBeenCalledTimes(1);
    expect(await exists(path.join(out, LOCK_NAME))).toBe(false);
    await (await claimOutFolder(out, undefined, abandon))();
  });
});
