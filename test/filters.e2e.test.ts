// Filters from the command line (built CLI; run `npm run build` first): `list --json`, `backup --dry-run` and
// `backup` select exactly the assets the simulator's catalog says match, and a bad value is a one-line usage error.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackupSummary } from '../src/run/backup.js';
import type { ManifestData } from '../src/store/manifest.js';
import { type CliResult, runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

interface Truth {
  assetId: string;
  id: string;
  name: string;
  createdAt: number;
  favorite: boolean;
}

/** The assetIds `list --json` printed. */
function listed(result: CliResult): string[] {
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { assetId: string }).assetId)
    .sort();
}

/** The assets a dry run planned, by the id suffix of each planned main file (previews are off). */
function planned(result: CliResult, truth: Truth[]): string[] {
  expect(result.code, result.stderr).toBe(0);
  const summary = JSON.parse(result.stdout) as BackupSummary & { planned: { path: string }[] };
  return summary.planned
    .map((p) => {
      const id8 = /_([0-9a-f]{8})\.[^./]+$/.exec(p.path)?.[1];
      return truth.find((t) => t.id.startsWith(id8 ?? '-'))?.assetId ?? `unknown ${p.path}`;
    })
    .sort();
}

describe('filters select the same assets in list, backup --dry-run and backup', () => {
  it('--since, --until, --favorites, --match and combinations, against the catalog', async () => {
    const s = await sim({ assets: 60, fixedSizes: 64, uploadShare: 0 });
    const truth: Truth[] = s.assets().map((a) => ({
      assetId: a.assetId,
      id: a.id,
      name: a.name ?? '',
      createdAt: Date.parse(a.createdAt),
      favorite: s.rawAsset(a.assetId)?.favorite === true,
    }));
    const byTime = [...truth].sort((a, b) => a.createdAt - b.createdAt);
    // Exact instants of assets, so the inclusive and exclusive ends are both tested on an asset that sits on them.
    const since = new Date((byTime[15] as Truth).createdAt).toISOString();
    const until = new Date((byTime[45] as Truth).createdAt).toISOString();
    expect(truth.some((t) => t.favorite)).toBe(true);
    expect(truth.some((t) => !t.favorite)).toBe(true);
    const ids = (pick: (t: Truth) => boolean) =>
      truth
        .filter(pick)
        .map((t) => t.assetId)
        .sort();
    const cases: [string[], string[]][] = [
      [['--since', since], ids((t) => t.createdAt >= Date.parse(since))],
      [['--until', until], ids((t) => t.createdAt < Date.parse(until))],
      [
        ['--since', since, '--until', until],
        ids((t) => t.createdAt >= Date.parse(since) && t.createdAt < Date.parse(until)),
      ],
      [['--favorites'], ids((t) => t.favorite)],
      [['--match', 'DOLLY|chess'], ids((t) => /dolly|chess/i.test(t.name))],
      // The /…/ form takes its own flags: without `i`, it is case-sensitive.
      [['--match', '/Gen-4/'], ids((t) => /Gen-4/.test(t.name))],
      [['--since', '2026-11-02'], ids((t) => t.createdAt >= Date.UTC(2026, 10, 2))],
      // Durations count back from now (the catalog's dates are fixed, so the expectation follows the clock).
      [['--until', '7d'], ids((t) => t.createdAt < Date.now() - 7 * 86_400_000)],
      [['--since', '12h'], ids((t) => t.createdAt >= Date.now() - 12 * 3_600_000)],
    ];
    for (const [flags, expected] of cases) {
      expect(expected.length, flags.join(' ')).toBeLessThanOrEqual(truth.length);
      const list = await runCli(['list', '--json', ...flags], env(s));
      expect(listed(list), `list ${flags.join(' ')}`).toEqual(expected);
      const out = await tempDir();
      const dry = await runCli(
        ['backup', '--out', out, '--dry-run', '--json', '--no-previews', ...flags],
        env(s),
      );
      expect(planned(dry, truth), `dry run ${flags.join(' ')}`).toEqual(expected);
    }
    // The selections are not trivial: each case above left something out or kept something.
    expect(cases.filter(([, e]) => e.length > 0 && e.length < truth.length).length).toBeGreaterThanOrEqual(6);
  }, 120_000);

  it('backup fetches exactly what list selects, records the filter, and status shows it', async () => {
    const s = await sim({ assets: 40, fixedSizes: 64, uploadShare: 0 });
    const byTime = s.assets().sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    const since = (byTime[10] as { createdAt: string }).createdAt;
    const flags = ['--since', since, '--match', 'a'];
    const list = listed(await runCli(['list', '--json', ...flags], env(s)));
    expect(list.length).toBeGreaterThan(0);
    expect(list.length).toBeLessThan(40);
    const out = await tempDir();
    const run = await runCli(['backup', '--out', out, '--json', '--no-previews', ...flags], env(s));
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as BackupSummary;
    expect(summary.assetsSeen).toBe(list.length);
    expect(summary.assetsFiltered).toBe(40 - list.length);
    expect(summary.filter).toMatchObject({ since: new Date(since).toISOString(), match: 'a' });
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as ManifestData;
    expect(Object.keys(manifest.assets).sort()).toEqual(list);
    expect(manifest.filter).toMatchObject({ since: new Date(since).toISOString(), match: 'a' });
    const status = await runCli(['status', '--out', out]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`filter: created since ${new Date(since).toISOString()}`);
    expect(status.stdout).toContain('name or prompt matching "a"');
  }, 60_000);

  it.each([
    [['--since', 'yesterday'], /Expected `--since` to be a date .*got "yesterday"/],
    [['--until', '2026-02-30'], /Expected `--until` to be a date .*got "2026-02-30"/],
    [['--since', '2026-11-05', '--until', '2026-11-01'], /--since \(2026-11-05\) to be before --until/],
    [['--match', '(unclosed'], /Expected `--match` to be a regular expression, got "\(unclosed"/],
    [['--match', '/x/g'], /without the g or y flag, got "\/x\/g"/],
  ])('refuses %j with one usage line that shows the value', async (flags, message) => {
    for (const command of ['list', 'backup']) {
      const out = await tempDir();
      const result = await runCli([command, ...(command === 'backup' ? ['--out', out] : []), ...flags], {
        USEAPI_TOKEN: 'user:secret-token-1234',
        USEAPI_BASE_URL: 'http://127.0.0.1:9',
      });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at |secret-token/);
      // Nothing is written but, for backup, the record of the refused run (issue 20: status must say `refused`).
      const written = await fs.readdir(out);
      if (command === 'list') expect(written).toEqual([]);
      else {
        expect(written).toEqual(['.runway-backup-status.json']);
        const record = JSON.parse(await fs.readFile(path.join(out, written[0] as string), 'utf8'));
        expect(record.outcome).toBe('refused');
        expect(JSON.stringify(record)).not.toContain('secret-token');
      }
    }
  });

  it('a bad date in the config file is a usage error naming the field', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'downloads.json');
    await fs.writeFile(config, JSON.stringify({ since: 'last week' }));
    const result = await runCli(['list', '--config', config], {
      USEAPI_TOKEN: 'user:x',
      USEAPI_BASE_URL: 'http://127.0.0.1:9',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Expected `since` in .*downloads\.json to be a date .*got "last week"/);
  });
});
