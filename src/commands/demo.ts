import path from 'node:path';
import { startSimulator } from '../simulator/index.js';
import { MEDIA_TYPES } from '../types.js';
import { parseConcurrency, parseFlags, parseMediaTypes } from './args.js';
import { backupWithProgress } from './backup.js';

const DEMO_FLAGS = {
  out: { type: 'string' },
  'media-type': { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  'no-previews': { type: 'boolean' },
  metadata: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

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
 * How the user ran us, so the hints name commands that work where they are: `npm run demo` in a checkout
 * (npm sets npm_lifecycle_event), `runway-backup` when installed (the bin is on PATH), else `node <path to cli>`.
 */
export function invokedAs(env: NodeJS.ProcessEnv = process.env, argv1 = process.argv[1] ?? ''): string {
  if (env.npm_lifecycle_event === 'demo') return 'node dist/cli.js';
  const base = path.basename(argv1);
  if (base === 'runway-backup' || argv1.includes(`${path.sep}node_modules${path.sep}`))
    return 'runway-backup';
  const relative = path.relative(process.cwd(), argv1);
  return `node ${relative.startsWith('..') ? argv1 : relative}`;
}

export function nextSteps(out: string, cli: string): string[] {
  const where = path.relative(process.cwd(), out) || '.';
  const again = cli === 'node dist/cli.js' ? 'npm run demo' : `${cli} demo`;
  const shown = where.startsWith('..') ? out : where;
  const steps: [string, string][] = [
    [`open ${path.join(shown, 'index.html')}`, 'in a browser: the gallery, to search, filter and play'],
    [`${cli} status --out ${shown}`, 'how the last run ended, in one line'],
    [again, 'again: resumes, downloads nothing that is already there'],
    [`${cli} demo --out demo-video --media-type video --no-previews`, 'only the videos'],
    [`${cli} simulate`, 'a simulator to point `backup` and `list` at'],
  ];
  const width = Math.max(...steps.map(([command]) => command.length));
  return ['', 'Next:', ...steps.map(([command, why]) => `  ${command.padEnd(width)}   # ${why}`)];
}

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, DEMO_FLAGS);
  const out = path.resolve(values.out ?? 'demo-backup');
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
      },
      { json: values.json ?? false, quiet: values.quiet ?? false, dryRun: false },
    );
    say(nextSteps(out, invokedAs()).join('\n'));
    return code;
  } finally {
    await simulator.close();
  }
}
