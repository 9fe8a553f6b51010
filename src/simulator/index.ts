// src/simulator/: an embedded fake of useapi.net and its CDN, for the demo, the tests and the benchmark. It
// imports only the shared types of the tool, so that it can never agree with the tool by sharing its code.
export type {
  AssetShape,
  CatalogOptions,
  FileRole,
  MediaMix,
  SimAsset,
  SimFile,
  SimTask,
  SizeRange,
} from './catalog.js';
export { Catalog, contentTypeOf, createCatalog, fileEtag, filePath, fileSeed } from './catalog.js';
export { decideRange, type RangeDecision } from './cdn.js';
export { CHUNK_SIZE, fileBytes, fileContent, fileSha256, fileSlice } from './content.js';
export { HOSTILE_NAMES, HOSTILE_PROMPTS } from './names.js';
export type {
  CdnFaultOptions,
  DriftOptions,
  FaultKind,
  ListFaultOptions,
  RateLimitOptions,
  SimAssetView,
  SimFileView,
  SimulatorKnobs,
  SimulatorOptions,
  SimulatorStats,
} from './options.js';
export { type FileRef, type SimTaskView, type Simulator, startSimulator } from './server.js';
