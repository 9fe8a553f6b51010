import type { Asset, AssetMetadata, RawAsset } from '../types.js';

/** Why an item of a page could not be used. Reported and skipped, never fatal. */
export interface SkippedItem {
  /** The item's position in its page. */
  index: number;
  /** The assetId when the item had one. */
  assetId: string | undefined;
  reason: string;
}

export type ParseResult = { ok: true; asset: Asset } | { ok: false; skipped: SkippedItem };

export function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads width/height from either metadata shape the API has used. */
export function dimensions(metadata: AssetMetadata | undefined): { width?: number; height?: number } {
  if (!metadata) return {};
  const size = isRecord(metadata.size) ? metadata.size : undefined;
  const dims = Array.isArray(metadata.dimensions) ? metadata.dimensions : undefined;
  const width = finiteNumber(metadata.width) ?? finiteNumber(size?.width) ?? finiteNumber(dims?.[0]);
  const height = finiteNumber(metadata.height) ?? finiteNumber(size?.height) ?? finiteNumber(dims?.[1]);
  return { ...(width === undefined ? {} : { width }), ...(height === undefined ? {} : { height }) };
}

/**
 * Validates one item of a listing. Only `assetId` (or `id`) and an http(s) `url` are required; every other field
 * is taken when it has the right type and ignored otherwise.
 */
export function parseAsset(item: unknown, index: number): ParseResult {
  if (!isRecord(item)) {
    return { ok: false, skipped: { index, assetId: undefined, reason: 'item is not an object' } };
  }
  const raw = item as RawAsset;
  const assetId = [raw.assetId, raw.id].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  if (assetId === undefined) {
    return { ok: false, skipped: { index, assetId: undefined, reason: 'item has no assetId' } };
  }
  const url = httpUrl(raw.url);
  if (url === undefined) {
    return { ok: false, skipped: { index, assetId, reason: 'item has no usable url' } };
  }
  const previewUrls = Array.isArray(raw.previewUrls)
    ? raw.previewUrls.map(httpUrl).filter((u): u is string => u !== undefined)
    : [];
  const metadata = isRecord(raw.metadata) ? (raw.metadata as AssetMetadata) : undefined;
  const { width, height } = dimensions(metadata);
  const fileSize = finiteNumber(raw.fileSize);
  return {
    ok: true,
    asset: {
      assetId,
      id: optionalString(raw.id),
      name: optionalString(raw.name),
      mediaType: optionalString(raw.mediaType),
      createdAt: optionalString(raw.createdAt),
      fileSize: fileSize !== undefined && Number.isInteger(fileSize) && fileSize >= 0 ? fileSize : undefined,
      fileExt: optionalString(raw.fileExtStandardized),
      url,
      previewUrls,
      width,
      height,
      duration: finiteNumber(metadata?.duration),
      favorite: typeof raw.favorite === 'boolean' ? raw.favorite : undefined,
      prompt: promptOf(raw),
      raw,
      source: 'assets',
    },
  };
}

/** The first non-empty string among a record's prompt fields (names as the API and the tasks spell them). */
export function promptOf(record: Record<string, unknown> | undefined): string | undefined {
  if (!record) return undefined;
  for (const key of ['prompt', 'textPrompt', 'text_prompt']) {
    const value = record[key];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

/** The last segment of a URL's path (undecoded), or undefined when `url` is not a URL. */
export function lastPathSegment(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const { pathname } = new URL(url);
    return pathname.slice(pathname.lastIndexOf('/') + 1);
  } catch {
    return undefined;
  }
}
