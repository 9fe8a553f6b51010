/**
 * Receiving one answer for one segment: its status judged before a byte is written (an error page never becomes a
 * file), its headers held against the plan of byte ranges, the bytes it repeats compared with the disk (the
 * overlap check), its body written chunk by chunk up to the segment's end, and its end checked against the size.
 * What it needs of the file's transfer comes through `Receiver`. @internal
 */
import type { IncomingHttpHeaders } from 'node:http';
import { redactUrl } from '../errors.js';
import { parseRetryAfter, type RateGate } from '../retry.js';
import type { PartHandle } from './part-file.js';
import {
  header,
  lengthOf,
  parseContentRange,
  type ResumeState,
  type Segment,
  type SegmentPlan,
  validatorOf,
} from './segments.js';
import { final, retryable, StartOver, Superseded } from './transfer-errors.js';
import type { ThrottleReason } from './transfer-types.js';
import type { TransportResponse } from './transport.js';

/** A longer Retry-After is capped to this: a misconfigured server must not park the run for a day. */
const MAX_RETRY_AFTER_MS = 60_000;

/** What receiving an answer needs of its file's transfer. @internal */
export interface Receiver {
  readonly plan: SegmentPlan;
  /** The URL in use, for messages (redacted). */
  url(): string;
  /** Shared with the API client: a 429 anywhere slows every request. */
  readonly gate: RateGate | undefined;
  readonly onThrottle: ((reason: ThrottleReason) => void) | undefined;
  /** Throws when a size the server says disagrees with the one the API said. */
  checkSize(total: number | undefined): void;
  /** Puts a fresh start's resume state on record. */
  record(state: ResumeState | undefined): Promise<void>;
  /** An answer fits `seg` (`ranged`: a 206): counts the bytes kept, and announces the file's first answer. */
  announce(seg: Segment, ranged: boolean): void;
  /** The `.part`, opened on first use. */
  open(): Promise<PartHandle>;
  /** Writes `data` at `seg.pos` and moves it on; Superseded once `voided` aborted. */
  write(data: Buffer, seg: Segment, voided: AbortSignal, release: boolean): Promise<void>;
}

/**
 * Receives `response`, asked for `seg` from `back` bytes before its position, into the `.part`. `voided` is the
 * file's generation: once it aborts (a restart or a failure elsewhere), this lane's bytes no longer count. Returns
 * when the segment is complete; throws StartOver when the answer is of another object, a retryable error when it
 * broke off.
 */
export async function receive(
  rx: Receiver,
  seg: Segment,
  voided: AbortSignal,
  response: TransportResponse,
  back: number,
): Promise<void> {
  const { status, headers } = response;
  checkStatus(rx, status, headers);
  const validator = validatorOf(headers);
  // How many leading bytes of the body are only there to be compared with the disk, or skipped.
  let compare = 0;
  let skip = 0;
  if (status === 200) skip = await admitWhole(rx, seg, headers, validator);
  else {
    admitRange(rx, seg, headers, validator, back);
    compare = back;
  }
  rx.announce(seg, status === 206);
  const handle = await rx.open();
  const disk = compare > 0 ? await handle.read(compare, seg.pos - compare) : undefined;
  if (disk && disk.length !== compare) throw new StartOver();
  const uncompared = await copyBody(rx, seg, voided, response, { skip, compare, back, disk });
  // A body that ended inside the overlap disproved nothing: retried like any short body, not started over.
  if (uncompared > 0) throw retryable('ERR_DOWNLOAD_SHORT', 'the answer ended before the bytes to compare');
  if (!Number.isFinite(seg.end)) {
    // No size was announced: the end of the body is the end of the file.
    seg.end = seg.pos;
    rx.plan.total = seg.pos;
    rx.checkSize(seg.pos);
  }
  if (seg.pos < seg.end) {
    // Keep the .part: the next attempt continues it with Range.
    throw retryable('ERR_DOWNLOAD_SHORT', `got ${seg.pos - seg.start} of ${seg.end - seg.start} bytes`);
  }
}

