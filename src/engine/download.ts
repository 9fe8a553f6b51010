import { promises as fs } from 'node:fs';
import { removeIfExists } from './place.js';
import {
  type DownloadResult,
  FileTransfer,
  type ResumeState,
  type ResumeStore,
  type TransferOptions,
} from './transfer.js';

export type { DownloadResult, ResumeState, ResumeStore } from './transfer.js';

interface SidecarState extends ResumeState {
  assetId: string;
  key: string;
}

/** The default store of `downloadFile`: a small JSON file beside the `.part`. A torn or foreign one is ignored. */
export function sidecarResumeStore(dest: string, assetId: string, key: string): ResumeStore {
  const file = `${dest}.part.json`;
  return {
    async get() {
      try {
        const state = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<SidecarState>;
        if (state.assetId === assetId && state.key === key) {
          return {
            validator: typeof state.validator === 'string' && state.validator ? state.validator : undefined,
            total: typeof state.total === 'number' ? state.total : undefined,
            segments: Array.isArray(state.segments) ? state.segments : undefined,
          };
        }
      } catch {
        // Missing or unreadable: the .part cannot be continued safely.
      }
      return undefined;
    },
    async set(state) {
      if (state === undefined) await removeIfExists(file);
      else await fs.writeFile(file, JSON.stringify({ assetId, key, ...state } satisfies SidecarState));
    },
  };
}

export interface DownloadOptions extends Omit<TransferOptions, 'resumeStore' | 'spawn'> {
  /** Partial state is keyed by assetId + `key` (role and index), never by URL: signatures change every listing. */
  assetId: string;
  key: string;
  /** Where the resume state lives. @default sidecarResumeStore(dest, assetId, key) */
  resumeStore?: ResumeStore | undefined;
}

/**
 * Downloads one file on its own (no shared lanes): streams into `<dest>.part`, checks the exact byte count,
 * fsyncs, renames. A leftover `.part` is continued only when it is proven to belong to the same object (`If-Range`
 * with a validator, or the overlap check without one); a non-2xx body is never written. `backup()` runs the same
 * transfer on its lanes, where large files may also be split.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { assetId, key, resumeStore, ...rest } = options;
  const transfer = new FileTransfer({
    ...rest,
    resumeStore: resumeStore ?? sidecarResumeStore(options.dest, assetId, key),
  });
  await transfer.run();
  return transfer.result;
}
