import { existsSync, promises as fs } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDir } from '../src/fsutil.js';
import { type CliResult, runCli } from './helpers/cli.js';
import { type TestServer, withServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

let triedInputs = 0;

/** One clear line on stderr, no stack trace, the documented exit code. */
function expectOneLine(result: CliResult, code: number, message: RegExp): void {
  triedInputs++;
  expect(result.stderr, result.stderr).toMatch(message);
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^runway-backup: /);
  expect(result.stderr).not.toMatch(/\n\s+at |node:internal|TypeError|\.js:\d+/);
}

describe('bad flags and config files (built CLI)', () => {
  const configs: Record<string, string> = {
    'not-json.json': '{ out: "x" }',
    'array.json': '[1, 2]',
    'string.json': '"hello"',
    'unknown.json': '{"out": "x", "paralel": 4}',
    'token.json': '{"token": "abc"}',
    'types.json': '{"concurrency": "4"}',
    'range.json': '{"concurrency": 99}',
    'media.json': '{"mediaTypes": ["video", "gif"]}',
    'accounts.json': '{"accounts": "me@x.io"}',
    'bad-email.json': '{"accounts": ["not an email"]}',
    'timeout.json': '{"timeoutSeconds": 0}',
    'empty.json': '',
  };

  it.each([
    [['backup', '--concurrency', '0'], /`--concurrency` to be "auto" or an integer from 1 to 32, got "0"/],
    [['backup', '--concurrency', '33'], /`--concurrency`/],
    [['backup', '--concurrency', '-1'], /Option '--concurrency' needs a value/],
    [['backup', '--concurrency', '1.5'], /`--concurrency`/],
    [['backup', '--concurrency', 'many'], /`--concurrency`/],
    [['backup', '--concurrency'], /Option '--concurrency' needs a value/],
    [['backup', '--retries', '21'], /`--retries` to be an integer from 0 to 20/],
    [['backup', '--media-type', 'gif'], /`--media-type` to be video, image, audio/],
    [['backup', '--media-type', 'video,'], /`--media-type`/],
    [['backup', '--media-type', ''], /`--media-type`/],
    [['backup', '--email', 'nobody'], /`--email` to be an account email, got "nobody"/],
    [['backup', '--email', 'a/b@c.d'], /`--email`/],
    [['backup', '--base-url', 'ftp://example.com'], /`base-url` to be an http\(s\) URL/],
    [['backup', '--base-url', 'not a url'], /`base-url` to be an http\(s\) URL/],
    [['backup', '--base-url', 'http://user:pw@example.com'], /must not carry credentials/],
    [['backup', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['backup', 'extra-positional'], /Unexpected argument 'extra-positional'/],
    [['list', '--media-type', 'video,gif'], /`--media-type` to be video, image, audio/],
    [['list', '--email', 'x'], /`--email`/],
    [['list', '--email', 'a@x.io,b@x.io'], /`list` lists one account at a time/],
    [['list', '--retries', 'x'], /`--retries`/],
    [['verify', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['demo', '--concurrency', '0'], /`--concurrency`/],
    [['simulate', '--port', 'http'], /`--port`/],
    [['simulate', '--media-mix', 'video'], /`--media-mix`/],
    [['nonsense'], /Unknown command "nonsense"/],
  ])('%j exits 2 with one line', async (args, message) => {
    expectOneLine(await runCli(args, { USEAPI_TOKEN: 'tok' }), 2, message);
  });

  it('no command prints the help and exits 2', async () => {
    const result = await runCli([]);
    triedInputs++;
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^runway-backup: back up/);
  });

  it.each(Object.keys(configs))('config file %s is refused with exit 2', async (name) => {
    const dir = await tempDir();
    const file = path.join(dir, name);
    await fs.writeFile(file, configs[name]!);
    const result = await runCli(['backup', '--config', file], { USEAPI_TOKEN: 'tok' });
    expectOneLine(result, 2, new RegExp(`Config file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });

  it.each([
    ['missing', (d: string) => path.join(d, 'nope.json'), /no such file/],
    ['a folder', (d: string) => d, /Cannot read config file .*: EISDIR/],
  ])('a config file that is %s exits 2', async (_name, where, message) => {
    const dir = await tempDir();
    expectOneLine(await runCli(['backup', '--config', where(dir)], { USEAPI_TOKEN: 'tok' }), 2, message);
  });

  it('a missing or blank token exits 2 and says where to put it', async () => {
    expectOneLine(await runCli(['list']), 2, /No API token: set USEAPI_TOKEN/);
    expectOneLine(await runCli(['backup'], { USEAPI_TOKEN: '   ' }), 2, /No API token/);
    expectOneLine(await runCli(['list'], { USEAPI_TOKEN: 'a b' }), 2, /whitespace or control characters/);
  });
});

describe('output folders that cannot be made', () => {
  it.runIf(existsSync('/proc/self'))(
    'a folder under /proc exits 2 with its reason (Node 20’s recursive mkdir looped forever there)',
    async () => {
      const result = await runCli(['backup', '--out', '/proc/runway-backup-test/out'], {
        USEAPI_TOKEN: 'tok',
      });
      expectOneLine(result, 2, /Cannot write to the output folder \/proc\/runway-backup-test\/out: ENOENT/);
    },
  );

  it('ensureDir makes nested folders, also many at once; an existing folder is fine, a file in the way is not', async () => {
    const root = await tempDir();
    const deep = path.join(root, 'a', 'b', 'c');
    await Promise.all(Array.from({ length: 8 }, () => ensureDir(deep)));
    expect((await fs.stat(deep)).isDirectory()).toBe(true);
    await ensureDir(deep);
    await fs.writeFile(path.join(root, 'file'), 'x');
    await expect(ensureDir(path.join(root, 'file'))).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(ensureDir(path.join(root, 'file', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    if (existsSync('/proc/self')) {
      await expect(ensureDir('/proc/runway-backup-test/x')).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });
});

describe('bad API answers (built CLI against a misbehaving server)', () => {
  let server: TestServer;
  let mode = '';
  const item = (n: number, extra: Record<string, unknown> = {}) => ({
    assetId: `user:1-runwayml:a@b.c-asset:0000${String(n).padStart(4, '0')}-aaaa-bbbb-cccc-dddddddddddd`,
    id: `0000${String(n).padStart(4, '0')}-aaaa-bbbb-cccc-dddddddddddd`,
    url: `${server.url}/cdn/${n}.mp4`,
    mediaType: 'video',
    name: `clip ${n}.mp4`,
    createdAt: '2026-11-01T00:00:00.000Z',
    ...extra,
  });
  const answers: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
    'not-json': (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"oops'),
    'not-array': (_q, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"assets": []}'),
    html: (_q, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>'),
    'html-502': (_q, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502</html>'),
    '400': (_q, res) =>
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":"Parameter email is required","code":400}'),
    '402': (_q, res) => res.writeHead(402).end('{"error":"Subscription expired","code":402}'),
    '596': (_q, res) => res.writeHead(596).end('{"error":"Account error","code":596}'),
    'wrong-types': (_q, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify([
            1,
            'two',
            null,
            [],
            { assetId: 5, url: 7 },
            { assetId: 'x', url: 'ftp://x' },
            { url: 'http://x' },
          ]),
        ),
    gigantic: (req, res) => {
      const offset = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('offset'));
      const body =
        offset === 0
          ? [item(1, { name: `${'🎬'.repeat(50_000)}.mp4` }), item(2, { name: 'x'.repeat(200_000) })]
          : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    },
    duplicates: (req, res) => {
      // Every page repeats items of the page before: dedupe by assetId, no endless loop.
      const offset = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('offset'));
      const body = offset < 200 ? Array.from({ length: 50 }, (_, i) => item((i % 30) + 1)) : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    },
  };

  beforeAll(async () => {
    server = await withServer((req, res) => {
      if (req.url?.startsWith('/cdn/')) {
        res.writeHead(200, { 'content-length': 5, etag: '"e"' }).end('bytes');
        return;
      }
      answers[mode]!(req, res);
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const run = (args: string[]) =>
    runCli([...args, '--retries', '1'], { USEAPI_TOKEN: 'tok', USEAPI_BASE_URL: server.url });

  it.each([
    ['not-json', 4, /answered something that is not JSON/],
    ['not-array', 4, /answered JSON that is not a list of assets/],
    ['html', 4, /answered an HTML page instead of JSON/],
    ['html-502', 4, /answered 502 \(server error\)/],
    ['400', 3, /the API rejected the request \(400\): Parameter email is required/],
    ['402', 3, /subscription has expired/],
    ['596', 3, /error state \(596\)/],
  ])('listing answered %s: exit %i, one line', async (name, code, message) => {
    mode = name;
    expectOneLine(await run(['list']), code, message);
    const out = await tempDir();
    expectOneLine(await run(['backup', '--out', out]), code, message);
  });

  it('an array of wrong-typed items: each skipped and reported, the run still succeeds', async () => {
    mode = 'wrong-types';
    const result = await run(['list', '--json']);
    triedInputs++;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^0 assets, 0 B, 1 request\n7 unusable items skipped/);
  });

  it('gigantic names are cut to a safe length and stay inside the folder', async () => {
    mode = 'gigantic';
    const out = await tempDir();
    const result = await run(['backup', '--out', out, '--json', '--quiet']);
    triedInputs++;
    expect(result.code).toBe(0);
    const files = (await fs.readdir(path.join(out, 'video'))).sort();
    expect(files).toHaveLength(2);
    for (const f of files) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(200);
    const table = await run(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n').every((l) => l.length < 200)).toBe(true);
  });

  it('duplicate assetIds across pages are listed once and the walk ends', async () => {
    mode = 'duplicates';
    const result = await run(['list', '--json']);
    triedInputs++;
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(30);
  });

  it('bad inputs tried', () => {
    console.log(`bad inputs tried: ${triedInputs}`);
    expect(triedInputs).toBeGreaterThan(40);
  });
});
