// The folders of src/ are the pipeline (README "Design choices"): each may import only the folders below it. This
// reads every relative import of every source file and holds it against that table, and finds import circles.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve('src');
/** The shared primitives at the top of src/: anything may import them, they import only each other. */
const TOP = new Set(['errors', 'exit-codes', 'types', 'config', 'fsutil', 'retry', 'node-flags', 'gc']);
/** What each folder may import besides itself and the primitives. */
const ALLOWED: Record<string, readonly string[]> = {
  api: [],
  source: ['api'],
  engine: [],
  store: ['api'],
  run: ['api', 'source', 'engine', 'store'],
  report: ['api', 'run', 'store'],
  gallery: ['store', 'report'],
  commands: ['api', 'source', 'engine', 'store', 'run', 'report', 'gallery', 'simulator'],
  simulator: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
    path.resolve(path.dirname(file), (m[1] as string).replace(/\.js$/, '.ts')),
  );
}

/** `api`, `engine`, ... for a file in a folder; the file's name without `.ts` for one at the top. */
function roomOf(file: string): { folder: string | undefined; top: string | undefined } {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1
    ? { folder: parts[0], top: undefined }
    : { folder: undefined, top: parts[0]?.replace(/\.ts$/, '') };
}

const files = sourceFiles(SRC);

describe('architecture', () => {
  it('every folder imports only the folders below it, and the primitives import no folder', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = roomOf(file);
      for (const target of importsOf(file)) {
        const to = roomOf(target);
        const name = `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`;
        if (to.top !== undefined) {
          // cli.ts and index.ts are the entries; nothing imports them.
          if (!TOP.has(to.top)) wrong.push(name);
          continue;
        }
        if (from.folder === undefined) {
          if (from.top !== 'cli' && from.top !== 'index') wrong.push(name);
          if (from.top === 'cli' && to.folder !== 'commands') wrong.push(name);
          continue;
        }
        if (to.folder === from.folder) continue;
        const allowed = ALLOWED[from.folder];
        if (allowed === undefined || !allowed.includes(to.folder as string)) wrong.push(name);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import circle between files', () => {
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, stack: string[]): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') {
          circles.push(
            [...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(SRC, f)).join(' -> '),
          );
        } else if (!state.has(next)) visit(next, stack);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('each folder opens with a comment that says its job and what it never imports', () => {
    const folders = Object.keys(ALLOWED);
    for (const folder of folders) {
      const heads = files
        .filter((file) => roomOf(file).folder === folder)
        .map((file) => readFileSync(file, 'utf8').split('\n').slice(0, 4).join('\n'));
      expect(
        heads.some(
          (head) =>
            head.startsWith(`// src/${folder}/:`) && /never imports|imports only|imports nothing/i.test(head),
        ),
        folder,
      ).toBe(true);
    }
  });

  it('the table above knows every folder that exists', () => {
    const existing = readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(existing).toEqual(Object.keys(ALLOWED).sort());
  });
});
