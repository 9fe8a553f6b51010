/**
 * The V8 settings the CLI runs with, applied at start-up from here rather than from the shebang: `#!/usr/bin/env -S
 * node --flags` needs `env -S`, which GNU coreutils before 8.30 and BusyBox (many NAS) do not have, so the bin
 * starts with a plain `#!/usr/bin/env node`. cli.ts imports this module first, before anything allocates much.
 *
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial 1 MiB semi-spaces instead of growing to
 *   16 MiB. It suits a streaming tool whose garbage is short-lived chunk buffers; it does at run time what the old
 *   shebang's `--max-semi-space-size=1` did at start-up (that one cannot be changed once the heap exists:
 *   measured, `v8.setFlagsFromString('--max-semi-space-size=1')` leaves the new space at 16 MiB).
 * - `--heap-growing-percent=10`: a slowly growing old generation (2,489 small files at 90-94 MiB instead of ~125).
 * - `--expose-gc`: one full collection between a backup and its gallery (`collectGarbage` in src/gc.ts), and a
 *   young-generation one every 4 MiB received (`collectYoung`, from src/engine/chunk-release.ts: it frees Node's
 *   socket-read buffers before they add up to a full mark-compact). The function is taken from a fresh V8 context
 *   only when it is first called, not at start-up: a context costs a few hundred KiB and every command would pay
 *   for it, while only a backup needs it.
 *
 * Measured with `/usr/bin/time -f %M` on a 1,300-asset simulator backup, 4 interleaved pairs: 92.5-94.0 MiB with
 * these against 93.4-97.2 MiB with the old shebang flags, 3.8-4.7 s both; 153-156 MiB with neither.
 * `--optimize-for-size`, used before all this, kept memory as low but cost a third more CPU per byte.
 */
import v8 from 'node:v8';

export const RUNTIME_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10', '--expose-gc'];

for (const flag of RUNTIME_V8_FLAGS) v8.setFlagsFromString(flag);
