/**
 * Signed CDN URLs in the style of CloudFront/S3 query authentication: the expiry travels in the URL and the
 * signature covers path and expiry, so a client cannot extend a URL and every listing hands out new ones.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type Verdict = 'ok' | 'missing' | 'bad-signature' | 'expired';

export class UrlSigner {
  readonly #secret = randomBytes(32);
  /** Added to the wall clock; `expireAll` moves it forward instead of waiting. */
  #offsetSeconds = 0;
  #latestExpiry = 0;

  /** The simulator's idea of now, in Unix seconds. */
  now(): number {
    return Math.floor(Date.now() / 1000) + this.#offsetSeconds;
  }

  /** The query string (without `?`) that makes `path` fetchable for `ttlSeconds`. */
  sign(path: string, ttlSeconds: number): string {
    const expires = this.now() + ttlSeconds;
    if (expires > this.#latestExpiry) this.#latestExpiry = expires;
    return `Expires=${expires}&Signature=${this.#signature(path, String(expires))}`;
  }

  verify(path: string, expires: string | null, signature: string | null): Verdict {
    if (!expires || !signature) return 'missing';
    if (!/^\d{1,15}$/.test(expires) || !/^[0-9a-f]{64}$/.test(signature)) return 'bad-signature';
    const expected = Buffer.from(this.#signature(path, expires), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'bad-signature';
    return this.now() > Number(expires) ? 'expired' : 'ok';
  }

  /** Moves the clock just past the latest expiry handed out, so every URL issued so far is refused. */
  expireAll(): void {
    const now = this.now();
    if (this.#latestExpiry >= now) this.#offsetSeconds += this.#latestExpiry - now + 1;
  }

  #signature(path: string, expires: string): string {
    return createHmac('sha256', this.#secret).update(`${path}\n${expires}`).digest('hex');
  }
}
