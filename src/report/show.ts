/**
 * `runway-backup show FILE|ASSET_ID`: how one backed-up asset was made, from the manifest alone (offline): its
 * name, type, dates and files, what its task said (model, prompt, seed, settings), its folder and favourite, and
 * where it stands on Runway. Reads only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import {
  type GenerationRecord,
  type GenerationState,
  promptOf,
  seedOf,
  settingsOf,
} from '../store/generation.js';
import { Manifest, type ManifestAsset, type ManifestFile } from '../store/manifest.js';
import { MANIFEST_NAME } from '../store/own-files.js';
import { printable } from './format.js';

export interface ShowOptions {
  /** A file of the backup (main file, preview or sidecar), or an assetId, its uuid, or the 8 characters of it. */
  target: string;
  /** The backup folder. Without it, a file's folder and its parents are searched for manifest.json. */
  out?: string | undefined;
  /** Where a relative FILE is resolved. @default process.cwd() */
  cwd?: string | undefined;
}

/** Where the asset stands on Runway: listed on its last run, out of reach of the listing, or deleted there. */
export type RunwayState = 'present' | 'out-of-reach' | 'deleted';

export interface ShownAsset {
  /** The backup folder it was found in. */
  out: string;
  assetId: string;
  name: string | undefined;
  mediaType: string | undefined;
  createdAt: string | undefined;
  account: string | undefined;
  /** `complete` when every file is here. */
  status: ManifestAsset['status'];
  files: Pick<ManifestFile, 'role' | 'index' | 'path' | 'bytes' | 'sha256' | 'status'>[];
  sidecar: string | undefined;
  /** `kept`, `missing` (its task could not be read yet), or `none` (an upload, or nothing recorded). */
  generation: GenerationState | 'none';
  taskId: string | undefined;
  /** The task's `taskType`. */
  model: string | undefined;
  prompt: string | undefined;
  seed: number | string | undefined;
  /** Every other option of the task (duration, resolution, motion, source images as assetIds...). */
  settings: Record<string, unknown>;
  /** The task's own name and creation date. */
  taskName: string | undefined;
  taskCreatedAt: string | undefined;
  /** `options.assetGroupName` (the folder's name) and `parentAssetGroupId` (its id). */
  folder: { name: string | undefined; id: string | undefined };
  favorite: boolean | undefined;
  isUserUpload: boolean | undefined;
  width: number | undefined;
  height: number | undefined;
  duration: number | undefined;
  frameRate: number | undefined;
  onRunway: { state: RunwayState; since: string | undefined };
}

async function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The nearest folder at or above `dir` that holds a manifest. */
async function backupAbove(dir: string): Promise<string | undefined> {
  for (let at = dir; ; at = path.dirname(at)) {
    if (await isFile(path.join(at, MANIFEST_NAME))) return at;
    if (path.dirname(at) === at) return undefined;
  }
}

/** Finds one asset of a backup by file or id, and tells its record. UsageError when there is none. */
export async function showAsset(options: ShowOptions): Promise<ShownAsset> {
  const target = options.target;
  if (typeof target !== 'string' || target.trim() === '') {
    throw new UsageError('Expected a FILE of the backup or an ASSET_ID; try --help');
  }
  const asFile = path.resolve(options.cwd ?? process.cwd(), target);
  const fileGiven = await isFile(asFile);
  const out = path.resolve(
    options.out ?? (fileGiven ? await backupAbove(path.dirname(asFile)) : undefined) ?? 'runway-backup',
  );
  if (!(await isFile(path.join(out, MANIFEST_NAME)))) {
    throw new UsageError(`No backup in ${printable(out)} (no ${MANIFEST_NAME}); pass --out`);
  }
  const manifest = await Manifest.load(out);
  await manifest.close();
  const entries = Object.values(manifest.data.assets);
  let entry: ManifestAsset | undefined;
  if (fileGiven) {
    const relative = path.relative(out, asFile).split(path.sep).join('/');
    entry = entries.find((e) => e.sidecar === relative || e.files.some((f) => f.path === relative));
  }
  entry ??= manifest.get(target) ?? byId(entries, target.trim());
  if (!entry)
    throw new UsageError(`No asset "${printable(target.slice(0, 200))}" in the backup at ${printable(out)}`);
  return shown(out, entry);
}

