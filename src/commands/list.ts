import { createClient } from '../api/client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, printable, truncate } from '../format.js';
import { idSuffix } from '../layout.js';
import { iterateAccount, parseTaskHistoryMode, type SourceEvent } from '../sources.js';
import { MEDIA_TYPES } from '../types.js';
import { parseEmails, parseFlags, parseInteger, parseMediaTypes } from './args.js';
import { envToken } from './settings.js';
import { onInterrupt } from './signals.js';

const LIST_FLAGS = {
  email: { type: 'string' },
  'media-type': { type: 'string' },
  json: { type: 'boolean' },
  'base-url': { type: 'string' },
  retries: { type: 'string' },
  'task-history': { type: 'string' },
} as const;

export async function runList(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS);
  const mediaTypes = parseMediaTypes(values['media-type']);
  if (mediaTypes && mediaTypes.length > 1) {
    // The API filters by one type; listing several is `backup --dry-run`'s job.
    throw new UsageError('`list --media-type` takes one type');
  }
  // One account per listing: the flag, else USEAPI_EMAIL, validated the same way as for `backup`.
  const emails = parseEmails(
    values.email !== undefined
      ? [values.email]
      : process.env.USEAPI_EMAIL
        ? [process.env.USEAPI_EMAIL]
        : undefined,
  );
  if (emails && emails.length > 1)
    throw new UsageError('`list` lists one account at a time; give one `--email`');
  const email = emails?.[0];
  const taskHistory = parseTaskHistoryMode(values['task-history']) ?? 'auto';
  const client = createClient({
    token: envToken(process.env),
    baseUrl: values['base-url'] ?? (process.env.USEAPI_BASE_URL || undefined),
    retries: parseInteger('retries', values.retries, 0, 20),
  });
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, () => {});
  const capped: { window: string; seen: number }[] = [];
  const artifactsSkipped = { deleted: 0, directory: 0 };
  let skipped = 0;
  let tasksWalked = false;
  const onEvent = (e: SourceEvent): void => {
    if (e.type === 'capped') capped.push({ window: e.window, seen: e.seen });
    if (e.type === 'skipped') skipped++;
    if (e.type === 'artifact-skipped') artifactsSkipped[e.reason]++;
    if (e.type === 'tasks-page') tasksWalked = true;
  };
  const bySource = { assets: 0, tasks: 0 };
  const byType = new Map<string, number>();
  let count = 0;
  let bytes = 0;
  const json = values.json ?? false;
  const out = process.stdout;
  try {
    for await (const asset of iterateAccount(client, {
      email,
      mediaTypes: mediaTypes ?? [...MEDIA_TYPES],
      taskHistory,
      signal: controller.signal,
      onEvent,
    })) {
      if (count === 0 && !json) {
        out.write(
          `${'ID'.padEnd(8)}  ${'TYPE'.padEnd(5)}  ${'FROM'.padEnd(6)}  ${'CREATED'.padEnd(10)}  ${'SIZE'.padStart(8)}  NAME\n`,
        );
      }
      count++;
      const source = asset.source ?? 'assets';
      bySource[source]++;
      bytes += asset.fileSize ?? 0;
      const type = asset.mediaType ?? 'unknown';
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
  const lines = [
    `${count} assets${types ? ` (${types})` : ''}, ${formatBytes(bytes)}, ${client.requestCount} requests`,
  ];
  if (tasksWalked) {
    lines.push(
      `${bySource.assets} from the assets listing, ${bySource.tasks} more from the task history` +
        (artifactsSkipped.deleted || artifactsSkipped.directory
          ? ` (${artifactsSkipped.deleted} deleted artifacts, ${artifactsSkipped.directory} directories skipped)`
          : ''),
    );
  }
  if (skipped) lines.push(`${skipped} unusable items skipped`);
  lines.push(reachLine(capped, tasksWalked));
  process.stderr.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
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
