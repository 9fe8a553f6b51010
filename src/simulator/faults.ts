/**
 * Fault injection: rate-limit bursts, failing listings and broken CDN transfers, plus body pacing. Draws are keyed
 * by what they affect (a listing's sequence number, a file and its attempt number) so a run is reproducible from
 * the seed even when many clients race each other.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { CdnFaultOptions, ListFaultOptions, RateLimitOptions } from './options.js';
import { unitFor } from './prng.js';

/** Counts successes and answers the `burst` requests that follow every `every`-th one with 429. */
export class BurstLimiter {
  readonly #config: () => RateLimitOptions | undefined;
  #successes = 0;
  #blocked = 0;

  constructor(config: () => RateLimitOptions | undefined) {
    this.#config = config;
  }

  /** The `Retry-After` seconds when this request must be refused, else undefined. */
  refuse(): number | undefined {
    const config = this.#config();
    if (!config || this.#blocked <= 0) return undefined;
    this.#blocked -= 1;
    return config.retryAfterSeconds;
  }

  succeeded(): void {
    const config = this.#config();
    if (!config) return;
    this.#successes += 1;
    if (this.#successes % config.every === 0) this.#blocked = config.burst;
  }
}

export type ListFault = { kind: 'list5xx'; status: number } | { kind: 'listMalformed' };

const LIST_5XX = [500, 502, 503, 504];

/** The fault (if any) for the `sequence`-th valid listing request. */
export function drawListFault(
  seed: number,
  sequence: number,
  config: ListFaultOptions | undefined,
): ListFault | undefined {
  if (!config) return undefined;
  const draw = unitFor(`${seed}:list:${sequence}`);
  const status5xx = config.status5xx ?? 0;
  if (draw < status5xx) {
    return { kind: 'list5xx', status: LIST_5XX[sequence % LIST_5XX.length] ?? 503 };
  }
  if (draw < status5xx + (config.malformed ?? 0)) return { kind: 'listMalformed' };
  return undefined;
}

export type CdnFault = 'reset' | 'short' | 'status5xx' | 'stall';

const CDN_FAULTS: readonly CdnFault[] = ['reset', 'short', 'status5xx', 'stall'];

/** Remembers attempts and faults per file, so that `maxPerFile` caps what one file suffers. */
export class CdnFaultPlan {
  readonly #attempts = new Map<string, number>();
  readonly #faults = new Map<string, number>();

  draw(seed: number, fileKey: string, config: CdnFaultOptions | undefined): CdnFault | undefined {
    if (!config) return undefined;
    const attempt = (this.#attempts.get(fileKey) ?? 0) + 1;
    this.#attempts.set(fileKey, attempt);
    const suffered = this.#faults.get(fileKey) ?? 0;
    if (suffered >= (config.maxPerFile ?? 2)) return undefined;
    const draw = unitFor(`${seed}:cdn:${fileKey}:${attempt}`);
    let edge = 0;
    for (const kind of CDN_FAULTS) {
      edge += config[kind] ?? 0;
      if (draw < edge) {
        this.#faults.set(fileKey, suffered + 1);
        return kind;
      }
    }
    return undefined;
  }
}

/** Paces the bytes passing through to `bytesPerSecond`, in slices of about 1/20 s so the pace looks smooth. */
export class Throttle extends Transform {
  readonly #bytesPerSecond: number;
  readonly #slice: number;
  readonly #started = performance.now();
  #sent = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(bytesPerSecond: number) {
    super();
    this.#bytesPerSecond = bytesPerSecond;
    this.#slice = Math.max(1, Math.floor(bytesPerSecond / 20));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pass(chunk, 0, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    callback(error);
  }

  #pass(chunk: Buffer, offset: number, callback: TransformCallback): void {
    let position = offset;
    while (position < chunk.length) {
      const piece = chunk.subarray(position, position + this.#slice);
      position += piece.length;
      this.#sent += piece.length;
      this.push(piece);
      const wait = this.#started + (this.#sent / this.#bytesPerSecond) * 1000 - performance.now();
      if (wait >= 1) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pass(chunk, position, callback);
        }, wait);
        return;
      }
    }
    callback();
  }
}
