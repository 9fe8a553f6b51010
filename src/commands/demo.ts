import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { startSimulator } from '../simulator/index.js';
import { MEDIA_TYPES } from '../types.js';
import {
  type CommandSpec,
  commandHelp,
  helpRequested,
  invokedAs,
  parseConcurrency,
  parseFlags,
  parseMediaTypes,
  SHARED_FLAGS,
} from './args.js';
import { backupWithProgress } from './backup.js';
import { resolveOut } from './settings.js';

const DEMO_FLAGS = {
  out: { ...SHARED_FLAGS.out, help: 'the folder to back up into (default ./demo-backup)' },
  'media-type': SHARED_FLAGS['media-type'],
  concurrency: { type: 'string', value: 'auto|N', help: 'parallel transfers: auto or 1..32 (default auto)' },
  'no-previews': { type: 'boolean', help: "skip each asset's preview images" },
  metadata: {
    type: 'boolean',
    help: "write a JSON sidecar with the API's fields (no URLs) beside each asset",
  },
  json: { type: 'boolean', help: 'print the summary as one JSON object on stdout' },
  quiet: SHARED_FLAGS.quiet,
} as const;

export const DEMO_SPEC: CommandSpec = {
  name: 'demo',
  summary: "back up the built-in simulator's account (no token, no network): see what a backup does.",
  flags: DEMO_FLAGS,
};

/** The simulated account the demo backs up: the same every time (fixed seed), so a second run resumes. */
export const DEMO_ACCOUNT = {
  seed: 7,
  assets: 40,
  mainSize: { min: 100_000, max: 2_000_000 },
  // Slow enough for the bars to be seen, fast enough for the demo to take seconds.
  cdnBytesPerSecond: 3_000_000,
  listLatencyMs: 150,
};

/**
 * What to try after the demo, in commands that work where the user is: `command` is how they ran us
 * (`runway-backup` when installed, `node dist/cli.js` in a checkout); under `npm run demo` the re-run is that.
 */
export function demoHints(
  command: string,
  out: string,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const relative = path.relative(cwd, out);
  const shown = relative === '' ? '.' : relative.startsWith('..') ? out : relative;
  const folder = /\s/.test(shown) ? JSON.stringify(shown) : shown;
  const again =
    env.npm_lifecycle_event === 'demo' && shown === 'demo-backup'
      ? 'npm run demo'
      : `${command} demo${shown === 'demo-backup' ? '' : ` --out ${folder}`}`;
  const hints: [string, string][] = [
    [`open ${path.join(folder, 'index.html')}`, 'in a browser: the gallery, to search, filter and play'],
    [`${command} status --out ${folder}`, 'how the last run ended, in one line'],
    [again, 'again: resumes, downloads nothing already there'],
    [`${command} verify --out ${folder}`, "checks every file's size and sha256"],
    [`${command} demo --out demo-video --media-type video --no-previews`, 'only the videos'],
    [`${command} simulate`, 'a simulator to point `list` and `backup` at'],
  ];
  const width = Math.max(...hints.map(([c]) => c.length));
  return ['', 'Next:', ...hints.map(([c, why]) => `  ${c.padEnd(width)}   # ${why}`)];
}

export async function runDemo(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(DEMO_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, DEMO_FLAGS);
  const out = resolveOut(values.out ?? 'demo-backup', {});
  // Every flag is checked before the simulator starts, so a typo costs one line and nothing else.
  const mediaTypes = parseMediaTypes(values['media-type']) ?? [...MEDIA_TYPES];
  const concurrency = parseConcurrency(values.concurrency) ?? 'auto';
  const simulator = await startSimulator(DEMO_ACCOUNT);
  const say = (line: string): void => {
    if (!values.quiet) process.stderr.write(`${line}\n`);
  };
  say(`Simulated useapi.net at ${simulator.url} (${DEMO_ACCOUNT.assets} assets); backing up into ${out}`);
  try {
    const code = await backupWithProgress(
      {
        token: simulator.token,
        baseUrl: simulator.url,
        out,
        accounts: [],
        mediaTypes,
        concurrency,
        previews: !values['no-previews'],
        metadata: values.metadata ?? false,
        retries: 5,
        timeoutMs: 30_000,
        filter: {},
        mtime: true,
      },
      { json: values.json ?? false, quiet: values.quiet ?? false, dryRun: false, announce: false },
    );
    say(demoHints(invokedAs(process.argv[1], process.cwd()), out, process.cwd()).join('\n'));
    return code;
  } finally {
    await simulator.close();
  }
}
