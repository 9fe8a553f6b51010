import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { EXIT } from '../exit-codes.js';
import { formatBytes, printable } from '../format.js';
import { writeGallery } from '../gallery/write.js';
import { parseFlags } from './args.js';
import { DEFAULT_OUT } from './settings.js';

const GALLERY_FLAGS = {
  out: { type: 'string' },
  open: { type: 'boolean' },
} as const;

export async function runGallery(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, GALLERY_FLAGS);
  const result = await writeGallery({ out: values.out ?? DEFAULT_OUT });
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
