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
    say(
      [
        '',
        'Next:',
        '  npm run demo                                    # again: resumes, downloads nothing that is already there',
        '  node dist/cli.js demo --out demo-video --media-type video --no-previews   # only the videos',
        '  node dist/cli.js simulate                       # a simulator to point `backup` and `list` at',
      ].join('\n'),
    );
    return code;
  } finally {
    await simulator.close();
  }
}
