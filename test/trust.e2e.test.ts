import { execFile, execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commandHelp } from '../src/commands/args.js';
import { BACKUP_SPEC } from '../src/commands/backup.js';
import { DEMO_SPEC } from '../src/commands/demo.js';
import { FORGET_SPEC } from '../src/commands/forget.js';
import { GALLERY_SPEC } from '../src/commands/gallery.js';
import { LIST_SPEC } from '../src/commands/list.js';
import { SIMULATE_SPEC } from '../src/commands/simulate.js';
import { STATUS_SPEC } from '../src/commands/status.js';
import { VERIFY_SPEC } from '../src/commands/verify.js';
import { CLI, runCli } from './helpers/cli.js';
import { driftingServer } from './helpers/drifting-server.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

describe('what a new user stumbles over (built CLI: run `npm run build` first)', () => {
  it.each(['backup', 'list', 'verify', 'gallery', 'status', 'forget', 'demo', 'simulate'])(
    'item 8: `%s --help` and `-h` print its own help, listing every flag it accepts, exit 0',
    async (command) => {
      const long = await runCli([command, '--help']);
      expect(long.code).toBe(0);
      expect(long.stderr).toBe('');
      if (command === 'backup' || command === 'status') {
        expect((await runCli([command, '-h'])).stdout).toBe(long.stdout);
        // `help <command>` is the same page, and --help wins over any other flag.
        expect((await runCli(['help', command])).stdout).toBe(long.stdout);
        expect((await runCli([command, '--bogus', '--help'])).stdout).toBe(long.stdout);
      }
      expect(long.stdout).toMatchSnapshot();
    },
  );

  it('item 8: each help lists every flag its command parses (the help is made from the same flag table)', () => {
    for (const spec of [
      BACKUP_SPEC,
      LIST_SPEC,
      VERIFY_SPEC,
      GALLERY_SPEC,
      STATUS_SPEC,
      FORGET_SPEC,
      DEMO_SPEC,
      SIMULATE_SPEC,
    ]) {
      const help = commandHelp(spec);
      for (const [name, flag] of Object.entries(spec.flags)) {
        expect(help).toMatch(
          new RegExp(`^  ${flag.short ? `-${flag.short}, ` : ' {4}'}--${name}\\b.* {2}\\S`, 'm'),
        );
      }
    }
  });

  it('item 2: a listing cut short by the request budget says so and exits 1 (not "the whole account")', async () => {
    const server = await driftingServer();
    try {
      const result = await runCli(['list', '--json', '--retries', '0'], {
        USEAPI_TOKEN: 'tok',
        USEAPI_BASE_URL: server.url,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /listing cut short \(request budget spent\): all \(\d+ seen\).*; more assets may exist\n/,
      );
      expect(result.stderr).not.toMatch(/whole account/);
      // -q keeps the warning: it is what a nightly job's log must show.
      const quiet = await runCli(['list', '-q', '--retries', '0'], {
        USEAPI_TOKEN: 'tok',
        USEAPI_BASE_URL: server.url,
      });
      expect(quiet.code).toBe(1);
      expect(quiet.stderr).toMatch(/^listing cut short/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('item 7: --version works from an install path with spaces', async () => {
    const root = path.join(await tempDir(), 'Program Files', 'runway backup');
    await fs.mkdir(root, { recursive: true });
    await fs.cp(path.dirname(CLI), path.join(root, 'dist'), { recursive: true });
    await fs.copyFile('package.json', path.join(root, 'package.json'));
    const { stdout } = await promisify(execFile)(process.execPath, [
      path.join(root, 'dist', 'cli.js'),
      '--version',
    ]);
    const { version } = JSON.parse(await fs.readFile('package.json', 'utf8')) as { version: string };
    expect(stdout).toBe(`${version}\n`);
  });

  it('item 11: an unreachable API is announced while retrying, with the reason; -q keeps it to the error', async () => {
    const started = Date.now();
    const result = await runCli(['list', '--base-url', 'http://127.0.0.1:9', '--retries', '2'], {
      USEAPI_TOKEN: 'tok',
    });
    expect(result.code).toBe(4);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe('runway-backup: Could not reach 127.0.0.1:9: ECONNREFUSED');
    expect(lines.slice(0, -1).length).toBeGreaterThanOrEqual(1);
    for (const line of lines.slice(0, -1)) {
      expect(line).toMatch(
        /^API request failed \(Could not reach 127\.0\.0\.1:9: ECONNREFUSED\); retrying in [\d.]+s \(attempt 3\/3\)$/,
      );
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    const quiet = await runCli(
      ['backup', '-q', '--out', await tempDir(), '--base-url', 'http://127.0.0.1:9', '--retries', '2'],
      {
        USEAPI_TOKEN: 'tok',
      },
    );
    expect(quiet.code).toBe(4);
    expect(quiet.stderr).toBe('runway-backup: Could not reach 127.0.0.1:9: ECONNREFUSED\n');
  }, 30_000);

  it('item 12: list takes --config, a list of media types and -q; verify takes --config and -q, its report on stdout', async () => {
    const s = await sim({ assets: 30 });
    const dir = await tempDir();
    const config = path.join(dir, 'downloads.json');
    await fs.writeFile(
      config,
      JSON.stringify({ out: 'backup', baseUrl: s.url, mediaTypes: ['video', 'audio'] }),
    );
    const listed = await runCli(['list', '--config', config, '--json'], { USEAPI_TOKEN: s.token });
    expect(listed.code, listed.stderr).toBe(0);
    const types = listed.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { mediaType: string }).mediaType);
    const wanted = s.assets().filter((a) => a.mediaType !== 'image');
    expect(types).toHaveLength(wanted.length);
    expect(new Set(types)).toEqual(new Set(['video', 'audio']));
    const flag = await runCli(['list', '--media-type', 'video,image', '-q', '--json'], env(s));
    expect(flag.stdout.trim().split('\n')).toHaveLength(
      s.assets().filter((a) => a.mediaType !== 'audio').length,
    );
    expect(flag.stderr).toBe('');

    const backedUp = await runCli(['backup', '--config', config, '-q'], { USEAPI_TOKEN: s.token });
    expect(backedUp.code, backedUp.stderr).toBe(0);
    expect(backedUp.stderr).toBe('');
    await fs.writeFile(path.join(dir, 'backup', 'notes.txt'), 'mine');
    const verified = await runCli(['verify', '--config', config]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toBe('untracked: notes.txt\n');
    expect(verified.stderr).toMatch(/ok, 0 missing, 0 corrupt/);
    const quiet = await runCli(['verify', '--config', config, '-q']);
    expect(quiet.stdout).toBe('untracked: notes.txt\n');
    expect(quiet.stderr).toBe('');
  }, 30_000);

  it('item 13: simulate on a port in use is one line; a write error on stdout fails the command', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const result = await runCli(['simulate', '--port', String(port)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `runway-backup: Port ${port} is already in use; choose another with --port (or leave it out)\n`,
      );
    } finally {
      blocker.close();
    }
    const s = await sim({ assets: 5 });
    const full = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      fs.open('/dev/full', 'w')
        .then((handle) => {
          const child = spawn(process.execPath, [CLI, 'list'], {
            env: { PATH: process.env.PATH ?? '', ...env(s) },
            stdio: ['ignore', handle.fd, 'pipe'],
          });
          let stderr = '';
          child.stderr?.on('data', (d: Buffer) => {
            stderr += d.toString();
          });
          child.on('close', (code) => {
            void handle.close();
            resolve({ code, stderr });
          });
        })
        .catch(reject);
    });
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/\nrunway-backup: cannot write to standard output: ENOSPC\n$/);
  }, 30_000);

  it('item 14: words agree with numbers; --dry-run --json carries the path list', async () => {
    const s = await sim({ assets: 1 });
    const out = await tempDir();
    const lines = await runCli(['backup', '--out', out, '--dry-run', '--no-previews'], env(s));
    const dry = await runCli(['backup', '--out', out, '--dry-run', '--no-previews', '--json'], env(s));
    expect(dry.code).toBe(0);
    const summary = JSON.parse(dry.stdout) as { planned: { path: string; bytes: number }[] };
    expect(summary.planned.map((p) => `${p.path}\t${p.bytes}\n`).join('')).toBe(lines.stdout);
    expect(summary.planned).toHaveLength(1);
    expect(dry.stderr).toMatch(/Dry run: 1 asset, 1 file would be downloaded/);
    const done = await runCli(['backup', '--out', out, '--no-previews'], env(s));
    expect(done.stderr).toMatch(/: 1 asset, 1 file downloaded \(/);
    const listed = await runCli(['list'], env(s));
    expect(listed.stderr).toMatch(/^1 asset \(1 \w+\), [\d.]+ \w?B, 1 request\n/);
  });

  it('`--out ~/x` is the home folder for every command; `--out ""` is refused, not the current folder', async () => {
    const s = await sim({ assets: 1 });
    const home = await tempDir();
    const cwd = await tempDir();
    const withHome = { ...env(s), HOME: home };
    const backedUp = await runCli(['backup', '--out', '~/runway', '--no-previews', '-q'], withHome);
    expect(backedUp.code).toBe(0);
    const status = await runCli(['status', '--out', '~/runway', '--json'], withHome);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ lastEndedState: 'done' });
    const gallery = await runCli(['gallery', '--out', '~/runway'], withHome);
    expect(gallery.code).toBe(0);
    expect(gallery.stdout.trim()).toBe(pathToFileURL(path.join(home, 'runway', 'index.html')).href);
    expect((await runCli(['verify', '--out', '~/runway'], withHome)).code).toBe(0);
    for (const command of ['backup', 'status', 'gallery', 'verify', 'demo']) {
      const child = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, command, '--out', ''], { cwd, env: withHome }, (error, _o, stderr) =>
          resolve({ code: error ? (error.code as number) : 0, stderr }),
        );
      });
      expect(child, command).toEqual({
        code: 2,
        stderr: 'runway-backup: Expected `--out` to be a folder, got an empty value\n',
      });
    }
    expect(await fs.readdir(cwd)).toEqual([]);
  });

  it('item 14: the hints after `demo` are commands that work where the user is', async () => {
    const dir = await tempDir();
    // Installed: the program is reached through its bin link, named runway-backup.
    const bin = path.join(dir, 'runway-backup');
    await fs.symlink(CLI, bin);
    const run = (script: string) =>
      new Promise<string>((resolve) => {
        const child = spawn(
          process.execPath,
          [script, 'demo', '--media-type', 'audio', '--no-previews', '--out', 'demo-backup'],
          {
            cwd: dir,
            env: { PATH: process.env.PATH ?? '' },
          },
        );
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('close', () => resolve(stderr));
      });
    const viaBin = await run(bin);
    expect(viaBin).toMatch(/^ {2}runway-backup demo {2,}# again/m);
    expect(viaBin).toMatch(/^ {2}runway-backup verify --out demo-backup /m);
    expect(viaBin).not.toMatch(/npm run|dist\/cli\.js/);
    const viaScript = await run(CLI);
    expect(viaScript).toMatch(
      new RegExp(`^ {2}node ${CLI.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} demo `, 'm'),
    );
    expect(viaScript).not.toMatch(/npm run/);
  }, 60_000);

  it('item 15: --timeout SECONDS is a flag of backup and list, checked like the config field', async () => {
    const s = await sim({ assets: 2 });
    const ok = await runCli(['backup', '--out', await tempDir(), '--timeout', '5', '--dry-run'], env(s));
    expect(ok.code, ok.stderr).toBe(0);
    expect((await runCli(['list', '--timeout', '5', '-q'], env(s))).code).toBe(0);
    const bad = await runCli(['backup', '--timeout', '0'], env(s));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('runway-backup: Expected `--timeout` to be an integer from 1 to 3600, got "0"\n');
  });
});

