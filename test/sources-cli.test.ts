import { describe, expect, it } from 'vitest';
import type { BackupSummary } from '../src/run/backup.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

// Run `npm run build` first: these start the built CLI.
const env = (s: { url: string; token: string }) => ({ USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url });

describe('the task history from the command line', () => {
  it('list shows where each asset came from, in the table and in --json', async () => {
    const s = await sim({ assets: 1070, mediaMix: { video: 1 }, uploadShare: 0, fixedSizes: 10 });
    const table = await runCli(['list'], env(s));
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(1070);
    expect(rows.filter((r) => /^\S{8}\s+video\s+assets\s/.test(r))).toHaveLength(1050);
    expect(rows.filter((r) => /^\S{8}\s+video\s+tasks\s/.test(r))).toHaveLength(20);
    expect(table.stderr).toContain('1050 from the assets listing, 20 more from the task history');
    expect(table.stderr).toMatch(/window capped: video \(1050 seen\); older assets may exist beyond it\n$/);

    const json = await runCli(['list', '--json'], env(s));
    const items = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { assetId: string; source: string; taskId?: string });
    expect(items.map((i) => i.assetId).sort()).toEqual(
      s
        .assets()
        .map((a) => a.assetId)
        .sort(),
    );
    const fromTasks = items.filter((i) => i.source === 'tasks');
    expect(fromTasks).toHaveLength(20);
    expect(fromTasks.every((i) => /-task:/.test(i.taskId ?? ''))).toBe(true);

    s.resetStats();
    const never = await runCli(['list', '--task-history', 'never'], env(s));
    expect(never.stdout.trim().split('\n')).toHaveLength(1051);
    expect(never.stderr).toMatch(/window capped: video \(1050 seen\).*task history was not walked/);
    expect(s.stats.taskQueries).toEqual([]);
  });

  it('backup reaches past the window by default; --task-history never leaves it alone and says so', async () => {
    const s = await sim({ assets: 1060, mediaMix: { video: 1 }, uploadShare: 0, fixedSizes: 200 });
    const out = await tempDir();
    const never = await runCli(
      ['backup', '--out', out, '--no-previews', '--concurrency', '16', '--json', '--task-history', 'never'],
      env(s),
    );
    expect(never.code).toBe(0);
    const partial = JSON.parse(never.stdout) as BackupSummary;
    expect(partial).toMatchObject({
      filesDownloaded: 1050,
      cappedWindows: [{ window: 'video', seen: 1050 }],
    });
    expect(never.stderr).toContain(
      'warning: video window capped (1050 seen): older assets may exist beyond it',
    );
    // Not walked for assets: the 10 past the window stay out of reach. The generation records are still read from
    // the task listing, in pages of 1,000 (at most three requests: README, "What is kept for each asset").
    expect(s.stats.taskQueries.length).toBeLessThanOrEqual(3);
    for (const q of s.stats.taskQueries) expect(q).toMatch(/limit=1000&statuses=SUCCEEDED$/);

    const auto = await runCli(
      ['backup', '--out', out, '--no-previews', '--concurrency', '16', '--json'],
      env(s),
    );
    expect(auto.code).toBe(0);
    const rest = JSON.parse(auto.stdout) as BackupSummary;
    expect(rest).toMatchObject({ filesDownloaded: 10, filesSkipped: 1050, filesFailed: 0 });
    expect(rest.artifactsSkipped).toEqual({ deleted: 0, directory: 0 });
    expect(s.stats.taskQueries.length).toBeGreaterThan(0);
    // Said once, while it happens: the capped warning is not the last word.
    expect(auto.stderr.match(/walking the task history/g)).toHaveLength(1);
  });

  it.each([['list'], ['backup']])(
    '%s --task-history with a bad value is one line, exit 2',
    async (command) => {
      const result = await runCli([command, '--task-history', 'sometimes'], { USEAPI_TOKEN: 'tok' });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'runway-backup: Expected `task-history` to be one of auto, always, never, got "sometimes"\n',
      );
    },
  );
});
