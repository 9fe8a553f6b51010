/**
 * The task history: `GET /v1/runwayml/tasks/?offset&limit[&statuses][&email]` and `GET /v1/runwayml/tasks/<taskId>`,
 * as useapi.net documents them (reference/useapi-runwayml-tasks.md): offset 0..1000, limit 1..1000, newest first,
 * FAILED tasks without artifacts, deleted artifacts kept with `deleted: true`, `fileSize` as a string of digits on
 * some artifacts, `filename` without its extension, no `mediaType`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accountParam, answeredWithFault, integerParam, refusedByRateLimit } from './api.js';
import type { SimAsset, SimTask } from './catalog.js';
import { isAuthorized, pause, type SimContext, sendApiError, sendJson, signedUrl } from './context.js';

export const TASK_LIST_PATHS: readonly string[] = ['/v1/runwayml/tasks', '/v1/runwayml/tasks/'];
export const TASK_PREFIX = '/v1/runwayml/tasks/';

const STATUSES = ['PENDING', 'RUNNING', 'THROTTLED', 'SUCCEEDED', 'FAILED'];

/** An artifact as the task history shows it: the asset's fields under other names, and fewer of them. */
export function toRawArtifact(ctx: SimContext, task: SimTask, asset: SimAsset): Record<string, unknown> {
  const [main, ...previews] = asset.files;
  if (!main) throw new Error(`Asset ${asset.id} has no main file`);
  const dot = asset.name?.lastIndexOf('.') ?? -1;
  return {
    assetId: asset.assetId,
    id: asset.id,
    createdAt: asset.createdAt,
    updatedAt: asset.updatedAt,
    userId: asset.userId,
    createdBy: asset.userId,
    taskId: task.taskId,
    parentAssetGroupId: asset.parentAssetGroupId,
    ...(asset.name === undefined ? {} : { filename: dot > 0 ? asset.name.slice(0, dot) : asset.name }),
    url: signedUrl(ctx, asset, main),
    previewUrls: previews.map((file) => signedUrl(ctx, asset, file)),
    // The documented example has a string; the assets listing a number. Serve both.
    fileSize: main.size % 2 === 0 ? String(main.size) : main.size,
    isDirectory: false,
    deleted: ctx.catalog.isDeleted(asset),
    reported: false,
    private: asset.private,
    privateInTeam: asset.private,
    favorite: asset.favorite,
    metadata: structuredClone(asset.metadata),
  };
}

export function toRawTask(ctx: SimContext, task: SimTask): Record<string, unknown> {
  const succeeded = task.status === 'SUCCEEDED';
  return {
    taskId: task.taskId,
    id: task.id,
    name: `${task.model} ${task.seed}, ${task.prompt}`,
    createdAt: task.createdAt,
    updatedAt: task.createdAt,
    taskType: task.taskType,
    options: taskOptions(ctx, task),
    status: task.status,
    error: succeeded ? null : 'Generation failed',
    progressText: null,
    progressRatio: succeeded ? '1' : '0',
    estimatedTimeToStartSeconds: 0,
    sharedAsset: null,
    artifacts: succeeded ? task.artifacts.map((asset) => toRawArtifact(ctx, task, asset)) : [],
  };
}

/**
 * The settings of the generation, as Runway keeps them: they agree with its outputs' names (model, seed, prompt)
 * and metadata (seconds, resolution), and name the folder they went to. A video made from an image carries that
 * image's signed URL (`init_image`), as a real task does: a credential a backup must not keep.
 */
function taskOptions(ctx: SimContext, task: SimTask): Record<string, unknown> {
  const { width, height, duration } = formatOf(task.metadata);
  const common = {
    name: `${task.model} ${task.seed}, ${task.prompt}`,
    text_prompt: task.prompt,
    seed: task.seed,
    exploreMode: false,
    watermark: false,
    ...(task.assetGroupName === undefined ? {} : { assetGroupName: task.assetGroupName }),
  };
  const image = task.initImage;
  const main = image?.files[0];
  if (
    task.taskType === 'text_to_speech' ||
    task.taskType === 'voice_changer' ||
    task.taskType === 'sound_effects'
  ) {
    return {
      ...common,
      voice: 'Maya',
      ...(duration === undefined ? {} : { duration_seconds: Math.round(duration) }),
    };
  }
  if (/image|frames/.test(task.taskType)) {
    return { ...common, width, height, num_images: task.artifacts.length, style: 'cinematic' };
  }
  return {
    ...common,
    seconds: duration === undefined ? undefined : Math.round(duration),
    resolution: width === undefined ? undefined : `${width}:${height}`,
    motion: task.taskType === 'act_one' ? { intensity: 3, expression: 'natural' } : undefined,
    ...(image && main
      ? {
          init_image: signedUrl(ctx, image, main),
          keyframes: [{ image: signedUrl(ctx, image, main), position: 'first' }],
        }
      : {}),
  };
}

