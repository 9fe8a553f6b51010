import { describe, expect, it, vi } from 'vitest';
import { DiskError } from '../src/errors.js';
import { saveAndUnlock, settleWork } from '../src/run/finish.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('settleWork', () => {
  it('waits for every asset, settled or failed, before the scheduler is idled and closed', async () => {
    const calls: string[] = [];
    const assets = new Set<Promise<void>>();
    const track = (promise: Promise<void>, name: string): void => {
      // As backup() adds them: each asset removes itself from the set once it has settled.
      const task: Promise<void> = promise
        .then(
          () => {
            calls.push(name);
          },
          () => {
            calls.push(`${name} failed`);
          },
        )
        .finally(() => assets.delete(task));
      assets.add(task);
    };
    const a = deferred();
    const b = deferred();
    track(a.promise, 'a');
    track(b.promise, 'b');
    const scheduler = {
      idle: vi.fn(async () => {
        calls.push('idle');
      }),
      close: vi.fn(() => {
        calls.push('close');
      }),
    };
    const settled = settleWork(assets, scheduler);
    b.reject(new Error('b'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual(['b failed']);
    a.resolve();
    await settled;
    expect(calls).toEqual(['b failed', 'a', 'idle', 'close']);
    expect(assets.size).toBe(0);
  });
});

describe('saveAndUnlock', () => {
  const manifestThat = (flush: () => Promise<void>) => ({
    flush: vi.fn(flush),
    close: vi.fn(async () => {}),
  });

  it('writes, closes and releases, in that order; nothing to report', async () => {
    const calls: string[] = [];
    const manifest = {
      flush: vi.fn(async () => {
        calls.push('flush');
      }),
      close: vi.fn(async () => {
        calls.push('close');
      }),
    };
    const release = vi.fn(async () => {
      calls.push('release');
    });
    expect(await saveAndUnlock(manifest, true, release)).toBeUndefined();
    expect(calls).toEqual(['flush', 'close', 'release']);
  });

  it('a dry run does not write the manifest, but still closes it and releases', async () => {
    const manifest = manifestThat(async () => {});
    const release = vi.fn(async () => {});
    expect(await saveAndUnlock(manifest, false, release)).toBeUndefined();
    expect(manifest.flush).not.toHaveBeenCalled();
    expect(manifest.close).toHaveBeenCalledTimes(1);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('no manifest (it never loaded): only the release', async () => {
    const release = vi.fn(async () => {});
    expect(await saveAndUnlock(undefined, true, release)).toBeUndefined();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('a full disk while writing is returned as a DiskError; closed and released all the same', async () => {
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    const manifest = manifestThat(async () => {
      throw full;
    });
    const release = vi.fn(async () => {});
    const error = await saveAndUnlock(manifest, true, release);
    expect(error).toBeInstanceOf(DiskError);
    expect((error as DiskError).message).toBe('Cannot write the manifest: the disk is full (ENOSPC)');
    expect((error as DiskError).cause).toBe(full);
    expect(manifest.close).toHaveBeenCalledTimes(1);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('any other write error is returned as it is; a failing close is ignored', async () => {
    const odd = new Error('odd');
    const manifest = {
      flush: vi.fn(async () => {
        throw odd;
      }),
      close: vi.fn(async () => {
        throw new Error('close');
      }),
    };
    const release = vi.fn(async () => {});
    expect(await saveAndUnlock(manifest, true, release)).toBe(odd);
    expect(release).toHaveBeenCalledTimes(1);
  });
});
