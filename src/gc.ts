/**
 * Garbage collections on request, for the CLI: a full one between a backup and its gallery (src/commands/backup.ts),
 * and young-generation ones while bytes stream in (src/engine/chunk-release.ts). `--expose-gc` (set by
 * src/node-flags.ts) makes `gc` reachable from a fresh V8 context; the context is made on the first call, not at
 * start-up, where every command would pay for it. Without the flag (a library user's process, a test) both do
 * nothing. No side effect on import.
 */
import vm from 'node:vm';

type Gc = (options?: { type: 'major' | 'minor' }) => void;

let gc: Gc | null | undefined;

function exposed(): Gc | null {
  if (gc === undefined) {
    try {
      gc = vm.runInNewContext('gc') as Gc;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** One full collection. */
export function collectGarbage(): void {
  exposed()?.();
}

/**
 * One young-generation collection (a scavenge: a fraction of a millisecond with the 1 MiB semi-spaces of
 * node-flags.ts). It frees the short-lived objects that died since the last one, and with them the memory of the
 * ArrayBuffers they held.
 */
export function collectYoung(): void {
  exposed()?.({ type: 'minor' });
}
