/**
 * The simulated accounts and their assets. Everything is derived from a numeric seed, so a test can predict the
 * catalog and a benchmark can rebuild the same one; later changes (new assets, deletions, new file versions) are
 * deterministic too, given the same sequence of calls.
 */
import type { AssetMetadata, MediaType } from '../types.js';
import { type GenerationParts, generationParts, HOSTILE_NAMES, uploadName } from './names.js';
import { hashString, intBetween, mulberry32, pick, unitFor } from './prng.js';

export type FileRole = 'main' | 'preview';

/** One downloadable file of an asset. Mutable fields change through `Catalog.mutate`. */
export interface SimFile {
  readonly role: FileRole;
  /** 0 for the main file; 0, 1, … for previews, in `previewUrls` order. */
  readonly index: number;
  readonly ext: string;
  size: number;
  /** Starts at 1; part of the content seed, the ETag and Last-Modified, so a new version is a new object. */
  version: number;
  /** Epoch milliseconds, whole seconds, because HTTP dates have no finer resolution. */
  lastModified: number;
}

export interface SimAsset {
  readonly email: string;
  readonly userId: number;
  readonly username: string;
  readonly id: string;
  readonly assetId: string;
  readonly createdAt: string;
  updatedAt: string;
  /** `undefined` means the API item has no `name` field at all. */
  readonly name: string | undefined;
  readonly mediaType: MediaType;
  readonly metadata: AssetMetadata;
  readonly isUserUpload: boolean;
  readonly private: boolean;
  readonly favorite: boolean;
  /** The generation that produced it; undefined for uploads, which come from no task. */
  readonly taskId: string | undefined;
  /** The folder it is in: the account's root folder, or one of its named folders. */
  readonly parentAssetGroupId: string;
  /** The main file first, then the previews. */
  readonly files: SimFile[];
}

export type SimTaskStatus = 'SUCCEEDED' | 'FAILED';

/** One generation of the task history. Its artifacts stay listed after their asset is deleted (`deleted: true`). */
export interface SimTask {
  readonly email: string;
  readonly id: string;
  readonly taskId: string;
  readonly createdAt: string;
  readonly taskType: string;
  readonly status: SimTaskStatus;
  readonly seed: number;
  /** The model, as the names of its outputs say it (`Gen-4 Turbo`); `taskType` is its id. */
  readonly model: string;
  readonly prompt: string;
  /** The folder its outputs went to, when a named one (`options.assetGroupName`). */
  readonly assetGroupName: string | undefined;
  /** The image a video generation started from (`options.init_image`): an earlier asset of the account. */
  readonly initImage: SimAsset | undefined;
  /** The format of its outputs (their duration, size): what `options.seconds` and `resolution` say. */
  readonly metadata: AssetMetadata;
  /** What it produced, oldest first; empty for a FAILED task. Deleted assets stay here. */
  readonly artifacts: SimAsset[];
  /** How many images an image generation makes; later image assets join it until it is full. */
  readonly capacity: number;
}

/** What a test may choose about the assets `Catalog.add` makes; the rest is drawn as usual. */
export interface AssetShape {
  /** The first characters of each new asset's uuid `id` (hex and `-`), so that two ids share a prefix. */
  idPrefix?: string;
  /** The name of every new asset (`undefined` here leaves the drawn one). */
  name?: string;
}

export interface SizeRange {
  min: number;
  max: number;
}

/** Relative weights of the media types; a type left out gets weight 0. */
export interface MediaMix {
  video?: number;
  image?: number;
  audio?: number;
}

