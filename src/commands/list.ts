import { createClient } from '../api/client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, plural, printable, truncate } from '../report/format.js';
import { retryNotice } from '../report/progress.js';
import { iterateAccount, parseTaskHistoryMode, type SourceEvent } from '../source/sources.js';
import { idSuffix } from '../store/layout.js';
import { Manifest } from '../store/manifest.js';
import { describeFilter, isEmptyFilter, selector } from '../store/wanted.js';
import type { Asset } from '../types.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { FILTER_FLAGS } from './filter-flags.js';
import { flagValues, resolveSettings } from './settings.js';
import { onInterrupt } from './signals.js';

const LIST_FLAGS = {
  email: { ...SHARED_FLAGS.email, help: 'the account to list (one; env USEAPI_EMAIL)' },
  'media-type': SHARED_FLAGS['media-type'],
  ...FILTER_FLAGS,
  out: {
    ...SHARED_FLAGS.out,
    help: "the backup folder whose forgotten assets to mark (default: the config file's `out`, else none)",
  },
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
  const flags = flagValues(values);
  const settings = await resolveSettings(flags, process.env);
  const forgotten = await forgottenIn(values.out, values.config, settings.out);
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
  const counts = new ListCounts();
  const select = selector({ ...settings.filter, exclude: undefined });
  const excluded = new Set(settings.filter.exclude ?? []);
  const json = values.json ?? false;
  const out = process.stdout;
  try {
    for await (const asset of iterateAccount(client, {
      email,
      mediaTypes: settings.mediaTypes,
      taskHistory,
      signal: controller.signal,
      onEvent: counts.onEvent,
    })) {
      if (counts.listed.has(asset.assetId) || counts.filtered.has(asset.assetId)) continue;
      if (select(asset) !== undefined) {
        counts.filtered.add(asset.assetId);
        continue;
      }
      if (counts.listed.size === 0 && !json) {
        out.write(
          `${'ID'.padEnd(8)}  ${'TYPE'.padEnd(5)}  ${'FROM'.padEnd(6)}  ${'CREATED'.padEnd(10)}  ${'SIZE'.padStart(8)}  NAME\n`,
        );
      }
      counts.add(asset);
      const mark: Unwanted = {
        forgotten: (
          forgotten?.forgotten(asset.assetId) ?? (asset.id ? forgotten?.forgotten(asset.id) : undefined)
        )?.at,
        excluded: excluded.has(asset.assetId),
      };
      out.write(json ? jsonLine(asset, mark) : tableRow(asset, mark));
    }
  } catch (error) {
    if (controller.signal.aborted) return EXIT.interrupted;
    throw error;
  } finally {
    removeHandlers();
    client.close();
  }
  if (!quiet && !isEmptyFilter(settings.filter) && counts.filtered.size > 0) {
    process.stderr.write(
      `${plural(counts.filtered.size, 'asset')} left out by the filter (${describeFilter(settings.filter)})\n`,
    );
  }
  process.stderr.write(listReport(counts, client.requestCount, quiet));
  return counts.cut.length ? EXIT.someFailed : EXIT.ok;
}

/** What a listing has met: the assets listed (once each), by type and source, and its windows' events. */
class ListCounts {
  readonly capped: { window: string; seen: number }[] = [];
  readonly cut: { window: string; seen: number }[] = [];
  readonly artifactsSkipped = { deleted: 0, directory: 0 };
  readonly bySource = { assets: 0, tasks: 0 };
  readonly byType = new Map<string, number>();
  readonly listed = new Set<string>();
  /** Listed by the API, left out by the filter. */
  readonly filtered = new Set<string>();
  skipped = 0;
  tasksWalked = false;
  bytes = 0;

  readonly onEvent = (e: SourceEvent): void => {
    if (e.type === 'capped') this.capped.push({ window: e.window, seen: e.seen });
    if (e.type === 'listing' && e.event.type === 'incomplete') this.cut.push(e.event);
    if (e.type === 'incomplete') this.cut.push(e);
    if (e.type === 'skipped') this.skipped++;
    if (e.type === 'artifact-skipped') this.artifactsSkipped[e.reason]++;
    if (e.type === 'tasks-page') this.tasksWalked = true;
  };

  add(asset: Asset): void {
    this.listed.add(asset.assetId);
    this.bytes += asset.fileSize ?? 0;
    const type = asset.mediaType ?? 'unknown';
    this.bySource[asset.source ?? 'assets']++;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
  }
}

/** Whether the backup folder's `forget` or the config's `exclude` made the asset unwanted. */
interface Unwanted {
  /** When it was forgotten. */
  forgotten: string | undefined;
  excluded: boolean;
}

/**
 * The manifest of the backup folder that `list` marks forgotten assets from: `--out`, or the config file's `out`;
 * none without either (a listing needs no backup). Read only, never locked.
 */
async function forgottenIn(
  flag: string | undefined,
  config: string | undefined,
  out: string,
): Promise<Manifest | undefined> {
  if (flag === undefined && config === undefined) return undefined;
  const manifest = await Manifest.load(out);
  await manifest.close();
  return manifest;
}

/** One asset as a JSON line (`--json`): every parsed field and where it was listed, not the raw answer. */
function jsonLine(asset: Asset, mark: Unwanted): string {
  const { raw: _raw, ...rest } = asset;
  const unwanted = {
    ...(mark.forgotten ? { forgotten: mark.forgotten } : {}),
    ...(mark.excluded ? { excluded: true } : {}),
  };
  return `${JSON.stringify({ ...rest, source: asset.source ?? 'assets', ...unwanted })}\n`;
}

/** One asset as a row of the table; a forgotten or excluded one says so after its name. */
function tableRow(asset: Asset, mark: Unwanted): string {
  const type = asset.mediaType ?? 'unknown';
  const source = asset.source ?? 'assets';
  const date = asset.createdAt?.slice(0, 10) ?? '';
  const size = asset.fileSize === undefined ? '?' : formatBytes(asset.fileSize);
  // The name gets what the FROM column took, so a row stays as wide as before it existed.
  const note = mark.forgotten
    ? `  (forgotten ${mark.forgotten.slice(0, 10)}: not backed up)`
    : mark.excluded
      ? '  (excluded by the config: not backed up)'
      : '';
  return `${idSuffix(asset)}  ${truncate(printable(type), 5).padEnd(5)}  ${source.padEnd(6)}  ${date.padEnd(10)}  ${size.padStart(8)}  ${truncate(printable(asset.name ?? ''), 72)}${note}\n`;
}

/** The lines for stderr after the listing: the counts (not with `--quiet`), then what may be missing. */
function listReport(counts: ListCounts, requests: number, quiet: boolean): string {
  const { capped, cut, tasksWalked } = counts;
  const types = [...counts.byType].map(([t, n]) => `${n} ${printable(t)}`).join(', ');
  const summary = [
    `${plural(counts.listed.size, 'asset')}${types ? ` (${types})` : ''}, ${formatBytes(counts.bytes)}, ${plural(requests, 'request')}`,
  ];
  if (counts.skipped) summary.push(`${plural(counts.skipped, 'unusable item')} skipped`);
  if (tasksWalked) {
    const { deleted, directory } = counts.artifactsSkipped;
    summary.push(
      `${counts.bySource.assets} from the assets listing, ${counts.bySource.tasks} more from the task history` +
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
  return [...(quiet ? [] : summary), ...warnings].map((l) => `${l}\n`).join('');
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
