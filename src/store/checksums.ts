/**
 * `<out>/SHA256SUMS`: one `<sha256>  <relative path>` line per file the manifest records as done, in the format
 * of GNU `sha256sum`, so that `sha256sum -c SHA256SUMS` run in the backup folder checks the whole backup with a
 * tool every system has, without this one.
 */
import path from 'node:path';
import { writeIfChanged } from './atomic-write.js';
import type { ManifestData } from './manifest-data.js';
import { CHECKSUMS_NAME } from './own-files.js';

export { CHECKSUMS_NAME };

/**
 * One line per done file, sorted by path. A name holding a backslash or a line break is written as sha256sum
 * writes it: the line starts with `\` and those characters are escaped.
 */
export function checksumsText(data: ManifestData): string {
  const lines: string[] = [];
  for (const entry of Object.values(data.assets)) {
    for (const file of entry.files) {
      if (file.status !== 'done' || !/^[0-9a-f]{64}$/.test(file.sha256)) continue;
      const escaped = /[\\\n\r]/.test(file.path);
      const name = escaped
        ? file.path.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\r', '\\r')
        : file.path;
      lines.push(`${escaped ? '\\' : ''}${file.sha256}  ${name}`);
    }
  }
  lines.sort((a, b) => {
    const pa = a.slice(a.indexOf('  ') + 2);
    const pb = b.slice(b.indexOf('  ') + 2);
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Rewrites `<out>/SHA256SUMS` atomically when what it should say changed. True when it wrote. */
export function writeChecksumsFile(out: string, data: ManifestData): Promise<boolean> {
  return writeIfChanged(path.join(out, CHECKSUMS_NAME), checksumsText(data));
}
