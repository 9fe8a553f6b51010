/**
 * Starts the simulator: one `node:http` server that plays both useapi.net and the CDN, and the `Simulator`
 * handle through which tests, the demo and the benchmark inspect and change the world behind it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { RawAsset } from '../types.js';
import { handleDelete, handleList, handleSingle, LIST_PATHS, SINGLE_PREFIX, toRawAsset } from './api.js';
import {
  type AssetShape,
  type Catalog,
  contentTypeOf,
  createCatalog,
  type FileRole,
  fileEtag,
  filePath,
  fileSeed,
  type SimAsset,
  type SimFile,
} from './catalog.js';
import { CDN_PREFIX, handleCdn } from './cdn.js';
import { fileBytes, fileContent, fileSha256, registerMediaResolver } from './content.js';
import { echoedAuthorization, type SimContext, sendApiError, signedUrl } from './context.js';
import { BurstLimiter, CdnFaultPlan, Pacer } from './faults.js';
import { catalogMediaResolver } from './media/resolve.js';
import {
  applyKnobs,
  DEFAULT_KNOBS,
  emptyStats,
  type SimAssetView,
  type SimFileView,
  type SimulatorKnobs,
  type SimulatorOptions,
  type SimulatorStats,
} from './options.js';
import { UrlSigner } from './signing.js';
import { handleTask, handleTaskList, TASK_LIST_PATHS, TASK_PREFIX, toRawTask } from './tasks-api.js';

/** One task of the history, as a test needs it: which assets it made, and which of them were deleted since. */
export interface SimTaskView {
  taskId: string;
  status: 'SUCCEEDED' | 'FAILED';
  taskType: string;
  artifacts: { assetId: string; deleted: boolean }[];
}

/** Enough to regenerate a file's bytes: a `SimFileView` fits. */
export interface FileRef {
  seed: string;
  size: number;
}

