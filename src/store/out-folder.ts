import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Refuses an output folder that is a file, or lies under one, with one line that says so (instead of the EEXIST or
 * ENOTDIR that mkdir and stat would give). A folder that does not exist yet is fine: it is created later.
 */
export async function checkOutFolder(out: string): Promise<void> {
  const folder = path.resolve(out);
  for (let at = folder; ; at = path.dirname(at)) {
    let stat: Awaited<ReturnType<typeof fs.stat>>;
    try {
      stat = await fs.stat(at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(at) !== at) continue;
      return; // unreadable: the write that follows gives the precise reason
    }
    if (stat.isDirectory()) return;
    throw new UsageError(
      at === folder
        ? `The output folder ${folder} is a file, not a folder`
        : `Cannot use ${folder} as the output folder: ${at} is a file, not a folder`,
    );
  }
}
