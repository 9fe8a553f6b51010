import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Asset,
  type AssetsClient,
  type BackupSummary,
  backup,
  createClient,
  iterateAssets,
  type RunwayBackupError,
  type VerifyReport,
  verifyBackup,
} from '../src/index.js';

describe('the library as users import it', () => {
  it("`import { iterateAssets, backup } from 'runway-backup'` works from the built package", () => {
    const script = `import * as lib from 'runway-backup';
      console.log(JSON.stringify(['iterateAssets', 'backup', 'createClient', 'verifyBackup', 'downloadFile', 'ApiError']
        .map((name) => [name, typeof lib[name]])));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
    expect(JSON.parse(out.toString())).toEqual([
      ['iterateAssets', 'function'],
      ['backup', 'function'],
      ['createClient', 'function'],
      ['verifyBackup', 'function'],
      ['downloadFile', 'function'],
      ['ApiError', 'function'],
    ]);
  });

  it('exported signatures are typed (no any)', async () => {
    expectTypeOf(iterateAssets).parameter(0).toEqualTypeOf<AssetsClient>();
    expectTypeOf(iterateAssets).returns.toEqualTypeOf<AsyncGenerator<Asset>>();
    expectTypeOf(backup).returns.resolves.toEqualTypeOf<BackupSummary>();
    expectTypeOf(verifyBackup).returns.resolves.toEqualTypeOf<VerifyReport>();
    expectTypeOf(createClient).returns.toEqualTypeOf<AssetsClient>();
    expectTypeOf<RunwayBackupError['code']>().toEqualTypeOf<string>();
    // And in the declaration files a user's compiler reads: no `any` anywhere.
    const dist = path.resolve('dist');
    const files = (await fs.readdir(dist, { recursive: true })).filter((f) => f.endsWith('.d.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = await fs.readFile(path.join(dist, f), 'utf8');
      expect(text, f).not.toMatch(/[:<,(|]\s*any\b/);
    }
  });
});
