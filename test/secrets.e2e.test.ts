import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles } from './helpers/backup-check.js';
import { type CliResult, finished, runCli, spawnCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const TOKEN = 'user:4242-SECRET-t0ken-zq9x7';
// Signed URLs are credentials until they expire: their query strings must not be printed or stored either.
const URL_SECRETS = /Signature=|Expires=|X-Amz-|_jwt=/;

describe('the token and signed URLs never leak', () => {
  it('appears in no output and no file, whatever the command and however it ends', async () => {
    const s = await sim({ assets: 25, token: TOKEN, cdnFaults: { reset: 0.2, maxPerFile: 1 } });
    const parent = await tempDir();
    const out = path.join(parent, 'out');
    const env = { USEAPI_TOKEN: TOKEN, USEAPI_BASE_URL: s.url, RUNWAY_BACKUP_DEBUG: '1' };
    const results: CliResult[] = [];

    results.push(await runCli(['list'], env));
    results.push(await runCli(['backup', '--out', out, '--dry-run'], env));
    // Interrupted mid-run (leaves .part files and the journal with resume validators), then completed with sidecars.
    s.configure({ cdnBytesPerSecond: 300_000 });
    const child = spawnCli(['backup', '--out', out, '--metadata'], env);
    const done = finished(child);
    await expect
      .poll(
        async () => {
          const files = await listFiles(out).catch((): string[] => []);
          return files.some((f) => f.endsWith('.part')) && files.includes('manifest.journal');
        },
        { timeout: 10_000, interval: 20 },
      )
      .toBe(true);
    child.kill('SIGKILL');
    results.push(await done);
    for (const f of await listFiles(out)) {
      expect(await fs.readFile(path.join(out, f), 'latin1'), f).not.toContain(TOKEN);
    }
    s.configure({ cdnBytesPerSecond: undefined });
    results.push(await runCli(['backup', '--out', out, '--metadata', '--json'], env));
    expect(results.at(-1)?.code).toBe(0);
    results.push(await runCli(['verify', '--out', out, '--json'], env));

    // Failing runs: every CDN request fails (messages name the file's URL), and the API refuses the token.
    s.configure({ cdnFaults: { status5xx: 1, maxPerFile: 1000 } });
    const failing = path.join(parent, 'failing');
    const failed = await runCli(['backup', '--out', failing, '--retries', '0', '--json'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/failed: .*answered 503/);
    results.push(failed);
    const other = await sim({ assets: 3, token: 'a-different-token' });
    const refused = await runCli(['backup', '--out', path.join(parent, 'refused')], {
      ...env,
      USEAPI_BASE_URL: other.url,
    });
    expect(refused.code).toBe(3);
    results.push(refused, await runCli(['list', '--json'], { ...env, USEAPI_BASE_URL: other.url }));
    results.push(await runCli(['list', '--base-url', 'http://127.0.0.1:9', '--retries', '0'], env));

    for (const r of results) {
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(r.stderr).not.toMatch(URL_SECRETS);
    }
    // --json summaries and list --json carry no signed URL query either... except `list --json`, which prints
    // the asset as the API gave it, URLs included, on request: it is the one documented place they appear.
    for (const r of results.slice(1))
      if (!r.stdout.startsWith('{"assetId"')) expect(r.stdout).not.toMatch(URL_SECRETS);
    const files = await listFiles(parent);
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) {
      const text = await fs.readFile(path.join(parent, f), 'latin1');
      expect(text, f).not.toContain(TOKEN);
      if (f.endsWith('.json') || f.includes('manifest')) expect(text, f).not.toMatch(URL_SECRETS);
    }
  }, 60_000);

  it('an API that quotes the token back in its errors: no failure reason, run record, status or stderr holds it', async () => {
    // Two accounts, one the API does not know (a refusal whose text quotes the Authorization header back), one
    // that works but whose deleted asset's by-id lookup is refused the same way; and a wrong token (401, quoted).
    const s = await sim({
      assets: 6,
      accounts: ['one@example.com', 'two@example.com'],
      token: TOKEN,
      echoToken: true,
    });
    const parent = await tempDir();
    const out = path.join(parent, 'out');
    const env = { USEAPI_TOKEN: TOKEN, USEAPI_BASE_URL: s.url, RUNWAY_BACKUP_DEBUG: '1' };
    // The simulator really does quote it: the check below could not pass by the API never sending it.
    const raw = await fetch(`${s.url}/v1/runwayml/assets/?offset=0&limit=1&email=nobody@example.com`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await raw.text()).toContain(TOKEN);

    const results: CliResult[] = [];
    const partly = await runCli(
      ['backup', '--out', out, '--email', 'one@example.com', '--email', 'nobody@example.com', '--json'],
      env,
    );
    expect(partly.code).toBe(3);
    expect(JSON.parse(partly.stdout).failedAccounts).toHaveLength(1);
    expect(JSON.parse(partly.stdout).failedAccounts[0].reason).toContain('***');
    results.push(
      partly,
      await runCli(['status', '--out', out], env),
      await runCli(['status', '--out', out, '--json'], env),
    );
    const wrong = await runCli(['list', '--email', 'one@example.com'], {
      ...env,
      USEAPI_TOKEN: `${TOKEN}-old`,
    });
    expect(wrong.code).toBe(3);
    results.push(wrong);
    for (const r of results) expect(r.stdout + r.stderr).not.toContain(TOKEN);
    for (const f of await listFiles(parent)) {
      expect(await fs.readFile(path.join(parent, f), 'latin1'), f).not.toContain(TOKEN);
    }
  }, 60_000);
});
