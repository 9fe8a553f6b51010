/**
 * `--limit-rate`: one byte budget for every lane of a run, as a token bucket (rclone's `--bwlimit` is the model,
 * timetable included). Each chunk a transfer reads waits its turn before it is written, so the socket is read no
 * faster than the budget and TCP slows the sender down; the lanes share the one bucket, whatever their number.
 */

/** Bytes per second, or undefined for no limit (`off`). */
export type Rate = number | undefined;

/** A timetable: from `minute` of the day (local time) on, `rate`; sorted by minute. One entry is a plain limit. */
export type RateSchedule = readonly { minute: number; rate: Rate }[];

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
};

/** `800k`, `5M`, `1.5Mi`, `2000000`, `off`: bytes per second (SI `k M G`, binary `Ki Mi Gi`; a `B` or `/s` may follow). */
export function parseRate(text: string): Rate {
  const t = text.trim();
  if (/^off$/i.test(t)) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?)?(?:b)?(?:\/s)?$/i.exec(t);
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()];
  const rate = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isFinite(rate) || rate < 1024) {
    throw new RangeError(
      `a rate of at least 1Ki bytes per second (800k, 5M, 1.5Mi, off), got "${t.slice(0, 40)}"`,
    );
  }
  return rate;
}

/**
 * `2M` (all day), or a timetable as rclone writes it: `"08:00,2M 19:00,off"`: from 08:00 on 2 MB/s, from 19:00 on
 * no limit; before the first time of the day, the last entry's rate holds (the table wraps around midnight).
 */
export function parseRateSchedule(text: string): RateSchedule {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 1 && !parts[0]?.includes(',')) return [{ minute: 0, rate: parseRate(parts[0] ?? '') }];
  const entries = parts.map((part) => {
    const match = /^([01]?\d|2[0-3]):([0-5]\d),(.+)$/.exec(part);
    if (!match) throw new RangeError(`"HH:MM,RATE" entries separated by spaces, got "${part.slice(0, 40)}"`);
    return { minute: Number(match[1]) * 60 + Number(match[2]), rate: parseRate(match[3] as string) };
  });
  entries.sort((a, b) => a.minute - b.minute);
  if (new Set(entries.map((e) => e.minute)).size !== entries.length) throw new RangeError('each time once');
  return entries;
}

/** The rate that holds at `date` (local time). */
export function rateAt(schedule: RateSchedule, date: Date): Rate {
  const minute = date.getHours() * 60 + date.getMinutes();
  let current = schedule[schedule.length - 1];
  for (const entry of schedule) if (entry.minute <= minute) current = entry;
  return current?.rate;
}

export interface RateLimiterOptions {
  schedule: RateSchedule;
  /** Bytes that may pass at once after a quiet spell. @default a quarter second of the rate, 64 KiB..1 MiB */
  burstBytes?: number | undefined;
  now?: () => number;
}

/**
 * A token bucket kept as its "theoretical arrival time" (GCRA): each chunk reserves its share of the budget when it
 * asks, so lanes are served in the order they asked, and the bytes let through by any instant never exceed the
 * rate times the time since the budget was last unused plus one burst. The rate is read from the timetable at every
 * chunk, so a run switches at the boundaries.
 */
export class RateLimiter {
  readonly #schedule: RateSchedule;
  readonly #burst: number | undefined;
  readonly #now: () => number;
  #tat = 0;
  #waited = false;

  constructor(options: RateLimiterOptions) {
    this.#schedule = options.schedule;
    this.#burst = options.burstBytes;
    this.#now = options.now ?? Date.now;
  }

  /** The rate now (undefined: no limit). */
  rate(): Rate {
    return rateAt(this.#schedule, new Date(this.#now()));
  }

  /**
   * Whether a chunk had to wait since the last call: the budget, not the lanes, held the throughput. The lane
   * controller does not grow then (more connections cannot beat the budget).
   */
  takeLimited(): boolean {
    const waited = this.#waited;
    this.#waited = false;
    return waited;
  }

  /** Waits until `bytes` fit in the budget; returns early when `signal` aborts (the caller checks it). */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const rate = this.rate();
    const now = this.#now();
    if (rate === undefined) {
      this.#tat = now;
      return;
    }
    const burst = this.#burst ?? Math.min(1024 * 1024, Math.max(64 * 1024, rate / 4));
    this.#tat = Math.max(this.#tat, now) + (bytes * 1000) / rate;
    const wait = this.#tat - (burst * 1000) / rate - now;
    if (wait <= 0 || signal?.aborted) return;
    this.#waited = true;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
