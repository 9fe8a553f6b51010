/**
 * The output folder of a run that was refused before it could parse its own settings (a bad flag, a config file
 * that does not load, no token), found the best way that can still be trusted, so that its refusal is recorded
 * where `status` looks (README, "Status").
 */
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config.js';
import { recordRefusal } from '../report/refusal.js';
import { resolveOut } from './settings.js';

/** Errors already in the run record (written by the run itself once it held the lock). */
const recorded = new WeakSet<object>();

export function markRecorded(error: unknown): void {
  if (typeof error === 'object' && error !== null) recorded.add(error);
}

/** `--out`, else the config file's `out` when it loads, else the default folder; undefined when unknown. */
export async function outOf(argv: string[]): Promise<string | undefined> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, config: { type: 'string' } },
      strict: false,
      allowPositionals: true,
    });
    const out = typeof values.out === 'string' ? values.out : undefined;
    const config = typeof values.config === 'string' ? values.config : undefined;
    if (out !== undefined || config === undefined) return resolveOut(out, {});
    return resolveOut(undefined, await loadConfigFile(config));
  } catch {
    return undefined;
  }
}

/** Records a refusal of `backup` unless the run recorded its own end, or it was a dry run (which records nothing). */
export async function recordIfRefused(argv: string[], error: unknown): Promise<void> {
  if (typeof error === 'object' && error !== null && recorded.has(error)) return;
  if (argv.includes('--dry-run')) return;
  await recordRefusal(await outOf(argv), error, process.env.USEAPI_TOKEN);
}