export interface CatalogOptions {
  /** @default 1 */
  seed?: number;
  /** One catalog per email, in this order. @default ['demo@example.com'] */
  accounts?: readonly string[];
  /** Assets generated per account. @default 120 */
  assets?: number;
  /** @default { video: 0.6, image: 0.3, audio: 0.1 } */
  mediaMix?: MediaMix;
  /** Main file sizes in bytes, inclusive. @default { min: 20_000, max: 200_000 } */
  mainSize?: SizeRange;
  /** Preview sizes in bytes, inclusive. @default { min: 2_000, max: 20_000 } */
  previewSize?: SizeRange;
  /** Forces sizes: a number applies to every main file; an object may also fix previews. */
  fixedSizes?: number | { main?: number; preview?: number };
  /** Cycle names through `HOSTILE_NAMES` instead of plausible ones. @default false */
  hostileNames?: boolean;
  /** The share of assets that are uploads (no task), 0..1. @default 0.15 */
  uploadShare?: number;
  /** Every Nth task of the history failed and produced nothing (0: none). @default 20 */
  failedTaskEvery?: number;
  /**
   * Every Nth generated artifact was deleted in Runway: gone from the assets listing and the CDN, still in its
   * task with `deleted: true` (0: none). @default 0
   */
  deletedArtifactEvery?: number;
  /** Images one image generation makes (a task with several artifacts). @default { min: 1, max: 4 } */
  imagesPerTask?: SizeRange;
  /** Prompts (and so the names of generations) from `HOSTILE_PROMPTS`: markup, scripts, escapes. @default false */
  hostilePrompts?: boolean;
  /**
   * Takes the user generated and then deleted, per kept generation: SUCCEEDED tasks (another seed, the same
   * prompt) whose only artifact is listed `deleted: true`. They make the task history longer than the assets, so
   * that older generations lie beyond its 2,000-task window and can be read only by id. @default 0
   */
  discardedTakes?: number;
}

interface ResolvedOptions {
  seed: number;
  accounts: readonly string[];
  assets: number;
  weights: readonly [number, number, number];
  mainSize: SizeRange;
  previewSize: SizeRange;
  fixedMain: number | undefined;
  fixedPreview: number | undefined;
  hostileNames: boolean;
  uploadShare: number;
  failedTaskEvery: number;
  deletedArtifactEvery: number;
  imagesPerTask: SizeRange;
  hostilePrompts: boolean;
  discardedTakes: number;
}

/** A folder of an account: the root one has no name. */
interface SimFolder {
  readonly id: string;
  readonly name: string | undefined;
}

interface AccountState {
  readonly email: string;
  readonly userId: number;
  readonly username: string;
  readonly groupId: string;
  /** The root folder first, then the named ones. */
  readonly folders: readonly SimFolder[];
  readonly random: () => number;
  /** Newest first, as the API lists them. */
  assets: SimAsset[];
  generated: number;
  clock: number;
  /** A generator of its own, so that the task history does not change the assets a seed makes. */
  readonly taskRandom: () => number;
  /** Newest first, as the API lists them. */
  tasks: SimTask[];
  /** Tasks made so far (FAILED ones included): drives `failedTaskEvery`. */
  taskCount: number;
  /** Artifacts made so far: drives `deletedArtifactEvery`. */
  artifactCount: number;
  /** The image generation later images of the same batch join, while it has room. */
  openImageTask: SimTask | undefined;
  /** The newest image asset so far: what an image-to-video generation starts from. */
  lastImage: SimAsset | undefined;
}

const FOLDER_NAMES = ['Storyboards', 'Client: Acme', 'Tests & drafts'];

const MEDIA_ORDER: readonly MediaType[] = ['video', 'image', 'audio'];
const START_TIME = Date.UTC(2026, 10, 1);
const VIDEO_DIMENSIONS: readonly (readonly [number, number])[] = [
  [1280, 768],
  [768, 1280],
  [1920, 1080],
  [1080, 1920],
  [1584, 672],
  [1104, 832],
];
const IMAGE_DIMENSIONS: readonly (readonly [number, number])[] = [
  [1280, 768],
  [1024, 1024],
  [1920, 1080],
  [1080, 1920],
  [2048, 2048],
];
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

