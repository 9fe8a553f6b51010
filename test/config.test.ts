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
    ['a bad media type', '{"mediaTypes": ["gif"]}', /`mediaTypes` must be a list of video, image, audio/],
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
