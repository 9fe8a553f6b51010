/**
 * One full garbage collection, for the CLI between a backup and its gallery (src/commands/backup.ts). `--expose-gc`
 * (set by src/node-flags.ts) makes `gc` reachable from a fresh V8 context; the context is made on the first call,
 * not at start-up, where every command would pay for it. Without the flag (a library user's process, a test) it
 * does nothing. No side effect on import.
 */
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
