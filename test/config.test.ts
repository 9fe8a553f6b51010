import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/commands/settings.js';
import { loadConfigFile } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { tempDir } from './helpers/tmp.js';

const EXAMPLE = path.resolve('downloads.example.json');

async function configWith(content: string): Promise<string> {
  const dir = await tempDir();
  const file = path.join(dir, 'downloads.json');
  await fs.writeFile(file, content);
  return file;
}

describe('config file', () => {
  it('downloads.example.json loads, and documents every field it sets', async () => {
    const config = await loadConfigFile(EXAMPLE);
    expect(config).toEqual({
      out: path.resolve('runway-backup'),
      accounts: [],
      mediaTypes: ['video', 'image', 'audio'],
      concurrency: 'auto',
      previews: true,
      metadata: false,
      baseUrl: 'https://api.useapi.net',
      retries: 5,
      timeoutSeconds: 30,
      taskHistory: 'auto',
      since: null,
      until: null,
      favorites: false,
      match: null,
      exclude: [],
      mtime: true,
      layout: '{mediaType}/{date}_{name}_{id8}.{ext}',
      timezone: 'UTC',
      limitRate: 'off',
      maxDuration: '6h',
      logFile: path.resolve('runway-backup.log'),
      logFormat: 'text',
      onFinish: '[ "$RUNWAY_BACKUP_EXIT_CODE" = 0 ] || echo "runway-backup: $RUNWAY_BACKUP_STATE" >&2',
      metricsFile: path.resolve('runway-backup.prom'),
    });
    const raw = JSON.parse(await fs.readFile(EXAMPLE, 'utf8')) as Record<string, unknown>;
    for (const key of Object.keys(config))
      expect(raw[`//${key}`], `comment for ${key}`).toEqual(expect.any(String));
  });

  it.each([
    ['not JSON', '{out: x}', /is not valid JSON/],
    ['an array', '[]', /must hold a JSON object/],
    ['an unknown field', '{"mediatypes": ["video"]}', /unknown field "mediatypes"/],
    ['a token', '{"token": "abc"}', /do not put the token in a file; set USEAPI_TOKEN/],
    ['a bad type', '{"concurrency": "4"}', /`concurrency` must be "auto" or an integer from 1 to 32/],
    [
      'a bad media type',
      '{"mediaTypes": ["gif"]}',
      /`mediaTypes` must be video, image, audio, or a list of them/,
    ],
    ['an empty media list', '{"mediaTypes": []}', /`mediaTypes`/],
    ['a bad flag', '{"previews": "yes"}', /`previews` must be true or false/],
    ['a bad URL', '{"baseUrl": "ftp://x"}', /`baseUrl` must be an http\(s\) URL/],
  ])('refuses %s with a clear error', async (_name, content, message) => {
    const file = await configWith(content);
    const error = await loadConfigFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('a missing file is a clear error', async () => {
    await expect(loadConfigFile('/nonexistent/downloads.json')).rejects.toThrow(
      'Cannot read config file /nonexistent/downloads.json: no such file',
    );
  });

  it('precedence: flags > environment > file > defaults', async () => {
    const file = await configWith(
      JSON.stringify({
        out: 'from-file',
        concurrency: 7,
        baseUrl: 'http://file.test',
        accounts: ['f@x.io'],
        previews: false,
      }),
    );
    const env = { USEAPI_TOKEN: 't', USEAPI_BASE_URL: 'http://env.test', USEAPI_EMAIL: 'e@x.io' };
    const fromFile = await resolveSettings({ config: file }, { USEAPI_TOKEN: 't' });
    expect(fromFile).toMatchObject({
      out: path.join(path.dirname(file), 'from-file'),
      concurrency: 7,
      baseUrl: 'http://file.test',
      accounts: ['f@x.io'],
      previews: false,
      metadata: false,
      mediaTypes: ['video', 'image', 'audio'],
    });
    const fromEnv = await resolveSettings({ config: file }, env);
    expect(fromEnv).toMatchObject({ baseUrl: 'http://env.test', accounts: ['e@x.io'], concurrency: 7 });
    const fromFlags = await resolveSettings(
      {
        config: file,
        baseUrl: 'http://flag.test',
        email: ['g@x.io'],
        concurrency: 2,
        out: 'o',
        mediaType: ['video'],
      },
      env,
    );
    expect(fromFlags).toMatchObject({
      baseUrl: 'http://flag.test',
      accounts: ['g@x.io'],
      concurrency: 2,
      out: path.resolve('o'),
      mediaTypes: ['video'],
    });
    const defaults = await resolveSettings({}, { USEAPI_TOKEN: 't' });
    expect(defaults).toMatchObject({
      baseUrl: 'https://api.useapi.net',
      concurrency: 'auto',
      previews: true,
      out: path.resolve('runway-backup'),
      accounts: [],
    });
  });

  it('item 9: `~` in `out` (config file or flag) is the home folder, not a folder named ~', async () => {
    const file = await configWith('{"out": "~/runway"}');
    expect((await loadConfigFile(file)).out).toBe(path.join(os.homedir(), 'runway'));
    expect((await loadConfigFile(await configWith('{"out": "~"}'))).out).toBe(os.homedir());
    // Only a leading `~/` is the home: `~user` and a `~` inside a name are names.
    const named = await configWith('{"out": "a~/b"}');
    expect((await loadConfigFile(named)).out).toBe(path.resolve(path.dirname(named), 'a~/b'));
    const settings = await resolveSettings({ out: '~/elsewhere' }, { USEAPI_TOKEN: 't' });
    expect(settings.out).toBe(path.join(os.homedir(), 'elsewhere'));
  });

  it('item 15: the idle timeout comes from --timeout (seconds), else the file, else 30 s', async () => {
    const file = await configWith('{"timeoutSeconds": 12}');
    const env = { USEAPI_TOKEN: 't' };
    expect((await resolveSettings({ config: file }, env)).timeoutMs).toBe(12_000);
    expect((await resolveSettings({ config: file, timeout: 5 }, env)).timeoutMs).toBe(5_000);
    expect((await resolveSettings({}, env)).timeoutMs).toBe(30_000);
  });
});

describe('config file: small stumbles (issue 17, item 14)', () => {
  it('a JSON error names the line and column, not a character offset, and does not quote the file', async () => {
    const cases: [string, string][] = [
      ['{\n  "out": "x",\n  "previews": tru\n}', 'unexpected end of line at line 3, column 18'],
      ['{\n  "out": "x"\n  "previews": true\n}', 'unexpected "\\"" at line 3, column 3'],
      ['{\n  "out": "x",\n}', 'unexpected "}" at line 3, column 1'],
      ['{"out": "x"', 'unexpected end of file at line 1, column 12'],
    ];
    for (const [text, where] of cases) {
      const error = await loadConfigFile(await configWith(text)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message, text).toContain(where);
      expect(message).not.toMatch(/position \d+/);
      expect(message).not.toContain('\n');
      expect(message).not.toContain('"previews"');
    }
  });

  it('media types: one string is a list of one, a comma list works, and case does not matter', async () => {
    for (const [value, want] of [
      ['"video"', ['video']],
      ['"Video"', ['video']],
      ['"video,Image"', ['video', 'image']],
      ['["AUDIO", "video"]', ['audio', 'video']],
    ] as const) {
      const config = await loadConfigFile(await configWith(`{"mediaTypes": ${value}}`));
      expect(config.mediaTypes, value).toEqual(want);
    }
    await expect(loadConfigFile(await configWith('{"mediaTypes": "gif"}'))).rejects.toThrow(/`mediaTypes`/);
    await expect(loadConfigFile(await configWith('{"mediaTypes": ""}'))).rejects.toThrow(/`mediaTypes`/);
  });
});

describe('flags and commands: small stumbles (issue 17, item 14)', () => {
  it('--media-type is case-insensitive', async () => {
    const { parseMediaTypes } = await import('../src/commands/args.js');
    expect(parseMediaTypes(['Video,IMAGE'])).toEqual(['video', 'image']);
    expect(() => parseMediaTypes(['gif'])).toThrow(/--media-type/);
  });

  it('a mistyped command or flag gets a "did you mean"', async () => {
    const { didYouMean, parseFlags } = await import('../src/commands/args.js');
    const commands = ['backup', 'list', 'verify', 'gallery', 'status', 'demo', 'simulate'];
    expect(didYouMean('bakup', commands)).toBe('backup');
    expect(didYouMean('veirfy', commands)).toBe('verify');
    expect(didYouMean('stats', commands)).toBe('status');
    expect(didYouMean('frobnicate', commands)).toBeUndefined();
    expect(() => parseFlags(['--concurency', '4'], { concurrency: { type: 'string' } })).toThrow(
      /Unknown option '--concurency'; did you mean --concurrency\?/,
    );
    expect(() => parseFlags(['--frobnicate'], { concurrency: { type: 'string' } })).toThrow(
      /^Unknown option '--frobnicate'; try --help$/,
    );
  });
});

describe('layout in the config file (issue 19)', () => {
  it('a config layout and time zone reach the run; a bad one is a usage error that shows it', async () => {
    const file = await configWith('{"layout": "{year}/{name}_{id8}.{ext}", "timezone": "Europe/Berlin"}');
    const settings = await resolveSettings({ config: file }, { USEAPI_TOKEN: 'tok-1234' });
    expect(settings.layout).toBe('{year}/{name}_{id8}.{ext}');
    expect(settings.timeZone).toBe('Europe/Berlin');
    const flagWins = await resolveSettings(
      { config: file, layout: '{id8}.{ext}' },
      { USEAPI_TOKEN: 'tok-1234' },
    );
    expect(flagWins.layout).toBe('{id8}.{ext}');
    const { resolveBackupOptions } = await import('../src/run/options.js');
    const base = { token: 'tok-1234', out: '/tmp/x' };
    expect(() => resolveBackupOptions({ ...base, layout: '{year}/{nmae}_{id8}.{ext}' })).toThrow(
      /unknown placeholder \{nmae\}/,
    );
    expect(() => resolveBackupOptions({ ...base, timeZone: 'Mars/Olympus' })).toThrow(
      /--timezone.*"Mars\/Olympus"/,
    );
  });
});
