// The CLI's last-resort handler (issue 17, item 6): an error that escapes every await becomes one line on stderr,
// without the token and without a stack, and exit code 70. Runs the built module in a child process, where the
// rejection really is unhandled. Needs the built dist/ (npm test builds first).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const TOKEN = 'tok-LASTRESORT-9f8e7d6c5b4a';

function crash(how: string, env: Record<string, string> = {}) {
  const script = `
    const { installLastResort } = await import(${JSON.stringify(path.resolve('dist/commands/last-resort.js'))});
    installLastResort(process.env.USEAPI_TOKEN, Boolean(process.env.RUNWAY_BACKUP_DEBUG));
    ${how}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, USEAPI_TOKEN: TOKEN, RUNWAY_BACKUP_DEBUG: '', ...env },
  });
}

describe('the last-resort handler', () => {
  for (const [what, how] of [
    [
      'an unhandled rejection',
      `Promise.reject(new Error('journal write failed: EIO ${TOKEN}\\nsecond line'));`,
    ],
    [
      'an exception thrown from a timer',
      `setTimeout(() => { throw new Error('stream event ${TOKEN}'); }, 1);`,
    ],
  ] as const) {
    it(`${what}: one line, no token, no stack, exit 70`, () => {
      const result = crash(how);
      expect(result.status).toBe(70);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^runway-backup: internal error: .+ \(a bug: please report it/);
      expect(result.stderr).not.toContain(TOKEN);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('RUNWAY_BACKUP_DEBUG=1 adds the stack, still without the token', () => {
    const result = crash(`Promise.reject(new Error('boom ${TOKEN}'));`, { RUNWAY_BACKUP_DEBUG: '1' });
    expect(result.status).toBe(70);
    expect(result.stderr).toMatch(/\n\s+at /);
    expect(result.stderr).not.toContain(TOKEN);
  });
});
