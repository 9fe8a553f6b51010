import path from 'node:path';
import { loadConfigFile } from '../config.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { fileSize } from '../fsutil.js';
import { printable } from '../report/format.js';
import { resolveAssetRef } from '../store/asset-ref.js';
import { acquireLock } from '../store/lock.js';
import { JOURNAL_NAME, MANIFEST_NAME, Manifest } from '../store/manifest.js';
import { checkOutFolder } from '../store/out-folder.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { resolveOut } from './settings.js';

const FORGET_FLAGS = {
  out: SHARED_FLAGS.out,
  undo: { type: 'boolean', help: 'want the asset again: the next backup fetches it' },
  config: { ...SHARED_FLAGS.config, help: 'take the backup folder (`out`) from a JSON config file' },
} as const;

export const FORGET_SPEC: CommandSpec = {
  name: 'forget',
  summary: 'this asset is no longer wanted: later backups never fetch it (its files stay where they are).',
  flags: FORGET_FLAGS,
  notes: [
    'FILE is any file of the asset (relative to --out, or absolute inside it); ASSET_ID its assetId, its id, or',
    'the 8 characters of its file names. Files on disk are left where they are: delete them yourself.',
    'Exit 0 done, 2 bad usage (no backup in --out, a path the manifest does not record, an ambiguous id).',
  ],
};

export async function runForget(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(FORGET_SPEC).replace('[options]', 'FILE|ASSET_ID [options]'));
    return EXIT.ok;
  }
  const parsed = parseFlags(argv, FORGET_FLAGS, true);
  const values = parsed.values;
  // Typed for the commands that take no positionals; this one asked for them.
  const positionals = parsed.positionals as string[];
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? '`forget` needs one FILE or ASSET_ID; try --help'
        : `\`forget\` takes one FILE or ASSET_ID, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p.slice(0, 60))).join(' ')}`,
    );
  }
  const file = values.config ? await loadConfigFile(values.config) : {};
  const out = resolveOut(values.out, file);
  await checkOutFolder(out);
  // A mistyped --out must not start a new backup folder holding one forgotten asset.
  if (
    (await fileSize(path.join(out, MANIFEST_NAME))) === undefined &&
    (await fileSize(path.join(out, JOURNAL_NAME))) === undefined
  ) {
    throw new UsageError(`No backup in ${out}: there is no ${MANIFEST_NAME}`);
  }
  const release = await acquireLock(out);
  try {
    const manifest = await Manifest.load(out);
    try {
      const line = await forget(manifest, out, positionals[0] as string, values.undo ?? false);
      await manifest.flush();
      const excluded = file.exclude?.includes(line.assetId);
      process.stdout.write(`${line.text}\n`);
      if (values.undo && excluded) {
        process.stderr.write(
          'note: the config file still lists it in `exclude`, so backups with it skip it\n',
        );
      }
    } finally {
      await manifest.close();
    }
  } finally {
    await release();
  }
  return EXIT.ok;
}

/** Records the change (or says there is none to make) and returns what to print. */
async function forget(
  manifest: Manifest,
  out: string,
  ref: string,
  undo: boolean,
): Promise<{ assetId: string; text: string }> {
  const { assetId, entry } = resolveAssetRef(manifest, out, ref, process.cwd());
  const shown = printable(entry?.name ? `${entry.name} (${assetId})` : assetId);
  const before = manifest.forgotten(assetId);
  if (undo) {
    if (!before) return { assetId, text: `${shown} was not forgotten: nothing to undo` };
    await manifest.setForgotten(assetId, undefined);
    return { assetId, text: `wanted again: ${shown}; the next backup fetches what it lacks` };
  }
  if (before) return { assetId, text: `${shown} was already forgotten on ${before.at.slice(0, 10)}` };
  await manifest.setForgotten(assetId, { at: new Date().toISOString(), name: entry?.name });
  const files = entry?.files.map((f) => f.path) ?? [];
  const kept = files.length
    ? `; its files stay where they are (delete them yourself): ${files.map(printable).join(', ')}`
    : '; the backup holds no file of it (later runs will not fetch it when they list it)';
  return { assetId, text: `forgotten: ${shown}${kept}` };
}
