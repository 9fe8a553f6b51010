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
export type { DownloadOptions, DownloadResult, ResumeState, ResumeStore } from './engine/download.js';
export { downloadFile, sidecarResumeStore } from './engine/download.js';
export type { ConcurrencySetting } from './engine/lanes.js';
export type { PartHandle, PartIO } from './engine/part-file.js';
export type { ThrottleReason } from './engine/transfer.js';
export type { Transport, TransportRequest, TransportResponse } from './engine/transport.js';
export { gotTransport, nodeTransport } from './engine/transport.js';
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
export type { RecordedSummary, RunOutcome, RunRecord } from './report/run-record.js';
export { RUN_RECORD_NAME, readRunRecord } from './report/run-record.js';
export type { RunwayState, ShownAsset, ShowOptions } from './report/show.js';
export { describeShown, showAsset } from './report/show.js';
export type { BackupStatus, StatusState } from './report/status.js';
export { readStatus } from './report/status.js';
export type { VerifyOptions, VerifyProblem, VerifyReport } from './report/verify.js';
export { verifyBackup } from './report/verify.js';
export { RateGate } from './retry.js';
export type { BackupEvent, BackupFailure, BackupOptions, BackupSummary, FileJob } from './run/backup.js';
export { backup } from './run/backup.js';
export type { RepairOptions, RepairReport, UnprovenFile } from './run/repair.js';
export { repair } from './run/repair.js';
export type { IterateOptions, ListingEvent, WindowName } from './source/paginate.js';
export { iterateAssets } from './source/paginate.js';
export type { AccountSourceOptions, SourceEvent, TaskHistoryMode } from './source/sources.js';
export { iterateAccount } from './source/sources.js';
export type { IterateTasksOptions, TaskEvent } from './source/tasks.js';
export { iterateTasks } from './source/tasks.js';
export type {
  AssetDetails,
  AssetFate,
  GenerationRecord,
  GenerationState,
} from './store/generation.js';
export { assetPaths, resolveInside, sanitizeSegment } from './store/layout.js';
export type { ManifestAsset, ManifestData, ManifestFile } from './store/manifest.js';
export { Manifest } from './store/manifest.js';
export type { Asset, AssetMetadata, AssetSource, MediaType, RawAsset } from './types.js';
export { MEDIA_TYPES } from './types.js';