function formatOf(metadata: SimTask['metadata']): { width?: number; height?: number; duration?: number } {
  const width = metadata.width ?? metadata.size?.width;
  const height = metadata.height ?? metadata.size?.height;
  return {
    ...(width === undefined ? {} : { width }),
    ...(height === undefined ? {} : { height }),
    ...(metadata.duration === undefined ? {} : { duration: metadata.duration }),
  };
}

interface TaskQuery {
  email: string;
  offset: number;
  limit: number;
  statuses: Set<string> | undefined;
}

function parseTaskQuery(ctx: SimContext, params: URLSearchParams): TaskQuery | string {
  const offset = integerParam(params, 'offset', 0, 1000);
  if (typeof offset === 'string') return offset;
  const limit = integerParam(params, 'limit', 1, 1000);
  if (typeof limit === 'string') return limit;
  const statusesText = params.get('statuses');
  let statuses: Set<string> | undefined;
  if (statusesText !== null && statusesText !== '') {
    const list = statusesText.split(',').map((s) => s.trim());
    const bad = list.find((s) => !STATUSES.includes(s));
    if (bad !== undefined) {
      return `Parameter statuses (${statusesText}) is not valid, supported values: ${STATUSES.join(', ')}`;
    }
    statuses = new Set(list);
  }
  const account = accountParam(ctx, params);
  if ('error' in account) return account.error;
  return { email: account.email, offset, limit, statuses };
}

export async function handleTaskList(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  ctx.stats.taskQueries.push(url.search.replace(/^\?/, ''));
  if (!(await pause(ctx, ctx.knobs.listLatencyMs, res))) return;
  if (!isAuthorized(ctx, req)) return sendApiError(res, 401, 'Unauthorized');
  if (refusedByRateLimit(ctx, res)) return;
  const query = parseTaskQuery(ctx, url.searchParams);
  if (typeof query === 'string') return sendApiError(res, 400, query);

  // One sequence with the assets listing: drift and faults hit whichever walk is running.
  const sequence = ++ctx.validListings;
  applyTaskDrift(ctx, query.email, sequence);
  if (answeredWithFault(ctx, res, sequence)) return;
  const all = ctx.catalog.tasks(query.email);
  const { statuses } = query;
  const matching = statuses ? all.filter((task) => statuses.has(task.status)) : all;
  const page = matching.slice(query.offset, query.offset + query.limit).map((task) => toRawTask(ctx, task));
  sendJson(res, 200, page);
  ctx.apiLimiter.succeeded();
}

export async function handleTask(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const encoded = url.pathname.slice(TASK_PREFIX.length);
  ctx.stats.taskQueries.push(`task/${encoded}`);
  if (!(await pause(ctx, ctx.knobs.listLatencyMs, res))) return;
  if (!isAuthorized(ctx, req)) return sendApiError(res, 401, 'Unauthorized');
  if (refusedByRateLimit(ctx, res)) return;
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    return sendApiError(res, 400, `Malformed task id ${encoded}`);
  }
  const email = url.searchParams.get('email');
  const account = email ? ctx.catalog.accountOf(email) : undefined;
  if (email && !account) return sendApiError(res, 400, `Unable to find configuration for account ${email}`);
  const task = ctx.catalog.findTask(key);
  if (!task || (account !== undefined && task.email !== account)) {
    return sendApiError(res, 404, 'Not found.');
  }
  sendJson(res, 200, toRawTask(ctx, task));
  ctx.apiLimiter.succeeded();
}

/** New generations arrive at the top; a deleted task shifts every older one towards offset 0. */
function applyTaskDrift(ctx: SimContext, email: string, sequence: number): void {
  const drift = ctx.knobs.drift;
  if (!drift) return;
  if (drift.insertEvery && sequence % drift.insertEvery === 0) ctx.catalog.add(email, 1);
  if (drift.deleteEvery && sequence % drift.deleteEvery === 0) ctx.catalog.removeMiddleTask(email);
}
