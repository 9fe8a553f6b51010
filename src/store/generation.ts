/**
 * The generation record of an asset: what its task says made it (the model, the task's name and date, every
 * setting), kept in the manifest once and for good, and the asset's fate on Runway. Pure data and the rule that
 * keeps credentials out of it: every URL loses its query (a signature is a credential) and becomes the assetId it
 * points at when that is known.
 */
import type { Task } from '../api/parse-task.js';

/**
 * `kept`: the task was read and its record is here for good. `missing`: the task could not be read (deleted on
 * Runway, an error); the asset is backed up all the same, and the next run tries again.
 */
export type GenerationState = 'kept' | 'missing';

export interface GenerationRecord {
  taskId: string;
  state: GenerationState;
  /** The model, as the task names it (`gen4_turbo`). */
  taskType?: string | undefined;
  /** The task's own name ("Gen-4 Turbo 35801490234, a lighthouse in a storm"). */
  name?: string | undefined;
  /** When the task was created. */
  createdAt?: string | undefined;
  /** Every field of the task's `options`, as sent, URLs reduced (see `withoutCredentials`). */
  options?: Record<string, unknown> | undefined;
  /** When the record was read, or (`missing`) last tried. */
  readAt: string;
  /** Why it is `missing`: the error's one line. */
  reason?: string | undefined;
}

/** Where an asset stands on Runway, when not simply listed. Absent means present (listed on its last run). */
export interface AssetFate {
  /**
   * `out-of-reach`: not listed any more, but `GET /assets/{assetId}` answers 200 (it slid out of a capped window);
   * `deleted`: that lookup answered 404. Its files here are kept either way.
   */
  state: 'out-of-reach' | 'deleted';
  /** When the lookup found it so. */
  since: string;
}

/** The asset's own fields worth keeping beside its files (from the listing). */
export interface AssetDetails {
  taskId?: string | undefined;
  favorite?: boolean | undefined;
  parentAssetGroupId?: string | undefined;
  isUserUpload?: boolean | undefined;
  width?: number | undefined;
  height?: number | undefined;
  /** Seconds. */
  duration?: number | undefined;
  frameRate?: number | undefined;
}

const URL_AT_START = /^https?:\/\//i;
/** A URL anywhere in a text (a prompt may quote one), up to its query or fragment. */
const URL_WITH_QUERY = /(https?:\/\/[^\s?#"'<>]+)[?#][^\s"'<>]*/gi;

/** `origin + pathname` of an http(s) URL: its identity without the signature. */
export function urlKey(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:'
      ? `${parsed.origin}${parsed.pathname}`
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `value` with every URL reduced to what is not a credential: a string that is a URL becomes the assetId it
 * points at (`assetOf`, keyed by `urlKey`) or else the URL without its query; a URL inside a longer text loses
 * its query. Keys are kept as they are, `__proto__` included (built with fromEntries, not assignment).
 */
export function withoutCredentials(value: unknown, assetOf: (key: string) => string | undefined): unknown {
  if (typeof value === 'string') {
    if (URL_AT_START.test(value) && !/\s/.test(value.trim())) {
      const key = urlKey(value.trim());
      if (key !== undefined) return assetOf(key) ?? key;
    }
    return value.replace(URL_WITH_QUERY, '$1');
  }
  if (Array.isArray(value)) return value.map((v) => withoutCredentials(v, assetOf));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, withoutCredentials(inner, assetOf)]),
    );
  }
  return value;
}

/** The record of `task` for good, read at `now`. */
export function recordOfTask(
  task: Task,
  taskId: string,
  assetOf: (key: string) => string | undefined,
  now: string,
): GenerationRecord {
  return {
    taskId,
    state: 'kept',
    taskType: task.taskType,
    name: task.name === undefined ? undefined : (withoutCredentials(task.name, assetOf) as string),
    createdAt: task.createdAt,
    options:
      task.options === undefined
        ? undefined
        : (withoutCredentials(task.options, assetOf) as Record<string, unknown>),
    readAt: now,
  };
}

/** The prompt among a record's options, under the names Runway's task types use. */
export function promptOf(record: GenerationRecord | undefined): string | undefined {
  const o = record?.options;
  if (!o) return undefined;
  for (const key of ['text_prompt', 'prompt', 'textPrompt', 'text']) {
    const value = o[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** The seed among a record's options. */
export function seedOf(record: GenerationRecord | undefined): number | string | undefined {
  const seed = record?.options?.seed;
  return typeof seed === 'number' || typeof seed === 'string' ? seed : undefined;
}

/** The options that are settings: everything but the prompt, the seed and the name, which are shown apart. */
export function settingsOf(record: GenerationRecord | undefined): Record<string, unknown> {
  const o = record?.options ?? {};
  const skip = new Set(['text_prompt', 'prompt', 'textPrompt', 'text', 'seed', 'name', 'assetGroupName']);
  return Object.fromEntries(Object.entries(o).filter(([key]) => !skip.has(key)));
}
