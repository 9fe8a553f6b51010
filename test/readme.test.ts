import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClient } from '../src/api/client.js';
import { BACKUP_SPEC } from '../src/commands/backup.js';
import { DEMO_SPEC } from '../src/commands/demo.js';
import { FORGET_SPEC } from '../src/commands/forget.js';
import { LIST_SPEC } from '../src/commands/list.js';
import { REPAIR_SPEC } from '../src/commands/repair.js';
import { SIMULATE_SPEC } from '../src/commands/simulate.js';
import { VERIFY_SPEC } from '../src/commands/verify.js';
import { verifyBackup } from '../src/report/verify.js';
import { backup } from '../src/run/backup.js';
import { repair } from '../src/run/repair.js';
import { iterateAssets } from '../src/source/paginate.js';
import { LOCK_NAME } from '../src/store/lock.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const readme = await fs.readFile('README.md', 'utf8');

/** The README's section under `## title`, up to the next `## `. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README section "${title}"`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('item 15: the README says what the program does', () => {
  it('documents every flag of every command, the idle timeout and --retries among them', () => {
    for (const spec of [BACKUP_SPEC, LIST_SPEC, VERIFY_SPEC, FORGET_SPEC, DEMO_SPEC, REPAIR_SPEC]) {
      for (const name of Object.keys(spec.flags))
        expect(readme, `${spec.name} --${name}`).toContain(`--${name}`);
    }
    expect(section('Back up')).toMatch(/^\| `--retries N` /m);
    expect(section('Back up')).toMatch(/^\| `--timeout SECONDS` /m);
    expect(Object.keys(SIMULATE_SPEC.flags).length).toBeGreaterThan(0);
  });

  it('stands on its own: no design document outside the repository is cited', () => {
    expect(readme).not.toMatch(/DESIGN\.md/);
  });

  it('lists the lock file among the files in the output folder', () => {
    expect(section('Files in the output folder')).toContain(LOCK_NAME);
  });

  it("names every field of backup's --json summary, of verify's --json report and of list --json", async () => {
    const s = await sim({ assets: 3 });
    const out = await tempDir();
    const summary = await backup({ token: s.token, baseUrl: s.url, out });
    // The CLI adds these two to what backup() returns (commands/backup.ts).
    const backupFields = [...Object.keys(summary), 'incompleteWindows', 'planned'];
    const backUp = section('Back up');
    for (const field of backupFields) expect(backUp, field).toContain(`\`${field}\``);

    const report = await verifyBackup({ out });
    const verify = section('Verify');
    for (const field of Object.keys(report)) expect(verify, field).toContain(`\`${field}\``);

    const repaired = await repair({ out, token: s.token, baseUrl: s.url, dryRun: true });
    const repairSection = section('Repair');
    for (const field of [...Object.keys(repaired), ...Object.keys(repaired.proven)])
      expect(repairSection, field).toContain(`\`${field}\``);

    const client = createClient({ token: s.token, baseUrl: s.url });
    const list = section('List');
    for await (const asset of iterateAssets(client)) {
      const { raw: _raw, ...printed } = asset; // what `list --json` prints (commands/list.ts)
      for (const field of Object.keys(printed)) expect(list, field).toContain(`\`${field}\``);
    }
    client.close();
    expect(list).not.toMatch(/as the API gave it/);
  });
});
