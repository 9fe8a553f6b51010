/**
 * The output folder of a run that was refused before it could parse its own settings (a bad flag, a config file
 * that does not load, no token), found the best way that can still be trusted, so that its refusal is recorded
 * where `status` looks (README, "Status").
 */

import path from 'node:path';
import { parseArgs } from 'node:util';
import { expandHome, type FileConfig, loadConfigFile } from '../config.js';
import { exitCodeFor } from '../exit-codes.js';
import { recordRefusal } from '../report/refusal.js';
import { describeError, outcomeOfError } from '../report/run-record.js';
import { resolveOut } from './settings.js';
import { Unattended, type UnattendedSettings } from './unattended.js';

/** Errors already in the run record (written by the run itself once it held the lock). */
const recorded = new WeakSet<object>();

export function markRecorded(error: unknown): void {
  if (typeof error === 'object' && error !== null) recorded.add(error);
}

const STRINGS = ['out', 'config', 'log-file', 'log-format', 'on-finish', 'metrics-file'] as const;

/**
 * The folder and the unattended settings of a refused run: flags first, then the config file when it loads (a
 * config that does not load gives nothing), as `resolveSettings` would have; `out` undefined when unknown.
 */
export async function unattendedOf(argv: string[]): Promise<UnattendedSettings> {
  const token = process.env.USEAPI_TOKEN;
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(STRINGS.map((name) => [name, { type: 'string' }])),
    strict: false,
    allowPositionals: true,
  });
  const flag = (name: (typeof STRINGS)[number]) => {
    const value = values[name];
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
  };
  const config = flag('config');
  const loaded: FileConfig | undefined = config ? await loadConfigFile(config).catch(() => undefined) : {};
  const file = loaded ?? {};
  const where = (value: string | undefined) => (value ? path.resolve(expandHome(value)) : undefined);
  let out: string | undefined;
  try {
    // `--out ""` is refused as it is; a config file that did not load names no folder.
    out = values.out !== undefined || loaded ? resolveOut(flag('out'), file) : undefined;
    if (typeof values.out === 'string' && values.out.trim() === '') out = undefined;
  } catch {
    out = undefined;
  }
  const format = flag('log-format') ?? file.logFormat;
  return {
    out,
    token,
    logFile: where(flag('log-file')) ?? file.logFile,
    logFormat: format === 'json' ? 'json' : 'text',
    onFinish: flag('on-finish') ?? file.onFinish,
    metricsFile: where(flag('metrics-file')) ?? file.metricsFile,
  };
}

/**
 * Ends a `backup` refused before it held the folder: its record (`status` says refused), its log line, metrics and
 * hook. Not when the run ended itself, nor for a dry run (which records nothing). Never throws.
 */
export async function finishRefused(argv: string[], error: unknown): Promise<void> {
  if (typeof error === 'object' && error !== null && recorded.has(error)) return;
  if (argv.includes('--dry-run')) return;
  try {
    const u = await unattendedOf(argv);
    await recordRefusal(u.out, error, u.token);
    const unattended = new Unattended(u, (line) => process.stderr.write(`${line}\n`));
    const end = { state: outcomeOfError(error), exitCode: exitCodeFor(error) };
    await unattended.end({ ...end, error: describeError(error, u.token) });
  } catch {
    // Best effort: the error the user sees is the refusal itself.
  }
}