/** The seed of a file's bytes; changes with every version. */
export function fileSeed(asset: SimAsset, file: SimFile): string {
  return `${asset.id}:${file.role}:${file.index}:v${file.version}`;
}

/** The strong ETag, quotes included. */
export function fileEtag(asset: SimAsset, file: SimFile): string {
  return `"${asset.id}-${file.role}-${file.index}-v${file.version}"`;
}

/** The CDN path of a file, without the signature. */
export function filePath(asset: SimAsset, file: SimFile): string {
  return `/cdn/${asset.id}/${file.role}-${file.index}.${file.ext}`;
}

export function contentTypeOf(ext: string): string {
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

export class Catalog {
  readonly #options: ResolvedOptions;
  readonly #accounts = new Map<string, AccountState>();
  /** Both `id` and `assetId` point at the asset, so either can be looked up. */
  readonly #byKey = new Map<string, SimAsset>();
  /** Keyed by the task's uuid `id` only: a `taskId` ends with it, and hashing long keys is what generation costs. */
  readonly #tasksById = new Map<string, SimTask>();

  constructor(options: CatalogOptions = {}) {
    this.#options = resolveOptions(options);
    for (const email of this.#options.accounts) {
      const random = mulberry32(hashString(`${this.#options.seed}:${email.toLowerCase()}`));
      const userId = intBetween(random, 100_000_000, 999_999_999);
      const groupId = uuidFrom(random);
      // A generator of their own, so that folders do not change the assets a seed makes.
      const folderRandom = mulberry32(hashString(`${this.#options.seed}:folders:${email.toLowerCase()}`));
      const account: AccountState = {
        email,
        userId,
        username: email.split('@')[0]?.replace(/[^a-zA-Z0-9]/g, '_') || 'user',
        groupId,
        folders: [
          { id: groupId, name: undefined },
          ...FOLDER_NAMES.map((name) => ({ id: uuidFrom(folderRandom), name })),
        ],
        random,
        assets: [],
        generated: 0,
        clock: START_TIME,
        taskRandom: mulberry32(hashString(`${this.#options.seed}:tasks:${email.toLowerCase()}`)),
        tasks: [],
        taskCount: 0,
        artifactCount: 0,
        openImageTask: undefined,
        lastImage: undefined,
      };
      this.#accounts.set(email.toLowerCase(), account);
      this.add(email, this.#options.assets);
    }
  }

  get emails(): readonly string[] {
    return this.#options.accounts;
  }

  /** The configured spelling of `email`, matched case-insensitively, or undefined. */
  accountOf(email: string): string | undefined {
    return this.#accounts.get(email.toLowerCase())?.email;
  }

  /** The account's assets, newest first. Do not keep the array: later changes mutate or replace it. */
  list(email: string): readonly SimAsset[] {
    return this.#account(email).assets;
  }

  /** Looks an asset up by `assetId` or by its uuid `id`. */
  find(key: string): SimAsset | undefined {
    return this.#byKey.get(key);
  }

  /** The account's task history, newest first. Do not keep the array: later changes replace it. */
  tasks(email: string): readonly SimTask[] {
    return this.#account(email).tasks;
  }

  /** Looks a task up by `taskId` or by its uuid `id`. */
  findTask(key: string): SimTask | undefined {
    return this.#tasksById.get(taskUuid(key));
  }

  /** True once the asset was deleted: its artifact stays in its task, marked deleted. */
  isDeleted(asset: SimAsset): boolean {
    return this.#byKey.get(asset.id) !== asset;
  }

  /**
   * Creates `count` assets newer than every existing one, with the tasks that made them; returns the ones still
   * listed (see `deletedArtifactEvery`), newest first.
   */
  add(email: string, count: number, shape: AssetShape = {}): SimAsset[] {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`Expected \`count\` to be an integer >= 0, got ${count}`);
    const account = this.#account(email);
    const created: SimAsset[] = [];
    const tasks: SimTask[] = [];
    const doomed: SimAsset[] = [];
    if (shape.idPrefix !== undefined && !/^[0-9a-f-]{1,35}$/.test(shape.idPrefix))
      throw new RangeError(
        `Expected \`idPrefix\` to be 1 to 35 characters of hex and -, got ${shape.idPrefix}`,
      );
    for (let i = 0; i < count; i++) created.push(this.#generate(account, tasks, doomed, shape));
    // An image generation of an earlier batch takes no more artifacts: tasks stay in time order.
    account.openImageTask = undefined;
    created.reverse();
    tasks.reverse();
    // concat, not unshift(...created): spreading tens of thousands of arguments overflows the stack.
    account.assets = created.concat(account.assets);
    account.tasks = tasks.concat(account.tasks);
    for (const asset of doomed) this.remove(asset.assetId);
    return doomed.length === 0 ? created : created.filter((asset) => !this.isDeleted(asset));
  }

  /** Deletes a task from the history by `taskId` or `id` (its assets stay); returns it, or undefined. */
  removeTask(key: string): SimTask | undefined {
    const task = this.findTask(key);
    if (!task) return undefined;
    const list = this.#account(task.email).tasks;
    list.splice(list.indexOf(task), 1);
    this.#tasksById.delete(task.id);
    return task;
  }

  /** Deletes the task in the middle of the history (its assets stay): the drift that shifts a task walk. */
  removeMiddleTask(email: string): SimTask | undefined {
    const tasks = this.#account(email).tasks;
    const victim = tasks.length < 3 ? undefined : tasks[Math.floor(tasks.length / 2)];
    return victim ? this.removeTask(victim.taskId) : undefined;
  }

  /** Deletes an asset by `assetId` or `id`; returns it, or undefined when it did not exist. */
  remove(key: string): SimAsset | undefined {
    const asset = this.#byKey.get(key);
    if (!asset) return undefined;
    const list = this.#account(asset.email).assets;
    list.splice(list.indexOf(asset), 1);
    this.#byKey.delete(asset.id);
    this.#byKey.delete(asset.assetId);
    return asset;
  }

  /** Deletes the asset in the middle of the account's list, the spot that shifts the pages a client is walking. */
  removeMiddle(email: string): SimAsset | undefined {
    const list = this.#account(email).assets;
    if (list.length < 3) return undefined;
    const victim = list[Math.floor(list.length / 2)];
    return victim ? this.remove(victim.assetId) : undefined;
  }

  /**
   * Publishes a new version of one file: new bytes, ETag and Last-Modified. Without `size`, the size moves by a
   * few hundred bytes unless sizes are fixed.
   */
  mutate(key: string, role: FileRole, index: number, size?: number): SimFile {
    const asset = this.#byKey.get(key);
    const file = asset?.files.find((f) => f.role === role && f.index === index);
    if (!asset || !file) throw new RangeError(`No file ${role}-${index} for asset ${key}`);
    file.version += 1;
    file.lastModified += 60_000;
    const fixed = role === 'main' ? this.#options.fixedMain : this.#options.fixedPreview;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || size < 0)
        throw new RangeError(`Expected \`size\` to be an integer >= 0, got ${size}`);
      file.size = size;
    } else if (fixed === undefined) {
      const draw = unitFor(`${this.#options.seed}:mutate:${fileSeed(asset, file)}`);
      const delta = Math.floor(draw * 1024) - 512 || 1;
      file.size = Math.max(1, file.size + delta);
    }
    const modified = new Date(file.lastModified).toISOString();
    if (modified > asset.updatedAt) asset.updatedAt = modified;
    return file;
  }

  #account(email: string): AccountState {
    const account = this.#accounts.get(email.toLowerCase());
    if (!account) throw new RangeError(`Unknown account ${email}`);
    return account;
  }

  #generate(account: AccountState, tasks: SimTask[], doomed: SimAsset[], shape: AssetShape = {}): SimAsset {
    const options = this.#options;
    const random = account.random;
    const ordinal = account.generated++;
    account.clock += intBetween(random, 1, 9) * 60_000 + intBetween(random, 0, 59_999);
    // The prefix replaces the start of a drawn uuid: the draws, and so every later asset of the seed, stay the same.
    const prefixed = (uuid: string): string =>
      shape.idPrefix === undefined ? uuid : shape.idPrefix + uuid.slice(shape.idPrefix.length);
    let id = prefixed(uuidFrom(random));
    while (this.#byKey.has(id)) id = prefixed(uuidFrom(random));
    const mediaType = pickMediaType(random, options.weights);
    const ext =
      mediaType === 'video'
        ? 'mp4'
        : mediaType === 'image'
          ? pick(random, ['png', 'png', 'jpg'])
          : pick(random, ['mp3', 'mp3', 'wav']);
    const isUserUpload = random() < options.uploadShare;
    // Drawn where the name always was, so that a seed still makes the same assets; hostile names draw nothing.
    let uploadNamed: string | undefined;
    let parts: GenerationParts | undefined;
    if (!options.hostileNames) {
      if (isUserUpload) uploadNamed = uploadName(random, ext);
      else parts = generationParts(random, mediaType, options.hostilePrompts);
    } else if (!isUserUpload) {
      parts = generationParts(mulberry32(hashString(`${options.seed}:parts:${id}`)), mediaType, false);
    }
    const lastModified = Math.floor(account.clock / 1000) * 1000;
    const mainSize = options.fixedMain ?? intBetween(random, options.mainSize.min, options.mainSize.max);
    const files: SimFile[] = [{ role: 'main', index: 0, ext, size: mainSize, version: 1, lastModified }];
    const previewCount = mediaType === 'video' ? intBetween(random, 1, 2) : mediaType === 'image' ? 1 : 0;
    for (let index = 0; index < previewCount; index++) {
      const size =
        options.fixedPreview ?? intBetween(random, options.previewSize.min, options.previewSize.max);
      files.push({
        role: 'preview',
        index,
        ext: index === 0 ? 'webp' : 'jpg',
        size,
        version: 1,
        lastModified,
      });
    }
    const createdAt = new Date(account.clock).toISOString();
    const prefix = `user:${account.userId}-runwayml:${account.email}`;
    // Drawn in the order the fields used to be, so a seed still makes the same assets as before tasks existed.
    const metadata = makeMetadata(random, mediaType, ordinal % 2 === 0);
    const isPrivate = random() < 0.9;
    const favorite = random() < 0.1;
    const taskUuid = uuidFrom(random);
    const fresh = { mediaType, ext, uuid: taskUuid, createdAt, metadata, prefix };
    const task = parts ? this.#taskFor(account, fresh, parts, tasks) : undefined;
    if (isUserUpload) account.openImageTask = undefined;
    const folder = task
      ? folderNamed(account, task.assetGroupName)
      : folderFor(account, `${options.seed}:folder:${id}`);
    const drawn = options.hostileNames
      ? HOSTILE_NAMES[ordinal % HOSTILE_NAMES.length]
      : task
        ? `${task.model} ${task.seed}, ${task.prompt}.${ext}`
        : uploadNamed;
    // A chosen name (`add(..., { name })`, for tests of paths that collide) wins over the drawn one.
    const name = shape.name ?? drawn;
    const asset: SimAsset = {
      email: account.email,
      userId: account.userId,
      username: account.username,
      id,
      assetId: `${prefix}-asset:${id}`,
      createdAt,
      updatedAt: createdAt,
      name,
      mediaType,
      // Alternate the two shapes the API has used, so both show up on every page.
      metadata,
      isUserUpload,
      private: isPrivate,
      favorite,
      taskId: task?.taskId,
      parentAssetGroupId: folder.id,
      files,
    };
    this.#byKey.set(asset.id, asset);
    this.#byKey.set(asset.assetId, asset);
    if (mediaType === 'image') account.lastImage = asset;
    if (task) {
      task.artifacts.push(asset);
      account.artifactCount++;
      const every = this.#options.deletedArtifactEvery;
      if (every > 0 && account.artifactCount % every === 0) doomed.push(asset);
    }
    return asset;
  }

  /**
   * The task a new generated asset belongs to: the open image generation while it has room, else a new task. The
   * discarded takes (`discardedTakes`) and, every `failedTaskEvery`th task, a FAILED one go before it.
   */
  #taskFor(account: AccountState, fresh: FreshGeneration, parts: GenerationParts, tasks: SimTask[]): SimTask {
    const open = account.openImageTask;
    if (fresh.mediaType === 'image' && open && open.artifacts.length < open.capacity) return open;
    const random = account.taskRandom;
    const o = this.#options;
    const folder = folderFor(account, `${o.seed}:folder:${fresh.uuid}`);
    const takes = o.discardedTakes;
    for (let take = 0; take < takes; take++) {
      const at = new Date(Date.parse(fresh.createdAt) - (takes - take + 1) * 1000).toISOString();
      const seed = intBetween(random, 10_000_000_000, 99_999_999_999);
      const discarded = this.#newTask(account, tasks, {
        ...fresh,
        uuid: uuidFrom(random),
        createdAt: at,
        status: 'SUCCEEDED',
        parts: { ...parts, seed },
        capacity: 1,
        folder: folder.name,
      });
      discarded.artifacts.push(discardedArtifact(account, discarded, fresh, folder, uuidFrom(random)));
    }
    const every = o.failedTaskEvery;
    if (every > 0 && (account.taskCount + 1) % every === 0) {
      const failedAt = new Date(Date.parse(fresh.createdAt) - 1000).toISOString();
      const failed = { ...fresh, uuid: uuidFrom(random), createdAt: failedAt, mediaType: 'video' as const };
      this.#newTask(account, tasks, { ...failed, status: 'FAILED', parts, capacity: 0, folder: folder.name });
    }
    const { min, max } = o.imagesPerTask;
    const capacity = fresh.mediaType === 'image' ? intBetween(random, min, max) : 1;
    const task = this.#newTask(account, tasks, {
      ...fresh,
      status: 'SUCCEEDED',
      parts,
      capacity,
      folder: folder.name,
    });
    account.openImageTask = fresh.mediaType === 'image' ? task : undefined;
    return task;
  }

  #newTask(account: AccountState, tasks: SimTask[], spec: TaskSpec): SimTask {
    account.taskCount++;
    const startsFromImage = /turbo/.test(spec.parts.model.taskType) && spec.mediaType === 'video';
    const task: SimTask = {
      email: account.email,
      id: spec.uuid,
      taskId: `${spec.prefix}-task:${spec.uuid}`,
      createdAt: spec.createdAt,
      taskType: spec.parts.model.taskType,
      status: spec.status,
      seed: spec.parts.seed,
      model: spec.parts.model.label,
      prompt: spec.parts.prompt,
      assetGroupName: spec.folder,
      initImage: startsFromImage ? account.lastImage : undefined,
      metadata: spec.metadata,
      artifacts: [],
      capacity: spec.capacity,
    };
    this.#tasksById.set(task.id, task);
    tasks.push(task);
    return task;
  }
}

