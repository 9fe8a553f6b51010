/**
 * The generation records and the fate of assets, one account at a time, once its walk has ended: what each
 * generated asset's task says made it (read the gentle way: the task walk of this run when there was one, else the
 * task listing in pages of 1,000, and `GET /tasks/{taskId}` only for what lies beyond it; never again once kept),
 * and, for the assets backed up before that the walk no longer lists, one lookup by id that tells an asset deleted
 * on Runway (404) from one out of reach (200). Files are never touched here.
 */
import pLimit from 'p-limit';
import type { AssetsClient } from '../api/client.js';
import type { Task } from '../api/parse-task.js';
import { AbortError, ApiError } from '../errors.js';
import { wanted } from '../source/sources.js';
import { iterateTasks } from '../source/tasks.js';
import { type GenerationRecord, recordOfTask, urlKey } from '../store/generation.js';
import type { Manifest } from '../store/manifest.js';
import type { Asset, MediaType } from '../types.js';
import { describe } from './refusal.js';

/** What a task contributes to a record; the rest (its artifacts, their signed URLs) is not kept in memory. */
type TaskPart = Pick<Task, 'taskType' | 'name' | 'createdAt' | 'options' | 'artifacts'>;

/** What the walk of one account told about its assets. */
interface AccountNotes {
  /** Every asset the walk listed (each once). */
  listed: Set<string>;
  /** The task of each listed asset that has one. */
  taskOf: Map<string, string>;
  /** `urlKey` of each listed asset's main file → its assetId: what a URL inside a task's options points at. */
  assetOfUrl: Map<string, string>;
  /** Tasks this run's own task walk read, by taskId. */
  tasks: Map<string, TaskPart>;
}

export interface KeeperCounts {
  /** Generation records kept this run. */
  recordsKept: number;
  /** Generated assets whose task could not be read this run (the next run tries again). */
  recordsMissing: number;
  /** By-id lookups of assets the walk no longer listed. */
  fateLookups: number;
}

/** Lookups and task reads in flight at once: the API stays gentle, as with the listing's lookahead. */
const PARALLEL = 3;

export class GenerationKeeper {
  readonly counts: KeeperCounts = { recordsKept: 0, recordsMissing: 0, fateLookups: 0 };
  /** Assets whose record was kept this run: their sidecars are rewritten with it. */
  readonly kept = new Set<string>();
  readonly #accounts = new Map<string | undefined, AccountNotes>();

  constructor(
    readonly manifest: Manifest,
    readonly client: AssetsClient,
    readonly signal: AbortSignal,
  ) {}

