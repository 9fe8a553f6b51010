export type {
  AssetsClient,
  ClientOptions,
  GetAssetParams,
  GetTaskParams,
  ListPage,
  ListPageParams,
  ListTasksParams,
  RetryInfo,
  TaskPage,
} from './api/client.js';
export { createClient, DEFAULT_BASE_URL, MAX_LIMIT, MAX_OFFSET, MAX_TASK_LIMIT } from './api/client.js';
export type { SkippedItem } from './api/parse.js';
export { parseAsset } from './api/parse.js';
export type { ArtifactResult, Task, TaskStatus } from './api/parse-task.js';
export { parseTask, TASK_STATUSES } from './api/parse-task.js';
export type { BackupEvent, BackupFailure, BackupOptions, BackupSummary, FileJob } from './backup.js';
export { backup } from './backup.js';
export type { DownloadOptions, DownloadResult } from './download.js';
export { downloadFile } from './download.js';
export {
  AbortError,
  ApiError,
  ConfigError,
  DiskError,
  DownloadError,
  MalformedResponseError,
  ManifestCorruptError,
  NetworkError,
  RunwayBackupError,
  UnsafePathError,
  UsageError,
} from './errors.js';
export { assetPaths, resolveInside, sanitizeSegment } from './layout.js';
export type { ManifestAsset, ManifestData, ManifestFile } from './manifest.js';
export { Manifest } from './manifest.js';
export type { IterateOptions, ListingEvent, WindowName } from './paginate.js';
export { iterateAssets } from './paginate.js';
export { RateGate } from './retry.js';
export type { AccountSourceOptions, SourceEvent, TaskHistoryMode } from './sources.js';
export { iterateAccount } from './sources.js';
export type { IterateTasksOptions, TaskEvent } from './tasks.js';
export { iterateTasks } from './tasks.js';
export type { Asset, AssetMetadata, AssetSource, MediaType, RawAsset } from './types.js';
export { MEDIA_TYPES } from './types.js';
export type { VerifyOptions, VerifyProblem, VerifyReport } from './verify.js';
export { verifyBackup } from './verify.js';
