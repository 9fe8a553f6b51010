import { createClient } from '../api/client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, plural, printable, truncate } from '../format.js';
import { idSuffix } from '../layout.js';
import { iterateAssets, type ListingEvent } from '../paginate.js';
import { retryNotice } from '../progress.js';
import { MEDIA_TYPES, type MediaType } from '../types.js';
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

/** One walk for all three types (it splits by itself when capped), else one per wanted type. */
function windowsFor(types: MediaType[]): (MediaType | undefined)[] {
  return types.length === MEDIA_TYPES.length ? [undefined] : types;
}

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
  const events: ListingEvent[] = [];
  const byType = new Map<string, number>();
  const listed = new Set<string>();
  let bytes = 0;
  const json = values.json ?? false;
  const out = process.stdout;
  try {
    for (const mediaType of windowsFor(settings.mediaTypes)) {
      for await (const asset of iterateAssets(client, {
        email,
        mediaType,
        signal: controller.signal,
        onEvent: (e) => events.push(e),
      })) {
        if (listed.has(asset.assetId)) continue;
        if (listed.size === 0 && !json) {
          out.write(
            `${'ID'.padEnd(8)}  ${'TYPE'.padEnd(5)}  ${'CREATED'.padEnd(10)}  ${'SIZE'.padStart(8)}  NAME\n`,
          );
        }
        listed.add(asset.assetId);
        bytes += asset.fileSize ?? 0;
        const type = asset.mediaType ?? 'unknown';
        byType.set(type, (byType.get(type) ?? 0) + 1);
        if (json) {
          const { raw: _raw, ...rest } = asset;
          out.write(`${JSON.stringify(rest)}\n`);
        } else {
          const date = asset.createdAt?.slice(0, 10) ?? '';
          const size = asset.fileSize === undefined ? '?' : formatBytes(asset.fileSize);
          out.write(
            `${idSuffix(asset)}  ${truncate(printable(type), 5).padEnd(5)}  ${date.padEnd(10)}  ${size.padStart(8)}  ${truncate(printable(asset.name ?? ''), 80)}\n`,
          );
        }
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
  const capped = events.flatMap((e) => (e.type === 'capped' && !e.splitting ? [e] : []));
  const cut = events.flatMap((e) => (e.type === 'incomplete' ? [e] : []));
  const skipped = events.filter((e) => e.type === 'skipped').length;
  const summary = [
    `${plural(listed.size, 'asset')}${types ? ` (${types})` : ''}, ${formatBytes(bytes)}, ${plural(client.requestCount, 'request')}`,
  ];
  if (skipped) summary.push(`${plural(skipped, 'unusable item')} skipped`);
  const warnings: string[] = [];
  if (cut.length) {
    warnings.push(
      `listing cut short (request budget spent): ${cut.map((e) => `${e.window} (${e.seen} seen)`).join(', ')}; more assets may exist`,
    );
  }
  if (capped.length) {
    warnings.push(
      `window capped: ${capped.map((e) => `${e.window} (${e.seen} seen)`).join(', ')}; older assets may be out of reach`,
    );
  }
  if (!cut.length && !capped.length && !quiet) summary.push('window not capped: this is the whole account');
  // The count is the summary (not with --quiet); what may be missing is a warning (always).
  process.stderr.write([...(quiet ? [] : summary), ...warnings].map((l) => `${l}\n`).join(''));
  return cut.length ? EXIT.someFailed : EXIT.ok;
}
