import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodePartIO, type PartHandle, type PartIO } from '../src/engine/part-file.js';
import { backup } from '../src/run/backup.js';
import { expectBackupMatches, readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

/** A `.part` file system whose n-th opened file fails with ENOSPC after some bytes, like a disk filling up. */
function fillingDisk(failAfterOpens: number): PartIO & { opened: number } {
  const io = {
    opened: 0,
    async open(file: string, fresh: boolean): Promise<PartHandle> {
      const handle = await nodePartIO.open(file, fresh);
      if (++io.opened <= failAfterOpens) return handle;
      let written = 0;
      return {
        ...handle,
        async write(data, position) {
          written += data.length;
          if (written > 10_000) {
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
              code: 'ENOSPC',
              errno: -28,
            });
          }
          await handle.write(data, position);
        },
      };
    },
  };
  return io;
}

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = path.join('/tmp', `rb-mount-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
}

describe('disk faults', () => {
  it('ENOSPC in the middle of a file (injected): a clear DiskError, the manifest intact, the next run completes', async () => {
    const s = await sim({ assets: 20 });
    const out = await tempDir();
    const io = fillingDisk(8);
    const error = await backup({ token: s.token, baseUrl: s.url, out, concurrency: 2, io }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_DISK' });
    expect((error as Error).message).toMatch(/^Cannot write .*: the disk is full \(ENOSPC\)$/);
    const manifest = await readManifest(out);
    const recorded = Object.values(manifest.assets).flatMap((a) => a.files);
    expect(recorded.length).toBeGreaterThanOrEqual(1);
    expect(recorded.length).toBeLessThan(20);
    // The run stopped at the first full-disk error instead of failing every later file one by one.
    expect(s.stats.cdnRequests).toBeLessThan(15);
    const summary = await backup({ token: s.token, baseUrl: s.url, out });
    expect(summary.filesFailed).toBe(0);
    await expectBackupMatches(s, out);
  });

  it.skipIf(!canMount())(
    'a real full disk (tiny tmpfs): exit 1, one line, manifest intact; more space, and it completes',
    async () => {
      const s = await sim({ assets: 30, mainSize: { min: 150_000, max: 250_000 } });
      const parent = await tempDir();
      const out = path.join(parent, 'mnt');
      await fs.mkdir(out);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', out]);
      try {
        const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
        const full = await runCli(['backup', '--out', out, '--quiet'], env);
        expect(full.code).toBe(1);
        expect(full.stderr.trim().split('\n')).toHaveLength(1);
        expect(full.stderr).toMatch(/the disk is full \(ENOSPC\)/);
        const text = await fs
          .readFile(path.join(out, 'manifest.json'), 'utf8')
          .catch(() => '{"version":1,"assets":{}}');
        expect(() => JSON.parse(text)).not.toThrow();
        execFileSync('mount', ['-o', 'remount,size=64m', out]);
        const again = await runCli(['backup', '--out', out, '--quiet'], env);
        expect(again.code).toBe(0);
        await expectBackupMatches(s, out);
      } finally {
        execFileSync('umount', ['-l', out]);
      }
    },
  );

  it('an output folder that cannot be created is a usage error (exit 2), nothing fetched', async () => {
    const s = await sim({ assets: 3 });
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'file'), 'x');
    const result = await runCli(['backup', '--out', path.join(dir, 'file', 'sub')], {
      USEAPI_TOKEN: s.token,
      USEAPI_BASE_URL: s.url,
    });
    expect(result.code).toBe(2);
    // Item 13 of issue 11: said in words, not as ENOTDIR.
    expect(result.stderr).toMatch(
      /^runway-backup: Cannot use .*sub as the output folder: .*file is a file, not a folder\n$/,
    );
    expect(s.stats.listRequests).toBe(0);
  });

  it.skipIf(!canMount())('a read-only output folder is a usage error (exit 2)', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', out]);
    try {
      const result = await runCli(['backup', '--out', out], {
        USEAPI_TOKEN: s.token,
        USEAPI_BASE_URL: s.url,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/Cannot write to the output folder .*: EROFS/);
    } finally {
      execFileSync('umount', ['-l', out]);
    }
  });
});
