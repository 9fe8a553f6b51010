/** The media types the API can filter by. */
export const MEDIA_TYPES = ['video', 'image', 'audio'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

export function isMediaType(value: unknown): value is MediaType {
  return typeof value === 'string' && (MEDIA_TYPES as readonly string[]).includes(value);
}

/**
 * Media types as a user writes them, in a flag or the config file: comma-separated or listed, in upper or lower case
 * (`Video,image`): the list, once each, or the first word that is none (`''` for an empty list).
 */
export function mediaTypesIn(items: readonly string[]): { types: MediaType[] } | { bad: string } {
  const words = items.flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase());
  const bad = words.find((v) => !isMediaType(v));
  if (bad !== undefined || words.length === 0) return { bad: bad ?? '' };
  return { types: [...new Set(words)] as MediaType[] };
}

/**
 * One asset as the API returns it. Every field is optional in useapi.net's model, and the model has changed over
 * time (older answers carry `dimensions`/`size`, newer ones `width`/`height`/`hasAudio`), so nothing is trusted.
 */
export interface RawAsset {
  assetId?: string;
  id?: string;
  createdAt?: string;
  updatedAt?: string;
  name?: string;
  url?: string;
  previewUrls?: string[];
  mediaType?: string;
  mediaSubtype?: string | null;
  fileCount?: number;
  fileSize?: number;
  fileExtStandardized?: string;
  isUserUpload?: boolean;
  metadata?: AssetMetadata;
  [key: string]: unknown;
}

export interface AssetMetadata {
  frameRate?: number;
  duration?: number;
  dimensions?: number[];
  size?: { width?: number; height?: number };
  width?: number;
  height?: number;
  hasAlphaChannel?: boolean;
  hasAudio?: boolean;
  [key: string]: unknown;
}

/** An asset that passed validation: it has an id and a URL, the two things a download needs. */
export interface Asset {
  /** The API's `assetId` (or `id` when `assetId` is missing). The key of the manifest. */
  assetId: string;
  /** The asset's uuid when the API gives one. */
  id: string | undefined;
  name: string | undefined;
  mediaType: string | undefined;
  createdAt: string | undefined;
  fileSize: number | undefined;
  fileExt: string | undefined;
  url: string;
  previewUrls: string[];
  /** Width and height from whichever metadata shape the API used. */
  width: number | undefined;
  height: number | undefined;
  duration: number | undefined;
  /** The API's `favorite` flag (`--favorites`); undefined when the item has none. */
  favorite?: boolean | undefined;
  /**
   * The prompt, when the item carries one (`prompt` or `textPrompt` on a listed asset; the task's
   * `options.text_prompt` / `textPrompt` / `prompt` for an artifact of the task history), for `--match`.
   */
  prompt?: string | undefined;
  /** The item as received, for `--metadata` sidecars (URLs are removed before anything is written). */
  raw: RawAsset;
  /**
   * Where the asset was first found: the assets listing, or only a task's artifacts (past every assets window).
   * Absent means 'assets'.
   */
  source?: AssetSource | undefined;
  /** The task that produced it, for assets found through the task history: its URLs are refreshed from there. */
  taskId?: string | undefined;
}

/** The two windows onto an account: the assets listing and the task history. */
export type AssetSource = 'assets' | 'tasks';