  #notes(account: string | undefined): AccountNotes {
    let notes = this.#accounts.get(account);
    if (!notes) {
      notes = { listed: new Set(), taskOf: new Map(), assetOfUrl: new Map(), tasks: new Map() };
      this.#accounts.set(account, notes);
    }
    return notes;
  }

  /** An asset the walk listed. */
  note(account: string | undefined, asset: Asset): void {
    const notes = this.#notes(account);
    notes.listed.add(asset.assetId);
    const taskId = asset.taskId ?? (typeof asset.raw.taskId === 'string' ? asset.raw.taskId : undefined);
    if (taskId) notes.taskOf.set(asset.assetId, taskId);
    const key = urlKey(asset.url);
    if (key !== undefined) notes.assetOfUrl.set(key, asset.assetId);
  }

  /** For `iterateAccount`'s `onTask`: a task this run's walk read anyway, kept for the records. */
  taskReader(account: string | undefined): (task: Task) => void {
    const notes = this.#notes(account);
    return (task) => {
      if (task.taskId !== undefined) notes.tasks.set(task.taskId, partOf(task));
    };
  }

  /**
   * After the account's walk: the records it lacks, then (when the walk was whole: none cut short, none refused)
   * the fate of what it no longer lists. Throws only AbortError; an API that fails leaves things for the next run.
   */
  async afterWalk(account: string | undefined, complete: boolean, types: MediaType[]): Promise<void> {
    const notes = this.#notes(account);
    await this.#records(account, notes);
    if (complete) await this.#fates(account, notes, types);
    // The walk's memory is not needed any more.
    this.#accounts.delete(account);
  }

  async #records(account: string | undefined, notes: AccountNotes): Promise<void> {
    // By task: the images of one generation share it.
    const needed = new Map<string, string[]>();
    for (const [assetId, taskId] of notes.taskOf) {
      const entry = this.manifest.get(assetId);
      if (!entry || entry.generation?.state === 'kept') continue;
      needed.set(taskId, [...(needed.get(taskId) ?? []), assetId]);
    }
    if (needed.size === 0) return;
    const assetOf = (key: string) => notes.assetOfUrl.get(key);
    const keep = async (taskId: string, task: TaskPart) => {
      const record = recordOfTask(task as Task, taskId, assetOf, new Date().toISOString());
      for (const assetId of needed.get(taskId) ?? []) {
        await this.manifest.setGeneration(assetId, record);
        this.counts.recordsKept++;
        this.kept.add(assetId);
      }
      needed.delete(taskId);
    };
    for (const [taskId, task] of notes.tasks) if (needed.has(taskId)) await keep(taskId, task);
    notes.tasks.clear();
    if (needed.size > 0) await this.#listTasks(account, needed, keep);
    await inParallel([...needed.keys()], PARALLEL, this.signal, async (taskId) => {
      let task: Task | undefined;
      let reason = '';
      try {
        if (!this.client.getTask) throw new Error('this API client cannot read one task');
        task = await this.client.getTask(taskId, { email: account, signal: this.signal });
      } catch (error) {
        if (this.signal.aborted) throw new AbortError();
        reason =
          error instanceof ApiError && error.status === 404 ? 'the task is gone on Runway' : describe(error);
      }
      if (task) return keep(taskId, task);
      const record: GenerationRecord = { taskId, state: 'missing', readAt: new Date().toISOString(), reason };
      for (const assetId of needed.get(taskId) ?? []) {
        await this.manifest.setGeneration(assetId, record);
        this.counts.recordsMissing++;
      }
    });
  }

  /**
   * The task listing in pages of 1,000 (offsets 0, 999, 1000: the newest 2,000 tasks in three requests), stopped
   * as soon as every needed task was read. A listing that fails leaves the rest to the lookups by id.
   */
  async #listTasks(
    account: string | undefined,
    needed: Map<string, string[]>,
    keep: (taskId: string, task: TaskPart) => Promise<void>,
  ): Promise<void> {
    if (typeof this.client.listTasks !== 'function') return;
    const found: [string, TaskPart][] = [];
    const onTask = (task: Task) => {
      if (task.taskId !== undefined && needed.has(task.taskId)) found.push([task.taskId, partOf(task)]);
    };
    try {
      // One page at a time: the walk is left as soon as every needed task was read.
      const walk = iterateTasks(this.client, {
        email: account,
        pageSize: 1000,
        lookahead: false,
        signal: this.signal,
        onTask,
      });
      for await (const _ of walk) {
        while (found.length > 0) {
          const [taskId, task] = found.shift() as [string, TaskPart];
          await keep(taskId, task);
        }
        if (needed.size === 0) break;
      }
    } catch (error) {
      if (this.signal.aborted) throw new AbortError();
      void error; // The lookups by id below try each task on its own.
    }
    for (const [taskId, task] of found) await keep(taskId, task);
  }

  /** Backed-up assets of this account and these types that the whole walk did not list: looked up once by id. */
  async #fates(account: string | undefined, notes: AccountNotes, types: MediaType[]): Promise<void> {
    const unlisted: string[] = [];
    for (const entry of Object.values(this.manifest.data.assets)) {
      if (entry.account !== account || !wanted(entry.mediaType, types)) continue;
      if (notes.listed.has(entry.assetId)) {
        // Back in reach (listed again): present.
        if (entry.fate) await this.manifest.setFate(entry.assetId, undefined);
      } else if (entry.fate === undefined) unlisted.push(entry.assetId);
    }
    await inParallel(unlisted, PARALLEL, this.signal, async (assetId) => {
      this.counts.fateLookups++;
      try {
        await this.client.getAsset(assetId, { email: account, signal: this.signal });
        await this.manifest.setFate(assetId, { state: 'out-of-reach', since: new Date().toISOString() });
      } catch (error) {
        if (this.signal.aborted) throw new AbortError();
        // Only a 404 proves it deleted; anything else proves nothing, and the next run asks again.
        if (error instanceof ApiError && error.status === 404) {
          await this.manifest.setFate(assetId, { state: 'deleted', since: new Date().toISOString() });
        }
      }
    });
  }
}

/** How many assets of the manifest Runway deleted and how many are out of reach: those the backup keeps alone. */
export function fateCounts(manifest: Manifest): { deletedOnRunway: number; outOfReach: number } {
  let deletedOnRunway = 0;
  let outOfReach = 0;
  for (const entry of Object.values(manifest.data.assets)) {
    if (!entry.files.some((f) => f.status === 'done')) continue;
    if (entry.fate?.state === 'deleted') deletedOnRunway++;
    else if (entry.fate?.state === 'out-of-reach') outOfReach++;
  }
  return { deletedOnRunway, outOfReach };
}

function partOf(task: Task): TaskPart {
  return {
    taskType: task.taskType,
    name: task.name,
    createdAt: task.createdAt,
    options: task.options,
    artifacts: [],
  };
}

/** Runs `work` over `items`, at most `limit` at a time; stops taking items on abort. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const slots = pLimit(limit);
  await Promise.all(items.map((item) => slots(async () => (signal.aborted ? undefined : work(item)))));
}
