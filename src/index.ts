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
export type { DownloadOptions, DownloadResult, ResumeState, ResumeStore } from './download.js';
export { downloadFile, sidecarResumeStore } from './download.js';
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
export type { GalleryAsset, GalleryCatalog, GalleryFile, GalleryFileState } from './gallery/catalog.js';
export { buildGalleryCatalog } from './gallery/catalog.js';
export type { GalleryOptions, GalleryResult } from './gallery/write.js';
export { writeGallery } from './gallery/write.js';
export type { ConcurrencySetting } from './lanes.js';
export { assetPaths, resolveInside, sanitizeSegment } from './layout.js';
export type { ManifestAsset, ManifestData, ManifestFile } from './manifest.js';
export { Manifest } from './manifest.js';
export type { IterateOptions, ListingEvent, WindowName } from './paginate.js';
export { iterateAssets } from './paginate.js';
export type { PartHandle, PartIO } from './part-file.js';
export { RateGate } from './retry.js';
export type { RecordedSummary, RunOutcome, RunRecord } from './run-record.js';
export { RUN_RECORD_NAME, readRunRecord } from './run-record.js';
export type { AccountSourceOptions, SourceEvent, TaskHistoryMode } from './sources.js';
export { iterateAccount } from './sources.js';
export type { BackupStatus, StatusState } from './status.js';
export { readStatus } from './status.js';
export type { IterateTasksOptions, TaskEvent } from './tasks.js';
export { iterateTasks } from './tasks.js';
export type { ThrottleReason } from './transfer.js';
export type { Transport, TransportRequest, TransportResponse } from './transport.js';
export { gotTransport, nodeTransport } from './transport.js';
export type { Asset, AssetMetadata, AssetSource, MediaType, RawAsset } from './types.js';
export { MEDIA_TYPES } from './types.js';
export type { VerifyOptions, VerifyProblem, VerifyReport } from './verify.js';
export { verifyBackup } from './verify.js';
