import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RepairReport } from '../src/run/repair.js';
import type { ManifestData } from '../src/store/manifest.js';
import { readManifest } from './helpers/backup-check.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

async function backedUp() {
  const s = await sim({ assets: 44 });
  const out = await tempDir();
  const first = await runCli(['backup', '--out', out, '--quiet'], env(s));
  expect(first.code).toBe(0);
  // As a backup made before SHA256SUMS existed (test/repair.test.ts covers repair with the one a backup writes).
  await fs.rm(path.join(out, 'SHA256SUMS'), { force: true });
  const data = await readManifest(out);
  const files = Object.values(data.assets).reduce((n, e) => n + e.files.length, 0);
  return { s, out, data, files };
}

/** After a repair: a backup downloads zero bytes (no CDN request at all) and verify is clean. */
async function expectNothingToFetch(s: Awaited<ReturnType<typeof sim>>, out: string, files: number) {
  s.resetStats();
  const again = await runCli(['backup', '--out', out, '--json'], env(s));
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({
    filesDownloaded: 0,
    bytesDownloaded: 0,
    filesSkipped: files,
  });
  expect(s.stats.cdnRequests).toBe(0);
  const verify = await runCli(['verify', '--out', out, '--json']);
  expect(verify.code).toBe(0);
  expect(JSON.parse(verify.stdout)).toMatchObject({
    healthy: true,
    checked: files,
    ok: files,
    untracked: [],
  });
}

describe('runway-backup repair (built CLI, simulator over real sockets)', () => {
  it('a corrupt manifest: backup names repair; repair with the token proves every file; the next backup downloads nothing', async () => {
    const { s, out, files } = await backedUp();
    await fs.writeFile(path.join(out, 'manifest.json'), '{"version":1,"assets":{"asset:');
    const refused = await runCli(['backup', '--out', out], env(s));
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([
      `runway-backup: ${path.join(out, 'manifest.json')} is not valid JSON; it was left untouched: run \`runway-backup repair --out ${out}\` to rebuild it from the files`,
    ]);

    const result = await runCli(['repair', '--out', out, '--json'], env(s));
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as RepairReport;
    expect(report).toMatchObject({
      manifest: 'broken',
      setAside: 'manifest.json.broken-1',
      listed: true,
      assetsListed: 44,
      proven: { manifest: 0, journal: 0, sha256sums: 0, api: files },
      recorded: files,
      unproven: [],
      complete: true,
    });
    expect(result.stderr).toContain(
      `proven: ${files} files (${files} matched to the API by path and size, and hashed`,
    );
    expect(result.stderr).toContain('everything found was proven');
    expect(result.stderr).not.toContain(s.token);
    await expectNothingToFetch(s, out, files);
  });

  it('the journal alone (manifest.json deleted): repair, without a token, replays it; nothing is fetched again', async () => {
    const { s, out, data, files } = await backedUp();
    await fs.writeFile(path.join(out, 'manifest.journal'), journalOf(data));
    await fs.rm(path.join(out, 'manifest.json'));
    const result = await runCli(['repair', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`proven: ${files} files (${files} recorded in the journal)`);
    expect(await fs.readFile(path.join(out, 'manifest.journal')).catch(() => undefined)).toBeUndefined();
    await expectNothingToFetch(s, out, files);
  });

  it('without a token and without a journal: proves what SHA256SUMS proves, says what it could not, exit 1; a token then proves the rest', async () => {
    const { s, out, data, files } = await backedUp();
    const sums = Object.values(data.assets)
      .flatMap((e) => e.files.map((f) => `${f.sha256}  ${f.path}\n`))
      .join('');
    await fs.writeFile(path.join(out, 'SHA256SUMS'), sums);
    await fs.rm(path.join(out, 'manifest.json'));
    const blind = await runCli(['repair', '--out', out, '--json']);
    expect(blind.code).toBe(1);
    const report = JSON.parse(blind.stdout) as RepairReport;
    expect(report).toMatchObject({ listed: false, provenFiles: 0, intactUnmatched: files, complete: false });
    expect(report.unproven).toHaveLength(files);
    expect(
      report.unproven.every((u) => u.kind === 'no-token' && /intact per SHA256SUMS/.test(u.reason)),
    ).toBe(true);
    expect(blind.stderr).toContain('no USEAPI_TOKEN');
    expect(blind.stderr).toContain(
      `not proven: ${files} files (${files} not matched (no token), ${files} of them intact per SHA256SUMS)`,
    );

    const human = await runCli(['repair', '--out', out, '--quiet']);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe('');
    expect(human.stdout.trim().split('\n')).toHaveLength(files);
    expect(human.stdout).toMatch(/^not proven: \w+\/\S.* \(intact per SHA256SUMS, but no token/m);

    const withToken = await runCli(['repair', '--out', out, '--json'], env(s));
    expect(withToken.code).toBe(0);
    expect(JSON.parse(withToken.stdout)).toMatchObject({
      proven: { sha256sums: files, api: 0 },
      complete: true,
    });
    s.resetStats();
    const again = await runCli(['backup', '--out', out, '--json'], env(s));
    expect(JSON.parse(again.stdout)).toMatchObject({ filesDownloaded: 0, filesSkipped: files });
    expect(s.stats.cdnRequests).toBe(0);
  });

  it('bad usage is one line and exit 2: no backup there, an unknown flag', async () => {
    const out = await tempDir();
    const none = await runCli(['repair', '--out', path.join(out, 'missing')]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/^runway-backup: No backup in .*missing: the folder does not exist\n$/);
    const empty = await runCli(['repair', '--out', out]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(
      /^runway-backup: No backup in .*: no manifest, journal, SHA256SUMS or backed-up file/,
    );
    const flag = await runCli(['repair', '--out', out, '--tokn', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^runway-backup: Unknown option '--tokn'.*try --help\n$/);
    const help = await runCli(['repair', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('runway-backup repair: rebuild a lost or broken manifest.json');
  });
});

/** The manifest's records as journal lines: what a first backup killed after its last file leaves. */
function journalOf(data: ManifestData): string {
  const lines: string[] = [];
  for (const [id, { files, ...entry }] of Object.entries(data.assets)) {
    lines.push(JSON.stringify({ op: 'asset', entry }));
    for (const file of files) lines.push(JSON.stringify({ op: 'file', assetId: id, file }));
  }
  return `${lines.join('\n')}\n`;
}