/** By uuid, or by a prefix of it of 8 characters or more (the one in every file name); one match only. */
function byId(entries: ManifestAsset[], key: string): ManifestAsset | undefined {
  const exact = entries.find((e) => e.id === key);
  if (exact || key.length < 8) return exact;
  const matches = entries.filter((e) => (e.id ?? '').startsWith(key));
  if (matches.length > 1) {
    throw new UsageError(
      `"${printable(key)}" matches ${matches.length} assets; give more of the id or the FILE`,
    );
  }
  return matches[0];
}

function shown(out: string, e: ManifestAsset): ShownAsset {
  const record: GenerationRecord | undefined = e.generation;
  const folderName = record?.options?.assetGroupName;
  return {
    out,
    assetId: e.assetId,
    name: e.name,
    mediaType: e.mediaType,
    createdAt: e.createdAt,
    account: e.account,
    status: e.status,
    files: e.files.map(({ role, index, path: p, bytes, sha256, status }) => ({
      role,
      index,
      path: p,
      bytes,
      sha256,
      status,
    })),
    sidecar: e.sidecar,
    generation: record?.state ?? 'none',
    taskId: e.taskId ?? record?.taskId,
    model: record?.taskType,
    prompt: promptOf(record),
    seed: seedOf(record),
    settings: settingsOf(record),
    taskName: record?.name,
    taskCreatedAt: record?.createdAt,
    folder: { name: typeof folderName === 'string' ? folderName : undefined, id: e.parentAssetGroupId },
    favorite: e.favorite,
    isUserUpload: e.isUserUpload,
    width: e.width,
    height: e.height,
    duration: e.duration,
    frameRate: e.frameRate,
    onRunway: { state: e.fate?.state ?? 'present', since: e.fate?.since },
  };
}

/** A setting's value in one line: numbers and words as they are, anything else as compact JSON. */
function settingText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The record for a person: one `label  value` line each, every text from the API made printable. */
export function describeShown(a: ShownAsset): string {
  const lines: [string, string | undefined][] = [];
  const format = [
    a.mediaType ?? 'other',
    a.width && a.height ? `${a.width}x${a.height}` : undefined,
    a.duration !== undefined ? `${a.duration} s` : undefined,
    a.frameRate !== undefined ? `${a.frameRate} fps` : undefined,
  ];
  lines.push(['asset', a.assetId], ['type', format.filter(Boolean).join(', ')], ['created', a.createdAt]);
  if (a.account) lines.push(['account', a.account]);
  if (a.isUserUpload) lines.push(['origin', 'uploaded (no generation record)']);
  if (a.generation === 'missing')
    lines.push(['record', 'its task could not be read yet; the next backup tries again']);
  lines.push(
    ['model', a.model],
    ['prompt', a.prompt],
    ['seed', a.seed === undefined ? undefined : String(a.seed)],
  );
  for (const [key, value] of Object.entries(a.settings)) lines.push([`  ${key}`, settingText(value)]);
  if (a.taskName) lines.push(['task', `${a.taskName}${a.taskCreatedAt ? ` (${a.taskCreatedAt})` : ''}`]);
  lines.push(['folder', a.folder.name ?? (a.folder.id ? `(id ${a.folder.id})` : undefined)]);
  lines.push(['favourite', a.favorite === undefined ? undefined : a.favorite ? 'yes' : 'no']);
  const state = a.onRunway.state;
  lines.push([
    'on Runway',
    state === 'present'
      ? 'present'
      : state === 'deleted'
        ? `deleted on Runway (found ${a.onRunway.since?.slice(0, 10)}), kept here`
        : `out of reach of the listing since ${a.onRunway.since?.slice(0, 10)} (still on Runway), kept here`,
  ]);
  for (const f of a.files) {
    const what = f.role === 'main' ? 'file' : `preview ${f.index}`;
    lines.push([
      what,
      `${f.path}  ${f.bytes} bytes  sha256 ${f.sha256}${f.status === 'done' ? '' : `  (${f.status})`}`,
    ]);
  }
  if (a.sidecar) lines.push(['sidecar', a.sidecar]);
  const shownLines = lines
    .filter((l): l is [string, string] => l[1] !== undefined && l[1] !== '')
    .map(([label, value]) => `  ${label.padEnd(11)} ${printable(value)}`);
  return [printable(a.name ?? '(no name)'), ...shownLines].join('\n');
}