/** Anything but a 200 or a 206 throws, before a byte is written: retryable or not, a 416 starts the file over. */
export function checkStatus(rx: Receiver, status: number, headers: IncomingHttpHeaders): void {
  if (status === 200 || status === 206) return;
  const where = redactUrl(rx.url());
  if (status === 416) throw new StartOver();
  if (status === 429) {
    const wait = parseRetryAfter(header(headers, 'retry-after'));
    const retryAfterMs = wait === undefined ? undefined : Math.min(wait, MAX_RETRY_AFTER_MS);
    // Everyone waits, not just this lane: the gate is shared with the other downloads and the listing.
    if (retryAfterMs !== undefined) rx.gate?.pause(retryAfterMs);
    rx.onThrottle?.('rate-limited');
    throw retryable('ERR_DOWNLOAD_RATE_LIMITED', `${where} answered 429`, 429, retryAfterMs);
  }
  if (status === 404 || status === 410) {
    throw final('ERR_DOWNLOAD_GONE', `${where} answered ${status}: the file is gone`, status);
  }
  if (status >= 500 || status === 408) {
    rx.onThrottle?.('server-error');
    throw retryable('ERR_DOWNLOAD_HTTP', `${where} answered ${status}`, status);
  }
  throw final('ERR_DOWNLOAD_HTTP', `${where} answered ${status}`, status);
}

/** A whole (200) answer: a fresh start, put on record, or the same object again. Returns the bytes to skip. */
async function admitWhole(
  rx: Receiver,
  seg: Segment,
  headers: IncomingHttpHeaders,
  validator: string | undefined,
): Promise<number> {
  const total = lengthOf(headers);
  const verdict = rx.plan.whole(seg, validator, total);
  if (verdict === 'start-over') throw new StartOver();
  if (verdict === 'again') {
    // The same object, whole: the server ignores Range. Skip what we have; never split this file again.
    rx.plan.noSplit = true;
    return seg.pos;
  }
  rx.plan.beginWhole(seg, validator, total, header(headers, 'accept-ranges') === 'bytes');
  rx.checkSize(total);
  // Recorded before the first byte lands in the .part, so a kill at any later instant can resume it.
  await rx.record(validator || total !== undefined ? { validator, total } : undefined);
  return 0;
}

/** A partial (206) answer: it must continue `seg` of the same object, else the file starts over. */
function admitRange(
  rx: Receiver,
  seg: Segment,
  headers: IncomingHttpHeaders,
  validator: string | undefined,
  back: number,
): void {
  const range = parseContentRange(header(headers, 'content-range'));
  if (!rx.plan.fits(seg, back, range, validator)) throw new StartOver();
  rx.plan.acceptRange(seg, range.total);
  rx.checkSize(range.total);
}

/**
 * Writes the body into `seg`: its first `skip` bytes dropped, the next `compare` held against `disk` (the last
 * `back` bytes before `seg.pos`), the rest written until the segment's end. Returns the bytes left uncompared.
 */
async function copyBody(
  rx: Receiver,
  seg: Segment,
  voided: AbortSignal,
  response: TransportResponse,
  overlap: { skip: number; compare: number; back: number; disk: Buffer | undefined },
): Promise<number> {
  let { skip, compare } = overlap;
  const { back, disk } = overlap;
  for await (const chunk of response.body) {
    if (voided.aborted) throw new Superseded();
    let data = chunk;
    if (skip > 0) {
      const n = Math.min(skip, data.length);
      skip -= n;
      data = data.subarray(n);
    }
    if (compare > 0 && data.length > 0) {
      const n = Math.min(compare, data.length);
      const offset = back - compare;
      if (!data.subarray(0, n).equals(disk!.subarray(offset, offset + n))) throw new StartOver();
      compare -= n;
      data = data.subarray(n);
    }
    if (data.length === 0) continue;
    const room = seg.end - seg.pos;
    if (room <= 0) break;
    if (data.length > room) data = data.subarray(0, room);
    await rx.write(data, seg, voided, response.disposableChunks === true);
    if (seg.pos >= seg.end) break;
  }
  return compare;
}