/** What a new generation is known by before its task exists. */
interface FreshGeneration {
  mediaType: MediaType;
  ext: string;
  uuid: string;
  createdAt: string;
  metadata: AssetMetadata;
  /** `user:<id>-runwayml:<email>` */
  prefix: string;
}

interface TaskSpec extends FreshGeneration {
  status: SimTaskStatus;
  parts: GenerationParts;
  capacity: number;
  folder: string | undefined;
}

/** The folder `key` falls into: the root one for about half of them. */
function folderFor(account: AccountState, key: string): SimFolder {
  const draw = unitFor(key);
  const named = account.folders.slice(1);
  if (draw < 0.5 || named.length === 0) return account.folders[0] as SimFolder;
  return named[Math.floor(((draw - 0.5) / 0.5) * named.length)] ?? (account.folders[0] as SimFolder);
}

function folderNamed(account: AccountState, name: string | undefined): SimFolder {
  return account.folders.find((f) => f.name === name) ?? (account.folders[0] as SimFolder);
}

/** The one output of a discarded take: listed by its task as deleted, never by the assets listing. */
function discardedArtifact(
  account: AccountState,
  task: SimTask,
  fresh: FreshGeneration,
  folder: SimFolder,
  id: string,
): SimAsset {
  const lastModified = Math.floor(Date.parse(task.createdAt) / 1000) * 1000;
  return {
    email: account.email,
    userId: account.userId,
    username: account.username,
    id,
    assetId: `${fresh.prefix}-asset:${id}`,
    createdAt: task.createdAt,
    updatedAt: task.createdAt,
    name: `${task.model} ${task.seed}, ${task.prompt}.${fresh.ext}`,
    mediaType: fresh.mediaType,
    metadata: structuredClone(fresh.metadata),
    isUserUpload: false,
    private: true,
    favorite: false,
    taskId: task.taskId,
    parentAssetGroupId: folder.id,
    files: [{ role: 'main', index: 0, ext: fresh.ext, size: 1000, version: 1, lastModified }],
  };
}

