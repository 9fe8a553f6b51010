/**
 * Issue 17, items 6 and 14: `verify` under a failing journal (ENOSPC) and an unreadable file (EACCES), injected
 * through node:fs because root reads any file whatever its mode; and a deleted `--metadata` sidecar.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitCodeFor } from '../src/exit-codes.js';
import { verifyBackup } from '../src/report/verify.js';
import { backup } from '../src/run/backup.js';
import { readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

// Paths whose read-only opens fail with EACCES, and whether appends to the journal fail with ENOSPC.
const faults = vi.hoisted(() => ({ unreadable: new Set<string>(), journalFull: false }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
  const open = (async (...args: Parameters<typeof actual.promises.open>) => {
    const file = String(args[0]);
    if (args[1] === 'r' && faults.unreadable.has(file)) throw errno('EACCES');
    const handle = await actual.promises.open(...args);
    if (args[1] === 'a' && file.endsWith('manifest.journal') && faults.journalFull) {
      handle.appendFile = (async () => {
        throw errno('ENOSPC');
      }) as typeof handle.appendFile;
    }
    return handle;
  }) as typeof actual.promises.open;
  return { ...actual, promises: { ...actual.promises, open } };
});

afterEach(() => {
  faults.unreadable.clear();
  faults.journalFull = false;
});

const LOCK = '.runway-backup.lock';

describe('verify under faults', () => {
  it('a journal write that fails (ENOSPC) is one DiskError line, exit 1, the lock released, no unhandled rejection', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const victim = Object.values((await readManifest(out)).assets)[0]!.files[0]!.path;
    await fs.rm(path.join(out, victim));
    const manifestBefore = await fs.readFile(path.join(out, 'manifest.json'), 'utf8');
    faults.journalFull = true;

    const error = await verifyBackup({ out }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DiskError', code: 'ERR_DISK' });
    expect((error as Error).message).toMatch(/^Cannot write the manifest: the disk is full \(ENOSPC\)$/);
    expect(exitCodeFor(error)).toBe(1);
    expect(existsSync(path.join(out, LOCK)), 'lock released').toBe(false);
    expect(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).toBe(manifestBefore);

    // Once the disk has room, the next verify records what it finds.
    faults.journalFull = false;
    const report = await verifyBackup({ out });
    expect(report.missing.map((m) => m.path)).toEqual([victim]);
  });

  it('an unreadable file (EACCES) is reported as such and the check goes on to the others', async () => {
    const s = await sim({ assets: 4 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const paths = Object.values((await readManifest(out)).assets).map((e) => e.files[0]!.path);
    faults.unreadable.add(path.join(out, paths[1]!));

    const report = await verifyBackup({ out });
    expect(report.unreadable).toEqual([
      expect.objectContaining({ path: paths[1], reason: 'cannot be read (EACCES)' }),
    ]);
    expect(report.ok).toBe(3);
    expect(report.corrupt).toEqual([]);
    expect(report.healthy).toBe(false);
    expect(existsSync(path.join(out, LOCK))).toBe(false);
    // Not demoted: the bytes may be fine, and a backup would not fetch a file it cannot read.
    expect(
      (await readManifest(out)).assets[Object.keys((await readManifest(out)).assets)[1]!]!.files[0]!.status,
    ).toBe('done');
  });
});

describe('item 14: a deleted sidecar', () => {
  it('verify names it (exit 1, --json missingSidecars), and a backup with --metadata writes it again', async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    await backup({ token: s.token, baseUrl: s.url, out, metadata: true });
    const sidecar = Object.values((await readManifest(out)).assets)[0]!.sidecar!;
    await fs.rm(path.join(out, sidecar));

    const human = await runCli(['verify', '--out', out]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`missing sidecar: ${sidecar}`);
    const json = JSON.parse((await runCli(['verify', '--out', out, '--json'])).stdout);
    expect(json.missingSidecars.map((m: { path: string }) => m.path)).toEqual([sidecar]);
    expect(json.healthy).toBe(false);

    const run = await runCli(['backup', '--out', out, '--metadata'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(out, sidecar))).toBe(true);
    const after = await runCli(['verify', '--out', out, '--json']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ healthy: true, missingSidecars: [] });
  });
});
