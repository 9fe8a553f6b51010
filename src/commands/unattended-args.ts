/**
 * The flags (and config fields) of unattended runs, validated with messages that name the option as the user wrote
 * it: `--limit-rate` in a command line, `limitRate` in a config file.
 */
import { parseRateSchedule, type RateSchedule } from '../engine/rate-limit.js';
import { UsageError } from '../errors.js';
import { LOG_FORMATS, type LogFormat } from '../report/log-file.js';

/** `--limit-rate 2M`, `--limit-rate "08:00,2M 19:00,off"`. */
export function parseLimitRate(value: string | undefined, name: string): RateSchedule | undefined {
  if (value === undefined) return undefined;
  try {
    return parseRateSchedule(value);
  } catch (error) {
    throw new UsageError(`Expected ${name} to be ${(error as Error).message}`);
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `90m`, `2h`, `5s`, `1h30m`: milliseconds, 1 s to 7 days. */
export function parseDuration(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim().toLowerCase();
  const parts = [...text.matchAll(/(\d+)([hms])/g)];
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_MS[unit as string] ?? 0), 0);
  const whole = parts.map((p) => p[0]).join('') === text && text !== '';
  if (!whole || ms < 1000 || ms > 7 * 24 * 3_600_000) {
    throw new UsageError(
      `Expected ${name} to be a duration from 1s to 7 days (5s, 90m, 2h, 1h30m), got "${value.slice(0, 40)}"`,
    );
  }
  return ms;
}

/** `--log-format text|json`. */
export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  if (value === undefined) return undefined;
  const format = value.trim().toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`Expected \`--log-format\` to be "text" or "json", got "${value.slice(0, 40)}"`);
  }
  return format as LogFormat;
}

/** A non-empty value for a flag that names a file or a command. */
export function nonEmpty(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '')
    throw new UsageError(`Expected \`${name}\` to be given a value`);
  return value;
}
