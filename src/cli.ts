#!/usr/bin/env node
// The V8 settings (small young generation, slow old-generation growth, gc) come from node-flags.ts, imported
// first: a plain shebang starts everywhere, `env -S` does not (BusyBox, coreutils before 8.30).
import './node-flags.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { didYouMean } from './commands/args.js';
import { installLastResort } from './commands/last-resort.js';
import { firstLine, RunwayBackupError, UsageError, withoutToken } from './errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export const HELP = `runway-backup: back up a RunwayML account's media through useapi.net, resumably.

Usage:
  runway-backup backup   [--out DIR] [--email E]... [--media-type video,image,audio] [--concurrency auto|N]
                         [--since DATE] [--until DATE] [--favorites] [--match REGEX] [--no-mtime]
                         [--layout TEMPLATE] [--timezone ZONE]
                         [--no-previews] [--metadata] [--dry-run] [--no-gallery] [--config FILE]
                         [--base-url URL] [--retries N] [--timeout SECONDS] [--task-history M] [--json] [-q]
                         [--limit-rate RATE] [--max-duration TIME] [--log-file FILE] [--log-format text|json]
                         [--on-finish CMD] [--metrics-file FILE]
  runway-backup list     [--email E] [--media-type T] [--since DATE] [--until DATE] [--favorites]
                         [--match REGEX] [--out DIR] [--config FILE] [--base-url URL] [--retries N]
                         [--timeout SECONDS] [--task-history M] [--json] [-q]
  runway-backup verify   [--out DIR] [--quick] [--config FILE] [--json] [-q]
  runway-backup gallery  [--out DIR] [--config FILE] [--open]
  runway-backup status   [--out DIR] [--config FILE] [--json]
  runway-backup show     FILE|ASSET_ID [--out DIR] [--config FILE] [--json]
  runway-backup repair   [--out DIR] [--email E]... [--config FILE] [--base-url URL] [--dry-run] [--json] [-q]
  runway-backup forget   FILE|ASSET_ID [--out DIR] [--undo] [--config FILE]
  runway-backup demo     [--out DIR] [--media-type T] [--concurrency auto|N] [--no-previews] [--metadata]
                         [--json] [-q]
  runway-backup simulate [--port N] [--assets N] [--latency MS] [--seed N] [--url-ttl SECONDS]
                         [--hostile-names] [--hostile-prompts] [--discarded-takes N] [--file-size BYTES]
                         [--media-mix MIX] [--cdn-first-byte MS] [--cdn-connection-rate RATE]
                         [--cdn-link-rate RATE] [--cdn-base-url URL] [--no-validators] [-q]

Every option of a command: runway-backup <command> --help.
The token comes from the environment variable USEAPI_TOKEN; the base URL from --base-url or USEAPI_BASE_URL.
Exit codes: 0 done, 1 some files failed or a listing was cut short, 2 bad usage or config, 3 the API refused,
4 the API could not be reached or answered garbage, 75 stopped at --max-duration, 130 interrupted.`;

function version(): string {
  // fileURLToPath, not URL.pathname: an install path with spaces or non-ASCII letters is percent-encoded there.
  const file = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const COMMANDS = new Set([
  'backup',
  'list',
  'verify',
  'gallery',
  'status',
  'show',
  'repair',
  'forget',
  'demo',
  'simulate',
]);

// Commands are imported when chosen: `list` need not load the simulator, nor `--help` got.
/** Exit code of a finished command; thrown errors are mapped in `main`. */
export type CommandResult = number;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'backup':
      return (await import('./commands/backup.js')).runBackup(rest);
    case 'list':
      return (await import('./commands/list.js')).runList(rest);
    case 'verify':
      return (await import('./commands/verify.js')).runVerify(rest);
    case 'gallery':
      return (await import('./commands/gallery.js')).runGallery(rest);
    case 'status':
      return (await import('./commands/status.js')).runStatus(rest);
    case 'show':
      return (await import('./commands/show.js')).runShow(rest);
    case 'repair':
      return (await import('./commands/repair.js')).runRepair(rest);
    case 'forget':
      return (await import('./commands/forget.js')).runForget(rest);
    case 'demo':
      return (await import('./commands/demo.js')).runDemo(rest);
    case 'simulate':
      return (await import('./commands/simulate.js')).runSimulate(rest);
    case 'help':
      // `runway-backup help backup` is `runway-backup backup --help`.
      if (rest[0] !== undefined && COMMANDS.has(rest[0])) return run([rest[0], '--help']);
      process.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return EXIT.ok;
    default:
      throw new UsageError(unknownCommand(command));
  }
}

function unknownCommand(command: string): string {
  const guess = didYouMean(command, [...COMMANDS]);
  return `Unknown command "${command.slice(0, 40)}"${guess ? `; did you mean "${guess}"?` : ''}; try --help`;
}

/** One line for any error: the message of our own errors, a generic line (no stack) for anything else. */
function errorLine(error: unknown): string {
  if (error instanceof RunwayBackupError) return error.message;
  return `unexpected error: ${firstLine(error)}`;
}

async function main(): Promise<void> {
  installLastResort(process.env.USEAPI_TOKEN, Boolean(process.env.RUNWAY_BACKUP_DEBUG));
  // `runway-backup list | head` closes stdout early: that is the reader's choice, not an error. Any other write
  // error (a full disk behind `> file`, /dev/full) means the output is lost: say so and fail.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`runway-backup: cannot write to standard output: ${error.code ?? error.message}\n`);
    process.exit(EXIT.someFailed);
  });
  // parseArgs-style errors from inside commands are turned into UsageError there; anything escaping is one line.
  try {
    process.exitCode = await run(process.argv.slice(2));
  } catch (error) {
    const token = process.env.USEAPI_TOKEN;
    process.stderr.write(`runway-backup: ${withoutToken(errorLine(error), token)}\n`);
    if (process.env.RUNWAY_BACKUP_DEBUG && error instanceof Error && error.stack) {
      process.stderr.write(`${withoutToken(error.stack, token)}\n`);
    }
    process.exitCode = exitCodeFor(error);
  }
}

await main();
