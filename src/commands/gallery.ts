import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { EXIT } from '../exit-codes.js';
import { writeGallery } from '../gallery/write.js';
import { formatBytes, printable } from '../report/format.js';
import { type CommandSpec, commandHelp, helpRequested, parseFlags, SHARED_FLAGS } from './args.js';
import { outFromConfig } from './settings.js';

const GALLERY_FLAGS = {
  out: SHARED_FLAGS.out,
  config: SHARED_FLAGS.config,
  open: { type: 'boolean', help: "open the page in the desktop's browser" },
} as const;

export const GALLERY_SPEC: CommandSpec = {
  name: 'gallery',
  summary: 'write (again) the page that shows a backup folder: index.html, readable offline.',
  flags: GALLERY_FLAGS,
  notes: [
    "The page's address goes to stdout, a one-line count to stderr. backup writes the page after every run;",
    'this command rewrites it from the manifest and the disk alone, never the network.',
  ],
};

export async function runGallery(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(GALLERY_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, GALLERY_FLAGS);
  const result = await writeGallery({ out: await outFromConfig(values.out, values.config) });
  const problems = result.missing + result.damaged;
  process.stderr.write(
    `Gallery of ${result.assets} assets (${result.files} files, ${formatBytes(result.bytes)})${problems ? `, ${result.missing} missing, ${result.damaged} damaged` : ''}\n`,
  );
  const url = pathToFileURL(result.file).href;
  process.stdout.write(`${printable(url)}\n`);
  if (values.open) openInBrowser(url);
  return EXIT.ok;
}

/** Hands the page to the desktop's browser; says where it is when there is none (a server, a container). */
function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () =>
    process.stderr.write(`Could not start a browser; open ${printable(url)} yourself\n`),
  );
  child.unref();
}
