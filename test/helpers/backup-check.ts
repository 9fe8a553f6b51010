import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { GALLERY_NAME } from '../../src/gallery/write.js';
import { RUN_RECORD_NAME } from '../../src/report/run-record.js';
import type { Simulator } from '../../src/simulator/index.js';
import type { Manifest, ManifestData } from '../../src/store/manifest.js';
import { CHECKSUMS_NAME, GALLERY_MARKER } from '../../src/store/own-files.js';
import type { MediaType } from '../../src/types.js';

export async function sha256OfFile(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Every file below `dir`, relative, POSIX separators. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

export async function readManifest(out: string): Promise<ManifestData> {
  return JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as ManifestData;
}

/**
 * Asserts that `out` holds exactly what the simulator serves for the wanted assets: every file byte-identical,
 * recorded done in the manifest with its sha256, and nothing else on disk (no strays, no .part files).
 */
export async function expectBackupMatches(
  simulator: Simulator,
  out: string,
  options: {
    types?: MediaType[];
    previews?: boolean;
    email?: string;
    extra?: string[];
    /** Assets deleted upstream after they were backed up: their entries and files may stay. */
    deleted?: string[];
    /** Files changed upstream after this manifest recorded them done: the backed-up version must stay. */
    changedAfterBackup?: Manifest;
  } = {},
): Promise<{ files: number }> {
  const { types = ['video', 'image', 'audio'], previews = true } = options;
  const manifest = await readManifest(out);
  const wanted = simulator.assets(options.email).filter((a) => types.includes(a.mediaType as MediaType));
  const expectedPaths: string[] = ['manifest.json', ...(options.extra ?? [])];
  for (const asset of wanted) {
    const entry = manifest.assets[asset.assetId];
    expect(entry, `manifest entry for ${asset.assetId}`).toBeDefined();
    expect(entry!.status).toBe('complete');
    const files = asset.files.filter((f) => previews || f.role === 'main');
    expect(entry!.files.map((f) => `${f.role}-${f.index}`)).toEqual(
      files.map((f) => `${f.role}-${f.role === 'main' ? 0 : f.index + 1}`),
    );
    for (const file of files) {
      const record = entry!.files.find(
        (f) => f.role === file.role && f.index === (file.role === 'main' ? 0 : file.index + 1),
      )!;
      const onDisk = path.join(out, record.path);
      const kept = options.changedAfterBackup?.doneFile(asset.assetId, record.role, record.index);
      const expectedSha = kept?.sha256 ?? (await simulator.sha256(file));
      expect(await sha256OfFile(onDisk), record.path).toBe(expectedSha);
      expect(record.sha256).toBe(expectedSha);
      expect(record.bytes).toBe(file.size);
      expectedPaths.push(record.path);
    }
    if (entry!.sidecar) expectedPaths.push(entry!.sidecar);
  }
  for (const id of options.deleted ?? []) {
    const entry = manifest.assets[id];
    for (const f of entry?.files ?? []) expectedPaths.push(f.path);
    if (entry?.sidecar) expectedPaths.push(entry.sidecar);
  }
  expect(Object.keys(manifest.assets).sort()).toEqual(
    [...wanted.map((a) => a.assetId), ...(options.deleted ?? []).filter((id) => manifest.assets[id])].sort(),
  );
  // The CLI also leaves its own files beside the backup: the run record for `status` and the gallery. They may be
  // there, and when they are they must be ours; nothing else may.
  const onDisk = await listFiles(out);
  const own = [RUN_RECORD_NAME, GALLERY_NAME, CHECKSUMS_NAME].filter((f) => onDisk.includes(f));
  for (const file of own) {
    const text = await fs.readFile(path.join(out, file), 'utf8');
    if (file === CHECKSUMS_NAME) {
      // One `<sha256>  <path>` line per file the manifest records done, each of them in this backup.
      const done = Object.values(manifest.assets).flatMap((a) => a.files.filter((f) => f.status === 'done'));
      expect(text.split('\n').filter(Boolean).sort(), file).toEqual(
        done.map((f) => `${f.sha256}  ${f.path}`).sort(),
      );
    } else
      expect(
        file === GALLERY_NAME ? text.includes(GALLERY_MARKER) : JSON.parse(text).tool,
        file,
      ).toBeTruthy();
    expectedPaths.push(file);
  }
  expect(onDisk).toEqual(expectedPaths.sort());
  return { files: expectedPaths.length - 1 - (options.extra?.length ?? 0) - own.length };
}

/** Resolves once a download is under way in `out` (a `.part` file exists): the moment to interrupt a run. */
export async function waitForPart(out: string): Promise<void> {
  await expect
    .poll(async () => (await listFiles(out).catch((): string[] => [])).some((f) => f.endsWith('.part')), {
      timeout: 10_000,
      interval: 20,
    })
    .toBe(true);
}
