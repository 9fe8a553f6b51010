// The bin starts on every POSIX system (issue 17, item 2): a plain `#!/usr/bin/env node` (no `env -S`, which
// BusyBox and coreutils before 8.30 lack), executable in the built tree, and the V8 settings it used to get from the
// shebang's flags are applied at run time (src/node-flags.ts). Needs the built dist/ (npm test builds first).
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = path.resolve('dist', 'cli.js');

describe('the bin', () => {
  it('starts with a plain #!/usr/bin/env node and is executable', async () => {
    const first = (await fs.readFile(bin, 'utf8')).split('\n', 1)[0];
    expect(first).toBe('#!/usr/bin/env node');
    // The owner's execute bit, as `npm run build` leaves it (a fresh clone's dist/cli.js had none).
    expect((await fs.stat(bin)).mode & 0o100).toBe(0o100);
  });

  it('runs when executed directly (the kernel reads the shebang), with no node flags given', () => {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('applies its V8 settings itself: a small young generation, a garbage collection on request', () => {
    // The same churn of short-lived strings as a stream of chunks; without the settings the new space grows to
    // 16 MiB (measured: 16,777,216 bytes), with them it stays at its initial 2 MiB.
    // `collectGarbage` really collects: an object only a WeakRef still points at is gone after it.
    const script = `
      import v8 from 'node:v8';
      await import(${JSON.stringify(path.resolve('dist', 'node-flags.js'))});
      const { collectGarbage } = await import(${JSON.stringify(path.resolve('dist', 'gc.js'))});
      let keep = [];
      for (let i = 0; i < 400000; i++) { keep.push(Buffer.alloc(64).toString('hex')); if (keep.length > 5000) keep = []; }
      const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      let target = { big: new Array(1000).fill(1) };
      const ref = new WeakRef(target);
      target = undefined;
      await new Promise((r) => setTimeout(r, 0));
      let gc = 'none';
      collectGarbage(); gc = ref.deref() === undefined ? 'collected' : 'kept';
      console.log(JSON.stringify({ newSpace: space.space_size, gc, exposed: typeof globalThis.gc }));`;
    const run = (withFlags: boolean) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            withFlags ? script : script.replace(/await import\([^)]*node-flags[^)]*\);/, ''),
          ],
          {
            encoding: 'utf8',
          },
        ),
      ) as { newSpace: number; gc: string; exposed: string };
    const plain = run(false);
    const flagged = run(true);
    expect(flagged.gc).toBe('collected');
    // Without the flags nothing is exposed, and the same call is a harmless no-op (it did not throw: `gc` was set).
    expect(plain.gc).not.toBe('none');
    expect(plain.exposed).toBe('undefined');
    expect(flagged.exposed).toBe('undefined');
    expect(flagged.newSpace).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(plain.newSpace).toBeGreaterThan(flagged.newSpace);
  });

  it('collectYoung frees the memory of ArrayBuffers that died young (what Node reads a socket into), at once', () => {
    // 16 MiB of buffers dropped at once: V8 gives their memory back only when it collects, and nothing idle does.
    // With the flags, one young-generation collection frees it (its sweeping may finish a moment later: waited
    // for); without `collectYoung` it stays, so the drop is the call's doing.
    const script = (collect: boolean) => `
      await import(${JSON.stringify(path.resolve('dist', 'node-flags.js'))});
      const { collectYoung } = await import(${JSON.stringify(path.resolve('dist', 'gc.js'))});
      const MiB = 1024 * 1024;
      const held = () => (process.memoryUsage().arrayBuffers - base) / MiB;
      const base = process.memoryUsage().arrayBuffers;
      let buffers = Array.from({ length: 16 }, () => Buffer.allocUnsafeSlow(MiB));
      buffers = null;
      const dropped = held();
      await new Promise((r) => setTimeout(r, 100));
      ${collect ? 'collectYoung();' : ''}
      let after = held();
      for (let i = 0; i < ${collect ? 100 : 10} && after > 4; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = held();
      }
      console.log(JSON.stringify({ dropped, after }));`;
    const run = (collect: boolean) =>
      JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script(collect)], { encoding: 'utf8' }),
      ) as { dropped: number; after: number };
    const collected = run(true);
    const left = run(false);
    expect(collected.dropped).toBeGreaterThanOrEqual(16);
    expect(collected.after).toBeLessThan(1);
    expect(left.after).toBeGreaterThanOrEqual(16);
  });
});
