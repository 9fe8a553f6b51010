import { execFile } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BACKUP_FLAGS } from '../src/commands/backup.js';
import { STATUS_SPEC } from '../src/commands/status.js';
import { EXIT } from '../src/exit-codes.js';
import { CLI, runCli } from './helpers/cli.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

/** A systemd unit file: section -> key -> values (a key may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const unit: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = {};
      unit[head[1] as string] = section;
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    expect(pair, line).not.toBeNull();
    expect(section, line).toBeDefined();
    const [, key, value] = pair as RegExpExecArray;
    const values = section?.[key as string] ?? [];
    values.push(value as string);
    if (section) section[key as string] = values;
  }
  return unit;
}

/** The `--flags` in a command line after `runway-backup <command>`, each checked against the command's flags. */
function expectKnownFlags(words: string[], known: Record<string, unknown>): void {
  for (const word of words.filter((w) => w.startsWith('--'))) {
    expect(Object.keys(known), word).toContain(word.slice(2).split('=')[0]);
  }
}

const KNOWN_KEYS: Record<string, string[]> = {
  Unit: ['Description', 'Wants', 'After'],
  Service: ['Type', 'EnvironmentFile', 'ExecStart', 'SuccessExitStatus', 'Nice', 'IOSchedulingClass'],
  Timer: ['OnCalendar', 'Persistent', 'RandomizedDelaySec'],
  Install: ['WantedBy'],
};

describe('issue 20, item 7: deploy/ files use the flags as they are', () => {
  it('the systemd service and timer: known sections and keys, flags of backup, exit 75 a success', () => {
    const service = parseUnit(readFileSync('deploy/systemd/runway-backup.service', 'utf8'));
    const timer = parseUnit(readFileSync('deploy/systemd/runway-backup.timer', 'utf8'));
    for (const unit of [service, timer]) {
      for (const [section, keys] of Object.entries(unit)) {
        for (const key of Object.keys(keys))
          expect(KNOWN_KEYS[section] ?? [], `${section}.${key}`).toContain(key);
      }
    }
    const exec = service.Service?.ExecStart?.[0]?.split(/\s+/) ?? [];
    expect(exec.slice(1, 2)).toEqual(['backup']);
    expectKnownFlags(exec.slice(2), BACKUP_FLAGS);
    expect(exec).toContain('--quiet');
    expect(service.Service?.SuccessExitStatus).toEqual([String(EXIT.timeLimit)]);
    expect(service.Service?.Type).toEqual(['oneshot']);
    expect(timer.Timer?.OnCalendar).toEqual(['*-*-* 03:00:00']);
    expect(timer.Install?.WantedBy).toEqual(['timers.target']);
  });

  it('the Kubernetes CronJob: Forbid, a volume holding --out, the token from a Secret, flags of backup', () => {
    const job = parse(readFileSync('deploy/kubernetes/cronjob.yaml', 'utf8')) as {
      kind: string;
      spec: {
        concurrencyPolicy: string;
        jobTemplate: {
          spec: { template: { spec: { containers: Container[]; volumes: { name: string }[] } } };
        };
      };
    };
    interface Container {
      args: string[];
      env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
      volumeMounts: { name: string; mountPath: string }[];
    }
    expect(job.kind).toBe('CronJob');
    expect(job.spec.concurrencyPolicy).toBe('Forbid');
    const pod = job.spec.jobTemplate.spec.template.spec;
    const [container] = pod.containers;
    expect(container?.args[0]).toBe('backup');
    expectKnownFlags(container?.args ?? [], BACKUP_FLAGS);
    const token = container?.env.find((e) => e.name === 'USEAPI_TOKEN');
    expect(token?.value).toBeUndefined();
    expect(token?.valueFrom?.secretKeyRef?.key).toBe('USEAPI_TOKEN');
    const out = container?.args[container.args.indexOf('--out') + 1] ?? '';
    const mount = container?.volumeMounts.find((m) => out.startsWith(`${m.mountPath}/`));
    expect(mount, out).toBeDefined();
    expect(pod.volumes.map((v) => v.name)).toContain(mount?.name);
  });

  it('the crontab sets PATH, and its commands use the flags of backup and status', () => {
    const lines = readFileSync('deploy/cron/crontab', 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lines[0]).toMatch(/^PATH=.*\/usr\/local\/bin/);
    const commands = lines
      .slice(1)
      .flatMap((l) => [...l.matchAll(/runway-backup (backup|status)([^|;&)]*)/g)]);
    expect(commands.map((m) => m[1])).toEqual(['backup', 'status']);
    for (const m of commands) {
      const words = (m[2] as string).split(/\s+/);
      expectKnownFlags(words, m[1] === 'backup' ? BACKUP_FLAGS : STATUS_SPEC.flags);
    }
  });

  it('the 08:00 line mails each failed file once when the night failed, and nothing after a good night', async () => {
    const line = readFileSync('deploy/cron/crontab', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0 8 '));
    // As cron runs it: `\%` is a `%`, and `runway-backup` the built CLI.
    const shell = (line ?? '').replace(/^(\S+\s+){5}/, '').replace(/\\%/g, '%');
    const home = await tempDir();
    const config = path.join(home, '.config/runway-backup/downloads.json');
    await fs.mkdir(path.dirname(config), { recursive: true });
    await fs.writeFile(config, JSON.stringify({ out: '../../runway' }));
    const run = (): Promise<string> =>
      new Promise((resolve) => {
        const bin = path.join(home, 'bin');
        void fs
          .mkdir(bin, { recursive: true })
          .then(() =>
            fs.writeFile(
              path.join(bin, 'runway-backup'),
              `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`,
              { mode: 0o755 },
            ),
          )
          .then(() =>
            execFile(
              '/bin/sh',
              ['-c', shell],
              { env: { HOME: home, PATH: `${bin}:/usr/bin:/bin` } },
              (_e, stdout) => resolve(stdout),
            ),
          );
      });
    const s = await sim({ assets: 4, cdnFaults: { status5xx: 1, maxPerFile: 100 } });
    const out = path.join(home, 'runway');
    const env = { USEAPI_TOKEN: s.token, USEAPI_BASE_URL: s.url };
    expect((await runCli(['backup', '--config', config, '-q', '--retries', '0'], env)).code).toBe(1);
    const mail = await run();
    expect(mail).toMatch(/^some files failed: /);
    const record = JSON.parse(await fs.readFile(path.join(out, '.runway-backup-status.json'), 'utf8')) as {
      summary: { failures: { path: string }[] };
    };
    for (const f of record.summary.failures) expect(mail.split(`failed: ${f.path}:`)).toHaveLength(2);

    const good = await sim({ assets: 2 });
    const goodOut = path.join(home, 'good');
    await fs.writeFile(config, JSON.stringify({ out: '../../good' }));
    const goodEnv = { USEAPI_TOKEN: good.token, USEAPI_BASE_URL: good.url };
    expect((await runCli(['backup', '--out', goodOut, '-q'], goodEnv)).code).toBe(0);
    expect(await run()).toBe('');
  });
});