export function createCatalog(options: CatalogOptions = {}): Catalog {
  return new Catalog(options);
}

function makeMetadata(random: () => number, mediaType: MediaType, legacy: boolean): AssetMetadata {
  if (mediaType === 'audio') {
    const duration = Math.round((1 + random() * 59) * 1000) / 1000;
    return legacy ? { duration } : { duration, hasAudio: true };
  }
  const [width, height] = pick(random, mediaType === 'video' ? VIDEO_DIMENSIONS : IMAGE_DIMENSIONS);
  if (mediaType === 'image') {
    return legacy
      ? { dimensions: [width, height], size: { width, height } }
      : { width, height, hasAlphaChannel: false };
  }
  const frameRate = pick(random, [24, 30]);
  const duration = Math.round((pick(random, [5, 10]) + random() * 0.1) * 1000) / 1000;
  return legacy
    ? { frameRate, duration, dimensions: [width, height], size: { width, height } }
    : { frameRate, duration, width, height, hasAlphaChannel: false, hasAudio: random() < 0.5 };
}

function pickMediaType(random: () => number, weights: readonly [number, number, number]): MediaType {
  let draw = random() * (weights[0] + weights[1] + weights[2]);
  let chosen: MediaType = 'video';
  for (let i = 0; i < MEDIA_ORDER.length; i++) {
    const weight = weights[i] ?? 0;
    if (weight <= 0) continue;
    chosen = MEDIA_ORDER[i] ?? chosen;
    if (draw < weight) break;
    draw -= weight;
  }
  // Falling off the end (float rounding) leaves the last type that has weight.
  return chosen;
}

