import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackupSummary } from '../src/run/backup.js';
import { runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const TOKEN = 'user:9f8e7d6c-TOKEN-SECRET';
const env = (s: { url: string }) => ({ USEAPI_TOKEN: TOKEN, USEAPI_BASE_URL: s.url });
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d /;

/** The samples of a Prometheus text file, checked line by line: every sample has its HELP and TYPE before it. */
function parseProm(text: string): Map<string, { labels: Record<string, string>; value: number }> {
  const samples = new Map<string, { labels: Record<string, string>; value: number }>();
  const typed = new Set<string>();
  const helped = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? helped : typed).add(meta[2] as string);
      if (meta[1] === 'TYPE') expect(meta[3]).toMatch(/^(gauge|counter)$/);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*)\} (\S+)$/.exec(line);
    expect(sample, line).not.toBeNull();
    const [, name, labelText, value] = sample as RegExpExecArray;
    expect(helped.has(name as string) && typed.has(name as string), name).toBe(true);
    const labels = Object.fromEntries(
      [...(labelText as string).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    expect(Number.isFinite(Number(value)), line).toBe(true);
    samples.set(name as string, { labels, value: Number(value) });
  }
  return samples;
}

describe('issue 20, item 2: --log-file', () => {
  it('one timestamped line per event worth one, start to end; never the token; JSON lines with --log-format json', async () => {
    const s = await sim({ token: TOKEN, assets: 6, cdnFaults: { status5xx: 0.5, maxPerFile: 1 } });
    const dir = await tempDir();
    const out = path.join(dir, 'backup');
    const log = path.join(dir, 'runway.log');
    const run = await runCli(['backup', '--out', out, '-q', '--log-file', log, '--timeout', '5'], env(s));
    expect(run.code).toBe(0);
    const lines = (await fs.readFile(log, 'utf8')).trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(STAMP);
    expect(lines[0]).toMatch(
      new RegExp(`start: backup into ${out} \\(pid \\d+\\) .*mediaTypes=video,image,audio`),
    );
    expect(lines.some((l) => / retry: .*: .*answered 503; attempt 2 in \d+ ms/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/ end: done, exit 0: 6 assets, \d+ files downloaded/);
    expect(lines.join('\n')).not.toContain(TOKEN);

    // Appended, file opened anew for each write: after logrotate's rename (or copytruncate) the next run starts
    // a fresh file, and nothing of the old one is overwritten.
    await fs.rename(log, `${log}.1`);
    const json = await runCli(
      ['backup', '--out', out, '-q', '--log-file', log, '--log-format', 'json'],
      env(s),
    );
    expect(json.code).toBe(0);
    const events = (await fs.readFile(log, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; event: string; exitCode?: number });
    expect(events[0]?.event).toBe('start');
    expect(events.at(-1)).toMatchObject({ event: 'end', exitCode: 0, state: 'done' });
    for (const e of events) expect(`${e.time} `).toMatch(STAMP);
    expect((await fs.readFile(`${log}.1`, 'utf8')).split('\n')[0]).toBe(lines[0]);
  });

  it('a refused run is logged too (the config names the log file, relative to its folder)', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'downloads.json');
    await fs.writeFile(config, JSON.stringify({ out: 'backup', logFile: 'logs.txt' }));
    await fs.mkdir(path.join(dir, 'backup'));
    const refused = await runCli(['backup', '--config', config, '-q'], {});
    expect(refused.code).toBe(2);
    const text = await fs.readFile(path.join(dir, 'logs.txt'), 'utf8');
    expect(text).toMatch(/ end: refused, exit 2: No API token/);
  });
});