export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`; use it as the API base URL. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly emails: readonly string[];
  /** Requests being answered right now. */
  readonly inFlight: number;
  /** Open TCP connections, idle keep-alive ones included. */
  readonly openSockets: number;
  /** Live counters, reset in place by `resetStats`. */
  readonly stats: SimulatorStats;
  /** Current assets newest first: of `email`, or of every account in configuration order. */
  assets(email?: string): SimAssetView[];
  /** One asset by `assetId` or `id`. */
  asset(key: string): SimAssetView | undefined;
  /** The task history newest first, FAILED tasks included, of `email` (default: the first account). */
  tasks(email?: string): SimTaskView[];
  /** The item exactly as the API would return it now, with fresh URLs. */
  rawAsset(key: string): RawAsset | undefined;
  /** The task exactly as `GET /tasks/<taskId>` would return it now (by `taskId` or `id`), with fresh URLs. */
  rawTask(key: string): Record<string, unknown> | undefined;
  /** A freshly signed CDN URL for one file. */
  cdnUrl(key: string, role?: FileRole, index?: number): string;
  fileContent(file: FileRef, start?: number, end?: number): Readable;
  fileBytes(file: FileRef): Buffer;
  sha256(file: FileRef): Promise<string>;
  /**
   * Adds `count` assets, newer than all others, to `email` (default: the first account); returns them newest first.
   * `shape` chooses an id prefix or a name (two assets whose ids share their first 8 characters, say).
   */
  addAssets(count: number, email?: string, shape?: AssetShape): SimAssetView[];
  /** Deletes an asset by `assetId` or `id`; false when it did not exist. */
  deleteAsset(key: string): boolean;
  /** Deletes a task from the history by `taskId` or `id` (its assets stay); false when it did not exist. */
  deleteTask(key: string): boolean;
  /**
   * Publishes a new version of a file (new bytes, ETag, Last-Modified; the size moves a little unless `size` is
   * given or sizes are fixed). Returns the new state.
   */
  mutateFile(key: string, role?: FileRole, index?: number, change?: { size?: number }): SimFileView;
  /** Every URL handed out so far is refused from now on as expired; new listings hand out valid ones. */
  expireAllUrls(): void;
  /** Changes faults, latency, pacing and range behaviour while running. */
  configure(knobs: SimulatorKnobs): void;
  resetStats(): void;
  /** Stops listening and destroys every open connection, stalled or idle, at once. */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const token = options.token ?? 'sim-token';
  if (token === '' || /\s/.test(token))
    throw new RangeError('Expected `token` to be a non-empty string without spaces');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Expected \`port\` to be an integer from 0 to 65535, got ${port}`);
  }
  const host = options.host ?? '127.0.0.1';
  const knobs = { ...DEFAULT_KNOBS };
  applyKnobs(knobs, options);
  const ctx: SimContext = {
    catalog: createCatalog(options),
    knobs,
    token,
    seed: options.seed ?? 1,
    stats: emptyStats(),
    signer: new UrlSigner(),
    apiLimiter: new BurstLimiter(() => knobs.rateLimit),
    cdnLimiter: new BurstLimiter(() => knobs.cdnRateLimit),
    cdnFaults: new CdnFaultPlan(),
    link: new Pacer(() => knobs.cdnLinkBytesPerSecond),
    cancels: new Set(),
    baseUrl: '',
    validListings: 0,
  };
  const activity = { inFlight: 0 };
  const server = createServer((req, res) => {
    activity.inFlight++;
    res.once('close', () => activity.inFlight--);
    route(ctx, req, res).catch(() => {
      if (!res.headersSent) sendApiError(res, 500, 'Internal simulator error');
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  ctx.baseUrl = `http://${shownHost}:${address.port}`;
  // The CDN serves this catalog's files as real media (content.ts); removed again on close.
  unregisterMedia.set(ctx, registerMediaResolver(catalogMediaResolver(ctx.catalog)));
  return new RunningSimulator(ctx, server, sockets, address.port, activity);
}

const unregisterMedia = new WeakMap<SimContext, () => void>();

async function route(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Concatenated rather than resolved, so that a path starting with `//` cannot become a host.
  const url = new URL(`http://simulator${req.url ?? '/'}`);
  if (url.pathname.startsWith(CDN_PREFIX)) return handleCdn(ctx, req, res, url);
  if (ctx.knobs.echoToken && req.headers.authorization)
    echoedAuthorization.set(res, req.headers.authorization);
  if (req.method === 'DELETE' && url.pathname.startsWith(SINGLE_PREFIX) && !LIST_PATHS.includes(url.pathname))
    return handleDelete(ctx, req, res, url);
  if (req.method !== 'GET') return sendApiError(res, 405, 'Method not allowed', { allow: 'GET' });
  if (LIST_PATHS.includes(url.pathname)) return handleList(ctx, req, res, url);
  if (url.pathname.startsWith(SINGLE_PREFIX)) return handleSingle(ctx, req, res, url);
  if (TASK_LIST_PATHS.includes(url.pathname)) return handleTaskList(ctx, req, res, url);
  if (url.pathname.startsWith(TASK_PREFIX)) return handleTask(ctx, req, res, url);
  return sendApiError(res, 404, 'Not found');
}

class RunningSimulator implements Simulator {
  readonly url: string;
  readonly port: number;
  readonly #ctx: SimContext;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  readonly #activity: { inFlight: number };
  #closing: Promise<void> | undefined;

  constructor(
    ctx: SimContext,
    server: Server,
    sockets: Set<Socket>,
    port: number,
    activity: { inFlight: number },
  ) {
    this.#activity = activity;
    this.#ctx = ctx;
    this.#server = server;
    this.#sockets = sockets;
    this.url = ctx.baseUrl;
    this.port = port;
  }

  get token(): string {
    return this.#ctx.token;
  }

  get emails(): readonly string[] {
    return this.#ctx.catalog.emails;
  }

  /** Requests whose answer has not finished or been abandoned: 0 once a client has cancelled everything. */
  get inFlight(): number {
    return this.#activity.inFlight;
  }

  /** Open TCP connections, idle keep-alive ones included. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  get stats(): SimulatorStats {
    return this.#ctx.stats;
  }

  get #catalog(): Catalog {
    return this.#ctx.catalog;
  }

  assets(email?: string): SimAssetView[] {
    const emails = email === undefined ? this.emails : [this.#account(email)];
    return emails.flatMap((e) => this.#catalog.list(e).map(assetView));
  }

  asset(key: string): SimAssetView | undefined {
    const asset = this.#catalog.find(key);
    return asset && assetView(asset);
  }

  tasks(email?: string): SimTaskView[] {
    const account = email === undefined ? this.emails[0] : this.#account(email);
    if (account === undefined) return [];
    return this.#catalog.tasks(account).map((task) => ({
      taskId: task.taskId,
      status: task.status,
      taskType: task.taskType,
      artifacts: task.artifacts.map((a) => ({ assetId: a.assetId, deleted: this.#catalog.isDeleted(a) })),
    }));
  }

  rawAsset(key: string): RawAsset | undefined {
    const asset = this.#catalog.find(key);
    return asset && toRawAsset(this.#ctx, asset);
  }

  rawTask(key: string): Record<string, unknown> | undefined {
    const task = this.#catalog.findTask(key);
    return task && toRawTask(this.#ctx, task);
  }

  cdnUrl(key: string, role: FileRole = 'main', index = 0): string {
    const { asset, file } = this.#file(key, role, index);
    return signedUrl(this.#ctx, asset, file);
  }

  fileContent(file: FileRef, start?: number, end?: number): Readable {
    return fileContent(file.seed, file.size, start, end);
  }

  fileBytes(file: FileRef): Buffer {
    return fileBytes(file.seed, file.size);
  }

  sha256(file: FileRef): Promise<string> {
    return fileSha256(file.seed, file.size);
  }

  addAssets(count: number, email?: string, shape?: AssetShape): SimAssetView[] {
    const target = email === undefined ? this.emails[0] : this.#account(email);
    return target === undefined ? [] : this.#catalog.add(target, count, shape).map(assetView);
  }

  deleteAsset(key: string): boolean {
    return this.#catalog.remove(key) !== undefined;
  }

  deleteTask(key: string): boolean {
    return this.#catalog.removeTask(key) !== undefined;
  }

  mutateFile(key: string, role: FileRole = 'main', index = 0, change: { size?: number } = {}): SimFileView {
    const { asset } = this.#file(key, role, index);
    return fileView(asset, this.#catalog.mutate(key, role, index, change.size));
  }

  expireAllUrls(): void {
    this.#ctx.signer.expireAll();
  }

  configure(knobs: SimulatorKnobs): void {
    applyKnobs(this.#ctx.knobs, knobs);
  }

  resetStats(): void {
    Object.assign(this.#ctx.stats, emptyStats());
  }

  close(): Promise<void> {
    unregisterMedia.get(this.#ctx)?.();
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const cancel of [...this.#ctx.cancels]) cancel();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  #account(email: string): string {
    const account = this.#catalog.accountOf(email);
    if (!account) throw new RangeError(`Unknown account ${email}`);
    return account;
  }

  #file(key: string, role: FileRole, index: number): { asset: SimAsset; file: SimFile } {
    const asset = this.#catalog.find(key);
    const file = asset?.files.find((f) => f.role === role && f.index === index);
    if (!asset || !file) throw new RangeError(`No file ${role}-${index} for asset ${key}`);
    return { asset, file };
  }
}

function fileView(asset: SimAsset, file: SimFile): SimFileView {
  return {
    role: file.role,
    index: file.index,
    ext: file.ext,
    size: file.size,
    version: file.version,
    seed: fileSeed(asset, file),
    etag: fileEtag(asset, file),
    lastModified: new Date(file.lastModified).toUTCString(),
    contentType: contentTypeOf(file.ext),
    path: filePath(asset, file),
  };
}

function assetView(asset: SimAsset): SimAssetView {
  return {
    email: asset.email,
    assetId: asset.assetId,
    id: asset.id,
    name: asset.name,
    mediaType: asset.mediaType,
    createdAt: asset.createdAt,
    updatedAt: asset.updatedAt,
    fileSize: asset.files[0]?.size ?? 0,
    files: asset.files.map((file) => fileView(asset, file)),
  };
}
