import type { Asset, AssetMetadata, MediaType, RawAsset } from '../types.js';
import { isMediaType } from '../types.js';
import {
  dimensions,
  finiteNumber,
  httpUrl,
  isRecord,
  lastPathSegment,
  optionalString,
  promptOf,
  type SkippedItem,
} from './parse.js';

/** The statuses `GET /v1/runwayml/tasks/` filters by. */
export const TASK_STATUSES = ['PENDING', 'RUNNING', 'THROTTLED', 'SUCCEEDED', 'FAILED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

/** What became of one artifact of a task. */
export type ArtifactResult =
  | { kind: 'asset'; asset: Asset }
  /** Deleted in Runway, or a folder: nothing to fetch, and not a failure. */
  | { kind: 'deleted' | 'directory'; assetId: string }
  /** Unusable (no id, no url, not an object): reported and skipped. */
  | { kind: 'skipped'; assetId: string | undefined; reason: string };

/** One task of the history, its artifacts already parsed. */
export interface Task {
  /** `taskId`, else `id`; undefined when the task has neither. */
  taskId: string | undefined;
  status: string | undefined;
  taskType: string | undefined;
  createdAt: string | undefined;
  /** The task's own `name` (Runway's "<model> <seed>, <prompt>"). */
  name: string | undefined;
  /** The generation's settings as the API sent them (prompt, seed, duration, source images...); URLs included. */
  options: Record<string, unknown> | undefined;
  artifacts: ArtifactResult[];
}

export type TaskParseResult = { ok: true; task: Task } | { ok: false; skipped: SkippedItem };

const VIDEO_EXTENSIONS = new Set(['mp4', 'mov', 'webm', 'm4v', 'mkv']);
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp', 'gif', 'avif']);
const AUDIO_EXTENSIONS = new Set(['mp3', 'wav', 'm4a', 'aac', 'ogg', 'flac']);
const DEFAULT_EXTENSIONS: Record<MediaType, string> = { video: 'mp4', image: 'png', audio: 'mp3' };

function mediaTypeOfExtension(ext: string | undefined): MediaType | undefined {
  if (ext === undefined) return undefined;
  if (VIDEO_EXTENSIONS.has(ext)) return 'video';
  if (IMAGE_EXTENSIONS.has(ext)) return 'image';
  if (AUDIO_EXTENSIONS.has(ext)) return 'audio';
  return undefined;
}

/** The lower-case extension of the last path segment of `url`, when it is a media extension we know. */
function knownUrlExtension(url: string | undefined): string | undefined {
  return knownNameExtension(lastPathSegment(url));
}

/** Only a media extension counts: filenames come without one and may well contain dots ("v2.final"). */
function knownNameExtension(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : undefined;
  return mediaTypeOfExtension(ext) ? ext : undefined;
}

/** Runway's task types name their model: Frames and the image models make images, TTS makes audio, Gen-N video. */
function mediaTypeOfTaskType(taskType: string | undefined): MediaType | undefined {
  if (taskType === undefined) return undefined;
  if (/image|frames|t2i/i.test(taskType)) return 'image';
  if (/audio|speech|tts|voice|sound/i.test(taskType)) return 'audio';
  if (/video|^gen|act|upscale|extend|lipsync/i.test(taskType)) return 'video';
  return undefined;
}

/** Moving pictures have a frame rate; sound has a duration but no picture; a picture has a size but no duration. */
function mediaTypeOfMetadata(metadata: AssetMetadata | undefined): MediaType | undefined {
  if (!metadata) return undefined;
  const { width, height } = dimensions(metadata);
  const duration = finiteNumber(metadata.duration);
  if ((finiteNumber(metadata.frameRate) ?? 0) > 0) return 'video';
  if (width !== undefined || height !== undefined) return duration ? 'video' : 'image';
  if (duration !== undefined && duration > 0) return 'audio';
  return undefined;
}

/**
 * An artifact has no `mediaType`: take one it may carry anyway, else the extension of its URL, else the task type,
 * else the shape of its metadata. Undefined when none says (the asset then goes to `other/` when every type is
 * wanted).
 */
export function inferMediaType(
  artifact: RawAsset,
  url: string | undefined,
  taskType: string | undefined,
): MediaType | undefined {
  if (isMediaType(artifact.mediaType)) return artifact.mediaType;
  const metadata = isRecord(artifact.metadata) ? (artifact.metadata as AssetMetadata) : undefined;
  return (
    mediaTypeOfExtension(optionalString(artifact.fileExtStandardized)?.toLowerCase()) ??
    mediaTypeOfExtension(knownUrlExtension(url)) ??
    mediaTypeOfTaskType(taskType) ??
    mediaTypeOfMetadata(metadata)
  );
}

/** `fileSize` is a string of digits in the task history and a number in the assets listing: accept both. */
export function parseFileSize(value: unknown): number | undefined {
  const size = typeof value === 'string' && /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/**
 * The artifact's key in the manifest. It should carry `assetId`; with only `id` (the asset's uuid), the key the
 * assets listing would give it is rebuilt from the task id (`user:…-runwayml:…-task:<uuid>` becomes
 * `user:…-runwayml:…-asset:<id>`), so that the two windows still dedupe.
 */
function artifactKey(raw: RawAsset, taskId: string | undefined): string | undefined {
  const assetId = nonEmpty(raw.assetId);
  if (assetId !== undefined) return assetId;
  const id = nonEmpty(raw.id);
  if (id === undefined) return undefined;
  const owner = /^(.+)-task:[^:]+$/.exec(nonEmpty(raw.taskId) ?? taskId ?? '')?.[1];
  return owner === undefined ? id : `${owner}-asset:${id}`;
}

/** One artifact of a task, as an asset when it can be downloaded. */
export function parseArtifact(
  item: unknown,
  task: {
    taskId: string | undefined;
    taskType: string | undefined;
    createdAt: string | undefined;
    prompt?: string | undefined;
  },
): ArtifactResult {
  if (!isRecord(item)) return { kind: 'skipped', assetId: undefined, reason: 'artifact is not an object' };
  const raw = item as RawAsset;
  const assetId = artifactKey(raw, task.taskId);
  if (raw.deleted === true) return { kind: 'deleted', assetId: assetId ?? '' };
  if (raw.isDirectory === true) return { kind: 'directory', assetId: assetId ?? '' };
  if (assetId === undefined) return { kind: 'skipped', assetId, reason: 'artifact has no assetId' };
  const url = httpUrl(raw.url);
  if (url === undefined) return { kind: 'skipped', assetId, reason: 'artifact has no usable url' };
  const metadata = isRecord(raw.metadata) ? (raw.metadata as AssetMetadata) : undefined;
  const { width, height } = dimensions(metadata);
  const mediaType = inferMediaType(raw, url, task.taskType);
  const name = optionalString(raw.filename) ?? optionalString(raw.name);
  // The layout would otherwise read an extension out of the filename ("clip v2.final" -> "final").
  const fileExt =
    optionalString(raw.fileExtStandardized) ??
    knownUrlExtension(url) ??
    knownNameExtension(name) ??
    (mediaType === undefined ? undefined : DEFAULT_EXTENSIONS[mediaType]);
  const previewUrls = Array.isArray(raw.previewUrls)
    ? raw.previewUrls.map(httpUrl).filter((u): u is string => u !== undefined)
    : [];
  return {
    kind: 'asset',
    asset: {
      assetId,
      id: optionalString(raw.id),
      name,
      mediaType,
      createdAt: optionalString(raw.createdAt) ?? task.createdAt,
      fileSize: parseFileSize(raw.fileSize),
      fileExt,
      url,
      previewUrls,
      width,
      height,
      duration: finiteNumber(metadata?.duration),
      favorite: typeof raw.favorite === 'boolean' ? raw.favorite : undefined,
      prompt: promptOf(raw) ?? task.prompt,
      raw,
      source: 'tasks',
      taskId: nonEmpty(raw.taskId) ?? task.taskId,
    },
  };
}

/**
 * Validates one task of the history. Every field is optional; a task is unusable only when it is not an object or
 * its `artifacts` is not a list. Artifacts are parsed one by one, so one bad artifact costs only itself.
 */
export function parseTask(item: unknown, index: number): TaskParseResult {
  if (!isRecord(item)) {
    return { ok: false, skipped: { index, assetId: undefined, reason: 'task is not an object' } };
  }
  const taskId = nonEmpty(item.taskId) ?? nonEmpty(item.id);
  const artifacts = item.artifacts ?? [];
  if (!Array.isArray(artifacts)) {
    const reason = `task ${taskId ?? `#${index}`} has an artifacts field that is not a list`;
    return { ok: false, skipped: { index, assetId: undefined, reason } };
  }
  const context = {
    taskId,
    taskType: optionalString(item.taskType),
    createdAt: optionalString(item.createdAt),
    prompt: isRecord(item.options) ? promptOf(item.options) : undefined,
  };
  return {
    ok: true,
    task: {
      ...context,
      status: optionalString(item.status),
      name: optionalString(item.name),
      options: isRecord(item.options) ? item.options : undefined,
      artifacts: artifacts.map((artifact) => parseArtifact(artifact, context)),
    },
  };
}
