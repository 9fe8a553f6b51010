/**
 * The `.part` file a transfer writes into: positional writes (several segments of one file land in one `.part`),
 * background flushes of large files, and the fsync that completeness rests on. Replaceable through `PartIO`, so
 * tests can fail a write (a full disk) without mocking `node:fs`.
 */

import { promises as fs } from 'node:fs';
import pLimit from 'p-limit';

// fsync and fdatasync run on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) and each
// can take tens of milliseconds while the disk writes back: eight lanes flushing at once held every thread, and
// the writes of all transfers queued behind them. At most two at a time leaves the rest of the pool to the writes.
const syncs = pLimit(2);

export interface PartHandle {
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position`; fewer at the end of the file. */
  read(length: number, position: number): Promise<Buffer>;
  /** Flushes the data written so far (fdatasync). */
  datasync(): Promise<void>;
  /** Flushes data and metadata (fsync): done before the rename that exposes the file. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface PartIO {
  /** Opens `file` for positional writes; `fresh` truncates it (or creates it), otherwise it is kept as it is. */
  open(file: string, fresh: boolean): Promise<PartHandle>;
}

export const nodePartIO: PartIO = {
  async open(file, fresh) {
    let handle: fs.FileHandle;
    // Read-write: a transfer without a validator reads back the bytes before the end of the .part to prove them
    // (the overlap check), also on a retry within the same run; a write-only handle failed that with EBADF.
    if (fresh) handle = await fs.open(file, 'w+');
    else {
      try {
        handle = await fs.open(file, 'r+');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        handle = await fs.open(file, 'w+');
      }
    }
    return {
      async write(data, position) {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
          done += bytesWritten;
        }
      },
      async read(length, position) {
        const buffer = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(buffer, got, length - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buffer.subarray(0, got);
      },
      datasync: () => syncs(() => handle.datasync()),
      sync: () => syncs(() => handle.sync()),
      truncate: (length) => handle.truncate(length),
      close: () => handle.close(),
    };
  },
};
