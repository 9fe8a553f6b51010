/**
 * Asking for one segment's bytes: under a URL fresh enough (refreshed ahead of the expiry it carries, or after a
 * 403, once for every lane that finds it stale), after the shared rate gate, with the Range and If-Range the plan
 * calls for. Counts the requests sent and the URL refreshes of its file. @internal
 */
import { AbortError } from '../errors.js';
import type { Segment, SegmentPlan } from './segments.js';
import { final } from './transfer-errors.js';
import type { TransferOptions } from './transfer-types.js';
import type { Transport, TransportResponse } from './transport.js';
import { urlExpiresAt } from './url-expiry.js';

/** @internal */
export type RequestOptions = Pick<
  TransferOptions,
  'url' | 'refreshUrl' | 'refreshes' | 'refreshMarginMs' | 'timeoutMs' | 'gate' | 'signal'
>;

/** The requests of one file. @internal */
export class SegmentRequests {
  /** Requests sent. */
  sent = 0;
  /** URL refreshes made. */
  refreshes = 0;
  #o: RequestOptions;
  #transport: Transport;
  #url: string;
  #freshUrl = false;
  #refreshing: Promise<void> | undefined;

  constructor(options: RequestOptions, transport: Transport) {
    this.#o = options;
    this.#transport = transport;
    this.#url = options.url;
  }

  /** The URL now in use. */
  get url(): string {
    return this.#url;
  }

  /**
   * Sends the request for `seg` as the plan has it now, with `signal` as its abort; a 403 replaces the URL and
   * asks again. Returns the answer and the bytes before `seg.pos` it was asked to repeat (see SegmentPlan.ask).
   */
  async send(
    plan: SegmentPlan,
    seg: Segment,
    signal: AbortSignal,
  ): Promise<{ response: TransportResponse; back: number }> {
    const o = this.#o;
    for (;;) {
      const expiresAt = urlExpiresAt(this.#url);
      // Only a URL from the listing is refreshed ahead of time: a fresh one that is short-lived anyway is used as
      // it is, and a 403 still gets it replaced.
      if (!this.#freshUrl && o.refreshUrl && expiresAt !== undefined) {
        if (expiresAt - Date.now() < (o.refreshMarginMs ?? 60_000)) await this.refresh('is about to expire');
      }
      // The run's signal aborts the current generation (linked in run()), so one signal serves both.
      if (o.signal?.aborted) throw new AbortError();
      await o.gate?.wait(signal);
      const { back, headers } = plan.ask(seg);
      this.sent++;
      const response = await this.#transport({
        url: this.#url,
        headers,
        timeoutMs: o.timeoutMs ?? 30_000,
        signal,
      });
      if (response.status !== 403) return { response, back };
      response.destroy();
      await this.refresh('expired (403)');
    }
  }

  /** Replaces the URL through `refreshUrl`; `why` tells what became of the old one. */
  async refresh(why: string): Promise<void> {
    const { refreshUrl, refreshes = 3 } = this.#o;
    // Several lanes of one file may find its URL expired together: one refresh serves them all.
    if (this.#refreshing) return this.#refreshing;
    if (!refreshUrl || this.refreshes >= refreshes) {
      throw final('ERR_URL_EXPIRED', `the download URL ${why} and no fresh one could be had`, 403);
    }
    this.refreshes++;
    this.#refreshing = refreshUrl().then((url) => {
      this.#url = url;
      this.#freshUrl = true;
    });
    try {
      await this.#refreshing;
    } finally {
      this.#refreshing = undefined;
    }
  }
}
