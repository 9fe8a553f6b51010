import { createClient } from '../api/client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, plural, printable, truncate } from '../report/format.js';
import { retryNotice } from '../report/progress.js';
import { iterateAccount, parseTaskHistoryMode, type SourceEvent } from '../source/sources.js';
import { idSuffix } from '../store/layout.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { flagValues, resolveSettings } from './settings.js';
import { onInterrupt } from './signals.js';

const LIST_FLAGS = {
  email: { ...SHARED_FLAGS.email, help: 'the account to list (one; env USEAPI_EMAIL)' },
  'media-type': SHARED_FLAGS['media-type'],
  config: SHARED_FLAGS.config,
  'base-url': SHARED_FLAGS['base-url'],
  retries: SHARED_FLAGS.retries,
  timeout: SHARED_FLAGS.timeout,
  json: {
    type: 'boolean',
    help: 'one JSON object per asset and line (README, "List"); signed URLs included',
  },
  quiet: { ...SHARED_FLAGS.quiet, help: 'no summary: only warnings and errors' },
  'task-history': {
    type: 'string',
    value: 'MODE',
    help: 'list the task history too: auto (when an assets window is capped), always, never (default auto)',
  },
} as const;

export const LIST_SPEC: CommandSpec = {
  name: 'list',
  summary: "print the account's assets as the API lists them; download nothing.",
  flags: LIST_FLAGS,
  notes: [
    'The table (or JSON lines) goes to stdout, the summary to stderr. Exit 0 when the whole listing was read,',
    '1 when it was cut short (more assets may exist), 3 when the API refused, 4 when it could not be reached.',
  ],
};

export async function runList(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(LIST_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, LIST_FLAGS);
  const settings = await resolveSettings(flagValues(values), process.env);
  if (settings.accounts.length > 1) {
    throw new UsageError('`list` lists one account at a time; give one `--email`');
  }
  const email = settings.accounts[0];
  const quiet = values.quiet ?? false;
  const client = createClient({
    token: settings.token,
    baseUrl: settings.baseUrl,
    retries: settings.retries,
    timeoutMs: settings.timeoutMs,
    onRetry: (info) => {
      const line = retryNotice(info, settings.retries);
      if (line && !quiet) process.stderr.write(`${line}\n`);
    },
  });
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, () => {});
  const taskHistory = parseTaskHistoryMode(values['task-history']) ?? settings.taskHistory ?? 'auto';
  const capped: { window: string; seen: number }[] = [];
  const cut: { window: string; seen: number }[] = [];
  const artifactsSkipped = { deleted: 0, directory: 0 };
  const bySource = { assets: 0, tasks: 0 };
  let skipped = 0;
  let tasksWalked = false;
  const onEvent = (e: SourceEvent): void => {
    if (e.type === 'capped') capped.push({ window: e.window, seen: e.seen });
    if (e.type === 'listing' && e.event.type === 'incomplete') cut.push(e.event);
    if (e.type === 'skipped') skipped++;
    if (e.type === 'artifact-skipped') artifactsSkipped[e.reason]++;
    if (e.type === 'tasks-page') tasksWalked = true;
  };
  const byType = new Map<string, number>();
  const listed = new Set<string>();
  let bytes = 0;
  const json = values.json ?? false;
  const out = process.stdout;
  try {
    for await (const asset of iterateAccount(client, {
      email,
      mediaTypes: settings.mediaTypes,
      taskHistory,
      signal: controller.signal,
      onEvent,
    })) {
      if (listed.has(asset.assetId)) continue;
      if (listed.size === 0 && !json) {
        out.write(
          `${'ID'.padEnd(8)}  ${'TYPE'.padEnd(5)}  ${'FROM'.padEnd(6)}  ${'CREATED'.padEnd(10)}  ${'SIZE'.padStart(8)}  NAME\n`,
        );
      }
      listed.add(asset.assetId);
      bytes += asset.fileSize ?? 0;
      const type = asset.mediaType ?? 'unknown';
      const source = asset.source ?? 'assets';
      bySource[source]++;
      byType.set(type, (byType.get(type) ?? 0) + 1);
      if (json) {
        const { raw: _raw, ...rest } = asset;
        out.write(`${JSON.stringify({ ...rest, source })}\n`);
      } else {
        const date = asset.createdAt?.slice(0, 10) ?? '';
        const size = asset.fileSize === undefined ? '?' : formatBytes(asset.fileSize);
        // The name gets what the FROM column took, so a row stays as wide as before it existed.
        out.write(
          `${idSuffix(asset)}  ${truncate(printable(type), 5).padEnd(5)}  ${source.padEnd(6)}  ${date.padEnd(10)}  ${size.padStart(8)}  ${truncate(printable(asset.name ?? ''), 72)}\n`,
        );
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return EXIT.interrupted;
    throw error;
  } finally {
    removeHandlers();
    client.close();
  }
  const types = [...byType].map(([t, n]) => `${n} ${printable(t)}`).join(', ');
  const summary = [
    `${plural(listed.size, 'asset')}${types ? ` (${types})` : ''}, ${formatBytes(bytes)}, ${plural(client.requestCount, 'request')}`,
  ];
  if (skipped) summary.push(`${plural(skipped, 'unusable item')} skipped`);
  if (tasksWalked) {
    const { deleted, directory } = artifactsSkipped;
    summary.push(
      `${bySource.assets} from the assets listing, ${bySource.tasks} more from the task history` +
        (deleted || directory ? ` (${deleted} deleted artifacts, ${directory} directories skipped)` : ''),
    );
  }
  const warnings: string[] = [];
  if (cut.length) {
    warnings.push(
      `listing cut short (request budget spent): ${cut.map((e) => `${e.window} (${e.seen} seen)`).join(', ')}; more assets may exist`,
    );
  }
  if (capped.length) warnings.push(reachLine(capped, tasksWalked));
  if (!cut.length && !capped.length && !quiet) summary.push(reachLine(capped, tasksWalked));
  // The count is the summary (not with --quiet); what may be missing is a warning (always).
  process.stderr.write([...(quiet ? [] : summary), ...warnings].map((l) => `${l}\n`).join(''));
  return cut.length ? EXIT.someFailed : EXIT.ok;
}

/** What the listing could not reach, honestly: a capped window is never "the whole account". */
export function reachLine(capped: { window: string; seen: number }[], tasksWalked: boolean): string {
  if (capped.length === 0) {
    return tasksWalked
      ? 'no window capped: this is the whole account'
      : 'window not capped: this is the whole account';
  }
  const windows = capped.map((c) => `${c.window} (${c.seen} seen)`).join(', ');
  const hint = tasksWalked
    ? ''
    : '; the task history was not walked (--task-history never, or the API client cannot list tasks)';
  return `window capped: ${windows}; older assets may exist beyond ${capped.length > 1 ? 'them' : 'it'}${hint}`;
}
