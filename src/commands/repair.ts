import { checkClientOptions, DEFAULT_BASE_URL } from '../api/client.js';
import { loadConfigFile } from '../config.js';
import { AbortError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, plural, printable } from '../report/format.js';
import { type RepairReport, repair, type UnprovenFile } from '../run/repair.js';
import {
  type CommandSpec,
  commandHelp,
  helpRequested,
  parseEmails,
  parseFlags,
  SHARED_FLAGS,
} from './args.js';
import { flagValues, resolveOut } from './settings.js';
import { onInterrupt } from './signals.js';

const REPAIR_FLAGS = {
  out: SHARED_FLAGS.out,
  email: {
    ...SHARED_FLAGS.email,
    help: 'an account to list besides the <email>/ folders found (env USEAPI_EMAIL)',
  },
  config: {
    ...SHARED_FLAGS.config,
    help: 'take `out`, the accounts and the base URL from a JSON config file',
  },
  'base-url': SHARED_FLAGS['base-url'],
  retries: SHARED_FLAGS.retries,
  timeout: SHARED_FLAGS.timeout,
  'dry-run': { type: 'boolean', help: 'say what would be recorded; write, rename and lock nothing' },
  json: { type: 'boolean', help: 'print the report as one JSON object on stdout' },
  quiet: { ...SHARED_FLAGS.quiet, help: 'no summary on stderr: only the files that could not be proven' },
} as const;

export const REPAIR_SPEC: CommandSpec = {
  name: 'repair',
  summary: 'rebuild a lost or broken manifest.json from the journals, SHA256SUMS and the files on disk.',
  flags: REPAIR_FLAGS,
  notes: [
    "With USEAPI_TOKEN (optional here) the account is listed and each file at its asset's path is checked",
    "against the API's size and hashed. A broken manifest.json is kept as manifest.json.broken-N; no file is",
    'moved or deleted. Exit 0 when every file found was proven, 1 when some could not be (they are kept and',
    'the next backup checks them again), 2 bad usage or no backup, 3 the API refused, 130 interrupted.',
  ],
};

export async function runRepair(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(REPAIR_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, REPAIR_FLAGS);
  const shared = flagValues(values);
  const file = values.config ? await loadConfigFile(values.config) : {};
  const env = process.env;
  // Optional: without it the journals and SHA256SUMS are all that can prove anything.
  const token = env.USEAPI_TOKEN?.trim() || undefined;
  const baseUrl =
    values['base-url'] ?? (env.USEAPI_BASE_URL || undefined) ?? file.baseUrl ?? DEFAULT_BASE_URL;
  if (token) checkClientOptions({ token, baseUrl });
  const accounts =
    parseEmails(values.email) ??
    (env.USEAPI_EMAIL ? parseEmails([env.USEAPI_EMAIL]) : undefined) ??
    (file.accounts ? parseEmails(file.accounts) : undefined);
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, () => {});
  let report: RepairReport;
  try {
    report = await repair({
      out: resolveOut(values.out, file),
      token,
      baseUrl,
      accounts,
      dryRun: values['dry-run'] ?? false,
      retries: shared.retries ?? file.retries,
      timeoutMs: (shared.timeout ?? file.timeoutSeconds ?? 30) * 1000,
      signal: controller.signal,
    });
  } catch (error) {
    if (controller.signal.aborted || error instanceof AbortError) return EXIT.interrupted;
    throw error;
  } finally {
    removeHandlers();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else if (report.unproven.length) {
    process.stdout.write(
      `${report.unproven.map((u) => `not proven: ${printable(u.path)} (${u.reason})`).join('\n')}\n`,
    );
  }
  if (!values.quiet) process.stderr.write(`${summaryLines(report).join('\n')}\n`);
  return report.complete ? EXIT.ok : EXIT.someFailed;
}

const KINDS: Record<UnprovenFile['kind'], string> = {
  unmatched: 'matching no listed asset',
  'no-token': 'not matched (no token)',
  size: 'of the wrong size',
  sha256: 'differing from SHA256SUMS',
  unreadable: 'unreadable',
  missing: 'recorded but missing',
};

/** What the repair proved and what it could not, with counts. */
export function summaryLines(r: RepairReport): string[] {
  const would = r.dryRun ? 'would be ' : '';
  const head =
    r.manifest === 'broken'
      ? `manifest.json was broken; ${r.setAside ? `kept as ${r.setAside}` : 'it would be kept as manifest.json.broken-N'}`
      : `manifest.json was ${r.manifest}`;
  const lines = [`${r.dryRun ? 'Dry run: ' : ''}${head}; ${r.out}`];
  const { manifest, journal, sha256sums, api } = r.proven;
  const by = [
    [manifest, 'recorded in manifest.json'],
    [journal, 'recorded in the journal'],
    [sha256sums, 'matched to the API by path and confirmed by SHA256SUMS'],
    [api, 'matched to the API by path and size, and hashed'],
  ] as const;
  const proofs = by.filter(([n]) => n > 0).map(([n, how]) => `${n} ${how}`);
  const listed = r.listed
    ? `; ${plural(r.assetsListed, 'asset')} listed, ${formatBytes(r.bytesHashed)} hashed`
    : '';
  lines.push(
    `  proven: ${plural(r.provenFiles, 'file')}${proofs.length ? ` (${proofs.join(', ')})` : ''}${listed}`,
  );
  lines.push(`  ${plural(r.recorded, 'file')} ${would}newly recorded`);
  if (!r.listed) lines.push('  no USEAPI_TOKEN: files the journals do not record were not matched to assets');
  if (!r.listingComplete)
    lines.push('  warning: the listing was capped or cut short; some assets may be out of reach');
  if (r.unproven.length) {
    const counts = new Map<string, number>();
    for (const u of r.unproven) counts.set(KINDS[u.kind], (counts.get(KINDS[u.kind]) ?? 0) + 1);
    const parts = [...counts].map(([kind, n]) => `${n} ${kind}`);
    const intact = r.intactUnmatched ? `, ${r.intactUnmatched} of them intact per SHA256SUMS` : '';
    lines.push(
      `  not proven: ${plural(r.unproven.length, 'file')} (${parts.join(', ')}${intact}): nothing was moved, changed or deleted; the next backup fetches what is missing and checks the rest again`,
    );
  } else lines.push('  everything found was proven');
  return lines;
}