describe('on a terminal', () => {
  // util-linux `script` gives the CLI a pseudo-terminal, so it draws its progress bars as for a person.
  const hasScript = (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v script'], { stdio: 'pipe' }).length > 0;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasScript)(
    'a bad token ends with its one line and the exit code, no bar left running',
    async () => {
      const out = path.join(await tempDir(), 'never');
      const started = Date.now();
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(
          'script',
          [
            '-qefc',
            `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} backup --out ${JSON.stringify(out)}`,
            '/dev/null',
          ],
          { env: { PATH: process.env.PATH ?? '', TERM: 'xterm', USEAPI_TOKEN: 'abc def' } },
        );
        let output = '';
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
        });
        // Before the fix the bar's timer kept the process alive for ever.
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, output });
        });
      });
      expect(result.code).toBe(2);
      expect(result.output).toMatch(/runway-backup: The API token contains whitespace/);
      expect(result.output).not.toMatch(/files \|/);
      expect(Date.now() - started).toBeLessThan(15_000);
      await expect(fs.stat(out)).rejects.toThrow();
    },
  );
});

it('an empty account backs up cleanly: exit 0 and no warning about a gallery', async () => {
  const s = await sim({ assets: 0 });
  const out = await tempDir();
  const result = await runCli(['backup', '--out', out], env(s));
  expect(result.code).toBe(0);
  expect(result.stderr).not.toMatch(/warning/);
});