describe('issue 20, item 4: --on-finish', () => {
  it('runs once after the run with the outcome in RUNWAY_BACKUP_*, never the token; its failure keeps the exit code', async () => {
    const s = await sim({ token: TOKEN, assets: 5 });
    const dir = await tempDir();
    const out = path.join(dir, 'backup');
    const dump = path.join(dir, 'env.txt');
    const hook = `env > '${dump}'; echo hook-ran >&2; exit 7`;
    const run = await runCli(['backup', '--out', out, '-q', '--json', '--on-finish', hook], {
      ...env(s),
      OTHER_COPY: TOKEN,
    });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as BackupSummary; // the hook's output did not reach stdout
    expect(run.stderr).toBe('hook-ran\nrunway-backup: the --on-finish command failed (exit 7)\n');
    const vars = Object.fromEntries(
      (await fs.readFile(dump, 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('RUNWAY_BACKUP_'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(vars).toMatchObject({
      RUNWAY_BACKUP_EXIT_CODE: '0',
      RUNWAY_BACKUP_STATE: 'done',
      RUNWAY_BACKUP_OUT: out,
      RUNWAY_BACKUP_FILES_DOWNLOADED: String(summary.filesDownloaded),
      RUNWAY_BACKUP_BYTES_DOWNLOADED: String(summary.bytesDownloaded),
      RUNWAY_BACKUP_FILES_FAILED: '0',
      RUNWAY_BACKUP_ASSETS_SEEN: '5',
    });
    const record = JSON.parse(await fs.readFile(vars.RUNWAY_BACKUP_SUMMARY_FILE as string, 'utf8')) as {
      summary: BackupSummary;
    };
    expect(record.summary.filesDownloaded).toBe(summary.filesDownloaded);
    const all = await fs.readFile(dump, 'utf8');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toMatch(/^USEAPI_TOKEN=/m);
  });

  it('runs after a refused run too, with its state and exit code', async () => {
    const dir = await tempDir();
    const dump = path.join(dir, 'env.txt');
    const run = await runCli(
      [
        'backup',
        '--out',
        dir,
        '-q',
        '--on-finish',
        `echo "$RUNWAY_BACKUP_STATE $RUNWAY_BACKUP_EXIT_CODE" > '${dump}'`,
      ],
      {},
    );
    expect(run.code).toBe(2);
    expect(await fs.readFile(dump, 'utf8')).toBe('refused 2\n');
  });
});

describe('issue 20, item 5: --metrics-file', () => {
  it('writes the Prometheus text format, runway_backup_* only, with the values of --json', async () => {
    const s = await sim({
      token: TOKEN,
      assets: 1060,
      mediaMix: { video: 1 },
      uploadShare: 0,
      fixedSizes: 10,
    });
    const dir = await tempDir();
    const out = path.join(dir, 'backup');
    const metrics = path.join(dir, 'runway_backup.prom');
    const args = ['backup', '--out', out, '--json', '-q', '--no-previews', '--task-history', 'never'];
    const run = await runCli([...args, '--metrics-file', metrics, '--no-gallery'], env(s));
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as BackupSummary;
    const text = await fs.readFile(metrics, 'utf8');
    const samples = parseProm(text);
    for (const name of samples.keys()) expect(name).toMatch(/^runway_backup_/);
    const value = (name: string) => samples.get(`runway_backup_${name}`)?.value;
    expect(value('last_exit_code')).toBe(0);
    expect(value('last_success')).toBe(1);
    expect(value('files_downloaded')).toBe(summary.filesDownloaded);
    expect(value('bytes_downloaded')).toBe(summary.bytesDownloaded);
    expect(value('files_failed')).toBe(summary.filesFailed);
    expect(value('assets_seen')).toBe(summary.assetsSeen);
    expect(value('assets_in_backup')).toBe(1050);
    expect(value('capped_windows')).toBe(summary.cappedWindows.length);
    expect(value('capped_windows')).toBe(1);
    const start = value('last_start_timestamp_seconds') as number;
    const end = value('last_end_timestamp_seconds') as number;
    expect(end).toBeGreaterThanOrEqual(start);
    expect(Math.abs(end - Date.now() / 1000)).toBeLessThan(600);
    expect(samples.get('runway_backup_last_state')?.labels).toEqual({ out, state: 'done' });
    expect(samples.get('runway_backup_files_downloaded')?.labels).toEqual({ out });
    // Written atomically: no temp file is left beside it.
    expect(await fs.readdir(dir)).toEqual(['backup', 'runway_backup.prom']);
  }, 120_000);
});
