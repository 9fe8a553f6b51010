/**
 * Installed use: the package as npm would publish it, installed globally into a temp prefix, runs `demo`,
 * `gallery` and `status` from there, and its hints name the installed command. Needs a built dist/ (npm test
 * builds first) and the dependencies in npm's cache (they are, after `npm ci`).
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);

describe('npm pack, then a global install', () => {
  it('runs demo, gallery and status as `runway-backup`', async () => {
    const work = await tempDir('rb-install-');
    const prefix = path.join(work, 'prefix');
    // dist/ is already built: skip `prepare`, which would build it again.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: path.resolve('.'),
    });
    const filename = (JSON.parse(packed.stdout) as { filename: string }[])[0]?.filename ?? 'missing.tgz';
    await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        path.join(work, filename),
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
      ],
      { cwd: work },
    );
    const bin = path.join(prefix, 'bin', 'runway-backup');
    expect(existsSync(bin)).toBe(true);
    const env = { PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}`, HOME: work };

    const demo = await run('runway-backup', ['demo', '--concurrency', '8'], { cwd: work, env });
    expect(demo.stderr).toContain('runway-backup status --out demo-backup');
    expect(demo.stderr).not.toContain('dist/cli.js');
    const out = path.join(work, 'demo-backup');
    expect(await fs.readFile(path.join(out, 'index.html'), 'utf8')).toContain('runway-backup gallery');

    const gallery = await run('runway-backup', ['gallery', '--out', 'demo-backup'], { cwd: work, env });
    expect(gallery.stdout.trim()).toBe(`file://${path.join(out, 'index.html')}`);
    expect(gallery.stderr).toMatch(/^Gallery of 40 assets/);

    const status = await run('runway-backup', ['status', '--out', 'demo-backup'], { cwd: work, env });
    expect(status.stdout).toMatch(/^done: the run of .*: 40 assets, \d+ files downloaded/);
  }, 90_000);
});
