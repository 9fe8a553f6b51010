import { loadConfigFile } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, plural, printable } from '../report/format.js';
import { verifyBackup } from '../report/verify.js';
import { describeFilter } from '../store/wanted.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { resolveOut } from './settings.js';
import { onInterrupt } from './signals.js';

const VERIFY_FLAGS = {
  out: SHARED_FLAGS.out,
  quick: { type: 'boolean', help: 'check presence and size only, not sha256' },
  config: { ...SHARED_FLAGS.config, help: 'take the backup folder (`out`) from a JSON config file' },
  json: { type: 'boolean', help: 'print the report as one JSON object on stdout' },
  quiet: { ...SHARED_FLAGS.quiet, help: 'no summary on stderr: only the report of what is wrong' },
} as const;

export const VERIFY_SPEC: CommandSpec = {
  name: 'verify',
  summary: 'check every file the manifest records: present, exact size, sha256.',
  flags: VERIFY_FLAGS,
  notes: [
    'The report (one line per problem) goes to stdout, the summary to stderr. Exit 0 when every recorded file is',
    'intact, 1 when files need fetching (a backup with the same --out fetches them), 2 when there is no backup.',
  ],
};

export async function runVerify(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(VERIFY_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, VERIFY_FLAGS);
  const file = values.config ? await loadConfigFile(values.config) : {};
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, () => {});
  let report: Awaited<ReturnType<typeof verifyBackup>>;
  try {
    report = await verifyBackup({
      out: resolveOut(values.out, file),
      quick: values.quick ?? false,
      signal: controller.signal,
    });
  } finally {
    removeHandlers();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const lines: string[] = [];
    for (const m of report.missing) lines.push(`missing: ${printable(m.path)}`);
    for (const c of report.corrupt) {
      lines.push(
        `corrupt: ${printable(c.path)} (${c.reason})${c.movedTo ? `, moved to ${printable(c.movedTo)}` : ''}`,
      );
    }
    for (const w of report.wanted) lines.push(`needs fetching: ${printable(w.path)} (${w.reason})`);
    for (const u of report.unreadable) lines.push(`unreadable: ${printable(u.path)} (${u.reason})`);
    for (const m of report.missingSidecars) lines.push(`missing sidecar: ${printable(m.path)} (${m.reason})`);
    for (const u of report.unfetchable) lines.push(`cannot be fetched: ${printable(u.path)} (${u.reason})`);
    for (const p of report.unfinished) lines.push(`unfinished: ${printable(p.path)} (${p.action})`);
    for (const s of report.setAside) lines.push(`set aside: ${printable(s)}`);
    for (const u of report.untracked) lines.push(`untracked: ${printable(u)}`);
    if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!values.quiet) {
    const summary = [
      `${plural(report.checked, 'file')} checked${report.quick ? ' (size only)' : `, ${formatBytes(report.bytesHashed)} hashed`}: ${report.ok} ok, ${report.missing.length} missing, ${report.corrupt.length} corrupt, ${report.unfetchable.length ? `${report.unfetchable.length} cannot be fetched, ` : ''}${report.unreadable.length ? `${report.unreadable.length} unreadable, ` : ''}${report.partials.length} unfinished, ${report.setAside.length} set aside, ${report.untracked.length} untracked`,
    ];
    if (report.notWanted > 0) {
      summary.push(
        `${plural(report.notWanted, 'file')} not checked: forgotten, or left out by the last run's filter (${describeFilter(report.filter)})`,
      );
    }
    if (report.needFetching > 0) {
      summary.push(
        `${plural(report.needFetching, 'file needs', 'files need')} fetching: run \`runway-backup backup\` with the same --out`,
      );
    } else if (report.unfetchable.length > 0 && report.partials.length + report.unreadable.length === 0) {
      summary.push(
        `${plural(report.unfetchable.length, 'file')} lost for good (kept in the manifest): no backup can fetch ${report.unfetchable.length === 1 ? 'it' : 'them'} again`,
      );
    } else if (report.unreadable.length > 0) {
      summary.push(`${plural(report.unreadable.length, 'file')} could not be read: check their permissions`);
    } else if (!report.healthy) {
      summary.push('unfinished downloads: run `runway-backup backup` with the same --out to complete them');
    }
    process.stderr.write(`${summary.join('\n')}\n`);
  }
  // Exit 1 calls for a backup (or a look at permissions); a file no backup can fetch again (deleted on Runway, or
  // no longer backed up) is reported on every run, but a nightly check must not fail for it forever.
  const actionable = report.needFetching + report.partials.length + report.unreadable.length;
  return actionable === 0 ? EXIT.ok : EXIT.someFailed;
}
