import { EXIT } from '../exit-codes.js';
import { formatBytes, printable } from '../format.js';
import { verifyBackup } from '../verify.js';
import { parseFlags } from './args.js';
import { DEFAULT_OUT } from './settings.js';
import { onInterrupt } from './signals.js';

const VERIFY_FLAGS = {
  out: { type: 'string' },
  quick: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function runVerify(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, VERIFY_FLAGS);
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, () => {});
  let report: Awaited<ReturnType<typeof verifyBackup>>;
  try {
    report = await verifyBackup({
      out: values.out ?? DEFAULT_OUT,
      quick: values.quick ?? false,
      signal: controller.signal,
    });
  } finally {
    removeHandlers();
  }
  const healthy = report.missing.length === 0 && report.corrupt.length === 0 && report.partials.length === 0;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...report, healthy })}\n`);
  }
  const lines: string[] = [];
  for (const m of report.missing) lines.push(`missing: ${printable(m.path)}`);
  for (const c of report.corrupt) {
    lines.push(
      `corrupt: ${printable(c.path)} (${c.reason})${c.movedTo ? `, moved to ${printable(c.movedTo)}` : ''}`,
    );
  }
  for (const p of report.partials) lines.push(`unfinished: ${printable(p)}`);
  for (const u of report.untracked) lines.push(`untracked: ${printable(u)}`);
  lines.push(
    `${report.checked} files checked${report.quick ? ' (size only)' : `, ${formatBytes(report.bytesHashed)} hashed`}: ${report.ok} ok, ${report.missing.length} missing, ${report.corrupt.length} corrupt, ${report.partials.length} unfinished, ${report.untracked.length} untracked`,
  );
  if (!healthy)
    lines.push('run `runway-backup backup` with the same --out to fetch what is missing or corrupt');
  process.stderr.write(`${lines.join('\n')}\n`);
  return healthy ? EXIT.ok : EXIT.someFailed;
}
