import { createClient } from '../api/client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, printable, truncate } from '../format.js';
import { idSuffix } from '../layout.js';
import { iterateAssets, type ListingEvent } from '../paginate.js';
import { parseEmails, parseFlags, parseInteger, parseMediaTypes } from './args.js';
import { envToken } from './settings.js';
import { onInterrupt } from './signals.js';

const LIST_FLAGS = {
  email: { type: 'string' },
  'media-type': { type: 'string' },
  json: { type: 'boolean' },
  'base-url': { type: 'string' },
  retries: { type: 'string' },
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
  const client = createClient({
    token: envToken(process.env),
    baseUrl: values['base-url'] ?? (process.env.USEAPI_BASE_URL || undefined),
    retries: parseInteger('retries', values.retries, 0, 20),
  });
  const controller = new AbortController();
  const removeHandlers = onInterrupt(controller, () => {});
  const events: ListingEvent[] = [];
  const byType = new Map<string, number>();
  let count = 0;
  let bytes = 0;
  const json = values.json ?? false;
  const out = process.stdout;
  try {
    for await (const asset of iterateAssets(client, {
      email,
      mediaType: mediaTypes?.[0],
      signal: controller.signal,
      onEvent: (e) => events.push(e),
    })) {
      if (count === 0 && !json) {
        out.write(
          `${'ID'.padEnd(8)}  ${'TYPE'.padEnd(5)}  ${'CREATED'.padEnd(10)}  ${'SIZE'.padStart(8)}  NAME\n`,
        );
      }
      count++;
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
  } catch (error) {
    if (controller.signal.aborted) return EXIT.interrupted;
    throw error;
  } finally {
    removeHandlers();
    client.close();
  }
  const types = [...byType].map(([t, n]) => `${n} ${printable(t)}`).join(', ');
  const capped = events.filter((e) => e.type === 'capped' && !e.splitting);
  const skipped = events.filter((e) => e.type === 'skipped').length;
  const lines = [
    `${count} assets${types ? ` (${types})` : ''}, ${formatBytes(bytes)}, ${client.requestCount} requests`,
  ];
  if (skipped) lines.push(`${skipped} unusable items skipped`);
  lines.push(
    capped.length
      ? `window capped: ${capped.map((e) => (e.type === 'capped' ? `${e.window} (${e.seen} seen)` : '')).join(', ')}; older assets may be out of reach`
      : 'window not capped: this is the whole account',
  );
  process.stderr.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