/** The uuid at the end of a `…-task:<uuid>` id; a bare uuid stays as it is. */
function taskUuid(key: string): string {
  const at = key.lastIndexOf('-task:');
  return at === -1 ? key : key.slice(at + '-task:'.length);
}

const uuidBytes = Buffer.alloc(16);

/** A version-4-shaped uuid from the seeded generator (through a Buffer: hex encoding is native and fast). */
function uuidFrom(random: () => number): string {
  for (let i = 0; i < 16; i += 4) uuidBytes.writeUInt32BE(Math.floor(random() * 0x1_0000_0000), i);
  uuidBytes[6] = ((uuidBytes[6] ?? 0) & 0x0f) | 0x40;
  uuidBytes[8] = ((uuidBytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = uuidBytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function resolveOptions(options: CatalogOptions): ResolvedOptions {
  const seed = options.seed ?? 1;
  if (!Number.isFinite(seed)) throw new RangeError(`Expected \`seed\` to be a finite number, got ${seed}`);
  const accounts = options.accounts ?? ['demo@example.com'];
  if (accounts.length === 0 || accounts.some((email) => typeof email !== 'string' || email.trim() === '')) {
    throw new RangeError('Expected `accounts` to be a non-empty list of non-empty emails');
  }
  if (new Set(accounts.map((email) => email.toLowerCase())).size !== accounts.length) {
    throw new RangeError('Expected `accounts` to hold distinct emails');
  }
  const assets = options.assets ?? 120;
  if (!Number.isInteger(assets) || assets < 0)
    throw new RangeError(`Expected \`assets\` to be an integer >= 0, got ${assets}`);
  const mix = options.mediaMix ?? { video: 0.6, image: 0.3, audio: 0.1 };
  const weights = [mix.video ?? 0, mix.image ?? 0, mix.audio ?? 0] as const;
  if (weights.some((w) => !Number.isFinite(w) || w < 0) || weights[0] + weights[1] + weights[2] <= 0) {
    throw new RangeError('Expected `mediaMix` weights to be >= 0 with a positive sum');
  }
  const fixed =
    typeof options.fixedSizes === 'number' ? { main: options.fixedSizes } : (options.fixedSizes ?? {});
  return {
    seed,
    accounts: [...accounts],
    assets,
    weights,
    mainSize: checkSizeRange('mainSize', options.mainSize ?? { min: 20_000, max: 200_000 }),
    previewSize: checkSizeRange('previewSize', options.previewSize ?? { min: 2_000, max: 20_000 }),
    fixedMain: checkSize('fixedSizes.main', fixed.main),
    fixedPreview: checkSize('fixedSizes.preview', fixed.preview),
    hostileNames: options.hostileNames ?? false,
    uploadShare: checkShare(options.uploadShare ?? 0.15),
    failedTaskEvery: checkSize('failedTaskEvery', options.failedTaskEvery) ?? 20,
    deletedArtifactEvery: checkSize('deletedArtifactEvery', options.deletedArtifactEvery) ?? 0,
    imagesPerTask: checkImagesPerTask(options.imagesPerTask ?? { min: 1, max: 4 }),
    hostilePrompts: options.hostilePrompts ?? false,
    discardedTakes: checkTakes(options.discardedTakes ?? 0),
  };
}

function checkTakes(takes: number): number {
  // Each take is a second older than the next; generations are at least a minute apart.
  if (!Number.isInteger(takes) || takes < 0 || takes > 50)
    throw new RangeError(`Expected \`discardedTakes\` to be an integer from 0 to 50, got ${takes}`);
  return takes;
}

function checkShare(share: number): number {
  if (!(share >= 0 && share <= 1))
    throw new RangeError(`Expected \`uploadShare\` to be from 0 to 1, got ${share}`);
  return share;
}

function checkImagesPerTask(range: SizeRange): SizeRange {
  if (!(range.min >= 1)) throw new RangeError('Expected `imagesPerTask.min` to be >= 1');
  return checkSizeRange('imagesPerTask', range);
}

function checkSizeRange(name: string, range: SizeRange): SizeRange {
  checkSize(`${name}.min`, range.min);
  checkSize(`${name}.max`, range.max);
  if (range.min > range.max) throw new RangeError(`Expected \`${name}.min\` <= \`${name}.max\``);
  return { min: range.min, max: range.max };
}

function checkSize(name: string, size: number | undefined): number | undefined {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new RangeError(`Expected \`${name}\` to be an integer >= 0, got ${size}`);
  }
  return size;
}
