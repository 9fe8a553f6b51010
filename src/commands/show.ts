import { loadConfigFile } from '../config.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { describeShown, showAsset } from '../report/show.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { resolveOut } from './settings.js';

const SHOW_FLAGS = {
  out: { ...SHARED_FLAGS.out, help: 'the backup folder (default: the one FILE is in, else ./runway-backup)' },
  config: { ...SHARED_FLAGS.config, help: 'take the backup folder (`out`) from a JSON config file' },
  json: { type: 'boolean', help: 'print the record as one JSON object on stdout' },
} as const;

export const SHOW_SPEC: CommandSpec = {
  name: 'show',
  summary:
    'how one backed-up asset was made (prompt, seed, model, settings) and where it stands on Runway; offline.',
  usage: 'FILE|ASSET_ID',
  flags: SHOW_FLAGS,
  notes: [
    'FILE is any file of the backup (main, preview or sidecar); ASSET_ID its assetId, uuid or the 8 characters',
    'of it in its file name. Reads only the manifest. Exit 0 found, 2 not found or bad usage.',
  ],
};

/** The one positional argument, apart from the flags (and the values of the flags that take one). */
function splitTarget(argv: string[]): { target: string | undefined; flags: string[] } {
  const flags: string[] = [];
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      targets.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') targets.push(arg);
    else {
      flags.push(arg);
      const name = arg.replace(/^--?/, '');
      const spec = (SHOW_FLAGS as Record<string, { type: string }>)[name];
      if (spec?.type === 'string' && i + 1 < argv.length) flags.push(argv[++i] as string);
    }
  }
  if (targets.length > 1) throw new UsageError('Expected one FILE or ASSET_ID; try --help');
  return { target: targets[0], flags };
}

export async function runShow(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(SHOW_SPEC));
    return EXIT.ok;
  }
  const { target, flags } = splitTarget(argv);
  const { values } = parseFlags(flags, SHOW_FLAGS);
  if (target === undefined) throw new UsageError('Expected a FILE of the backup or an ASSET_ID; try --help');
  const file = values.config ? await loadConfigFile(values.config) : {};
  const out = values.out !== undefined || values.config ? resolveOut(values.out, file) : undefined;
  const shown = await showAsset({ target, out });
  process.stdout.write(values.json ? `${JSON.stringify(shown)}\n` : `${describeShown(shown)}\n`);
  return EXIT.ok;
}
