import type { RawAsset } from '../types.js';

const URL_FIELDS = new Set(['url', 'previewUrls', 'userPicture']);

/**
 * The API's fields for a `--metadata` sidecar, without URLs: signed URLs are credentials until they expire, and
 * they are useless afterwards anyway.
 */
export function sanitizeMetadata(raw: RawAsset): Record<string, unknown> {
  const clean = (value: unknown): unknown => {
    if (typeof value === 'string') return /^https?:\/\//i.test(value) ? undefined : value;
    if (Array.isArray(value)) return value.map(clean).filter((v) => v !== undefined);
    if (value && typeof value === 'object') {
      const fields: [string, unknown][] = [];
      for (const [key, inner] of Object.entries(value)) {
        if (URL_FIELDS.has(key)) continue;
        const cleaned = clean(inner);
        if (cleaned !== undefined) fields.push([key, cleaned]);
      }
      // fromEntries defines each field as an own property: assigned into a `{}`, a field named `__proto__` would
      // become the object's prototype instead, and vanish from the sidecar.
      return Object.fromEntries(fields);
    }
    return value;
  };
  return clean(raw) as Record<string, unknown>;
}
