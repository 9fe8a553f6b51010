/**
 * `--metrics-file`: the run's outcome in the Prometheus text format, for node_exporter's textfile collector (point
 * it at a `*.prom` file in the collector's folder). Written atomically at the end of every run, so the collector
 * never reads half a file. Every metric is named `runway_backup_*` and labelled with the backup folder (`out`).
 */
import type { RecordedSummary } from './run-record.js';

export interface RunMetrics {
  out: string;
  state: string;
  exitCode: number;
  startedAt: Date;
  endedAt: Date;
  summary: RecordedSummary | undefined;
  /** Assets the manifest holds after the run; undefined when it could not be read. */
  assetsInBackup: number | undefined;
}

/** A label value as the text format escapes it: backslash, double quote and newline. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The metrics, in order: name, help, type, value (undefined: left out). */
export function metricsText(m: RunMetrics): string {
  const s = m.summary ?? {};
  const deleted = (s as { deletedOnRunway?: unknown }).deletedOnRunway;
  const rows: [string, string, 'gauge', number | undefined][] = [
    [
      'last_start_timestamp_seconds',
      'When the last run started (Unix time).',
      'gauge',
      m.startedAt.getTime() / 1000,
    ],
    [
      'last_end_timestamp_seconds',
      'When the last run ended (Unix time).',
      'gauge',
      m.endedAt.getTime() / 1000,
    ],
    ['last_exit_code', 'Exit code of the last run (README, "Exit codes").', 'gauge', m.exitCode],
    [
      'last_success',
      '1 when the last run backed up everything in reach (exit 0), else 0.',
      'gauge',
      m.exitCode === 0 ? 1 : 0,
    ],
    ['last_duration_seconds', 'How long the last run took.', 'gauge', s.seconds],
    ['files_downloaded', 'Files the last run downloaded.', 'gauge', s.filesDownloaded ?? 0],
    ['bytes_downloaded', 'Bytes the last run downloaded.', 'gauge', s.bytesDownloaded ?? 0],
    ['files_skipped', 'Files the last run found already backed up.', 'gauge', s.filesSkipped ?? 0],
    ['files_failed', 'Files that failed in the last run.', 'gauge', s.filesFailed ?? 0],
    ['assets_seen', 'Assets the last run listed.', 'gauge', s.assetsSeen ?? 0],
    ['assets_in_backup', 'Assets the manifest holds.', 'gauge', m.assetsInBackup],
    ['capped_windows', 'Listing windows that may hide older assets.', 'gauge', s.cappedWindows?.length ?? 0],
    ['incomplete_windows', 'Listings cut short (exit 1).', 'gauge', s.incompleteWindows?.length ?? 0],
    ['gone_files', 'Files deleted on Runway between listing and download.', 'gauge', s.gone?.length ?? 0],
    [
      'deleted_on_runway',
      'Assets in the backup that Runway no longer has.',
      'gauge',
      typeof deleted === 'number' ? deleted : undefined,
    ],
  ];
  const out = `out="${label(m.out)}"`;
  const lines: string[] = [];
  for (const [name, help, type, value] of rows) {
    if (value === undefined || !Number.isFinite(value)) continue;
    lines.push(
      `# HELP runway_backup_${name} ${help}`,
      `# TYPE runway_backup_${name} ${type}`,
      `runway_backup_${name}{${out}} ${value}`,
    );
  }
  lines.push(
    "# HELP runway_backup_last_state The last run's state (status): 1 for the state it ended in.",
    '# TYPE runway_backup_last_state gauge',
    `runway_backup_last_state{${out},state="${label(m.state)}"} 1`,
  );
  return `${lines.join('\n')}\n`;
}
