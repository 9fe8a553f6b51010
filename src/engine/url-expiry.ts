/**
 * Reads the expiry a signed URL carries, in ms since the epoch: CloudFront's `Expires`, S3's `X-Amz-Date` +
 * `X-Amz-Expires`, a generic `exp`/`expires`, or the `exp` claim of a JWT in `_jwt`/`token`/`jwt` (Runway's CDN
 * URLs carry one). Undefined when the URL says nothing, in which case only a 403 tells.
 */
export function urlExpiresAt(url: string): number | undefined {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  for (const key of ['Expires', 'expires', 'exp', 'e']) {
    const value = params.get(key);
    if (value && /^\d{9,11}$/.test(value)) return Number(value) * 1000;
  }
  const amzDate = params.get('X-Amz-Date');
  const amzExpires = params.get('X-Amz-Expires');
  if (amzDate && amzExpires && /^\d+$/.test(amzExpires)) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + Number(amzExpires) * 1000;
  }
  for (const key of ['_jwt', 'jwt', 'token']) {
    const value = params.get(key);
    const exp = value ? jwtExp(value) : undefined;
    if (exp !== undefined) return exp * 1000;
  }
  return undefined;
}

function jwtExp(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const exp = (claims as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}
