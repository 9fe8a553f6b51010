#!/usr/bin/env node
// npm run bench: runway-backup against curl and aria2c on the same files.
//   far      a far CDN (first-byte delay, per-connection rate, one shared link, slow listings), served by the
//            simulator in its own process; run twice: every tool at its own defaults, and all at 8 lanes.
//   small    many small files on loopback, 8 lanes each; served by nginx when installed, else by the simulator.
//   large    a few large files on loopback, 8 lanes each; same servers as small.
//   listing  runway-backup alone: listing time, first byte on disk, no-op re-run.
// Tools run interleaved round by round (the order rotated every round); medians, min-max spread and peak RSS are
// reported. Results go to bench/RESULTS.md and bench/throughput.svg when every scenario ran (or with --write).
// Not part of `npm test`: it moves gigabytes and takes minutes.
//
//   node bench/run.mjs [--scenario far,small,large,listing] [--tools runway-backup,curl,curl+sync,node-floor,node-bare,aria2c] [--rounds 5]
//                      [--scale 1] [--no-nginx] [--write]
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, iterateAssets } from '../dist/index.js';
import { startSimulator } from '../dist/simulator/index.js';
import { startNginx } from './nginx.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const work = path.join(here, 'work');
const cli = path.join(root, 'dist', 'cli.js');
const MiB = 1024 * 1024;
const ALL_SCENARIOS = ['far', 'small', 'large', 'listing'];
const LANES = 8;
/** The far CDN of issue 8: what a user an ocean away from the CDN sees. */
const FAR = {
  cdnFirstByteMs: 40,
  cdnConnectionBytesPerSecond: 8e6,
  cdnLinkBytesPerSecond: 80e6,
  listLatencyMs: 120,
};
/** A run that takes longer than this is stuck, not slow. */
const RUN_TIMEOUT_MS = 15 * 60_000;

const { values: flags } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    tools: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    scale: { type: 'string', default: '1' },
    'no-nginx': { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
  allowPositionals: false,
});
if (flags.help) {
  console.log(
    [
      'node bench/run.mjs [--scenario S,...] [--tools T,...] [--rounds N] [--scale F] [--no-nginx] [--write]',
      '  --scenario  run only these (comma-separated or repeated); default all',
      '  --tools     run only these of runway-backup, curl, curl+sync, node-floor, node-bare, aria2c (comma-separated); default all',
      '  --rounds    interleaved rounds per tool, medians reported (default 5)',
      '  --scale     multiply file sizes (far, large) and the file count (small) by F, for quick checks (default 1)',
      '  --no-nginx  serve the loopback scenarios from the simulator even when nginx is installed',
      '  --write     write bench/RESULTS.md and throughput.svg even when not every scenario ran',
    ].join('\n'),
  );
  process.exit(0);
}
const rounds = Number(flags.rounds);
const scale = Number(flags.scale);
const chosen = (flags.scenario ?? ALL_SCENARIOS).flatMap((s) => s.split(',')).map((s) => s.trim());
const unknown = chosen.filter((s) => !ALL_SCENARIOS.includes(s));
if (!Number.isInteger(rounds) || rounds < 1 || !(scale > 0) || unknown.length > 0 || chosen.length === 0) {
  console.error(
    `Expected --rounds >= 1, --scale > 0 and --scenario among ${ALL_SCENARIOS.join(', ')}; try --help`,
  );
  process.exit(2);
}
const complete = ALL_SCENARIOS.every((s) => chosen.includes(s)) && flags.tools === undefined;

// Run the CLI the way its bin runs: with the node flags of its shebang line, if any (today none: the bin starts
// with `#!/usr/bin/env node` and sets its V8 flags itself, src/node-flags.ts).
const nodeFlags = (await fs.readFile(cli, 'utf8'))
  .split('\n', 1)[0]
  .split(/\s+/)
  .filter((w) => w.startsWith('--'));

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Three yardsticks, in the loopback scenarios only. curl+sync: curl, then `sync -f` on its output folder (the cost of
// making curl's files durable, which runway-backup pays per file). node-floor: bench/node-floor.mjs, a bare Node
// downloader with the same sha256, fsync and rename per file and nothing else (Node's own cost on this machine).
// node-bare: the same without the sha256 and the fsync (Node's http client and fs by themselves).
const TOOL_NAMES = ['runway-backup', 'curl', 'curl+sync', 'node-floor', 'node-bare', 'aria2c'];
const LOOPBACK_ONLY = ['curl+sync', 'node-floor', 'node-bare'];
const wanted = flags.tools?.split(',').map((t) => t.trim()) ?? TOOL_NAMES;
if (wanted.some((t) => !TOOL_NAMES.includes(t))) {
  console.error(`Expected --tools among ${TOOL_NAMES.join(', ')}; try --help`);
  process.exit(2);
}
const tools = {
  'runway-backup': wanted.includes('runway-backup'),
  curl: wanted.includes('curl') && has('curl'),
  'curl+sync': wanted.includes('curl+sync') && has('curl') && has('sync'),
  'node-floor': wanted.includes('node-floor'),
  'node-bare': wanted.includes('node-bare'),
  aria2c: wanted.includes('aria2c') && has('aria2c'),
};
const useNginx = !flags['no-nginx'] && has('nginx');
if (wanted.includes('aria2c') && !tools.aria2c)
  console.log('aria2c is not installed: `apt-get install aria2` to bench against it. Going on without it.');
if (wanted.includes('curl') && !tools.curl)
  console.log('curl is not installed: `apt-get install curl` to bench against it. Going on without it.');
if (!useNginx && !flags['no-nginx'])
  console.log(
    'nginx is not installed: the loopback scenarios are served by the simulator (`apt-get install nginx`).',
  );
if (!existsSync('/usr/bin/time')) {
  console.error('/usr/bin/time is needed for peak memory: `apt-get install time`');
  process.exit(2);
}

/** Runs `command` under /usr/bin/time; resolves with wall seconds and peak RSS in MiB. */
function timed(command, commandArgs, env = {}) {
  const timeFile = path.join(work, `time-${process.pid}.txt`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // %M is the peak resident set size that `/usr/bin/time -v` reports as "Maximum resident set size".
    // Its own process group: a run past the timeout is killed with everything it started (killing /usr/bin/time
    // alone left the tool running, holding stderr open, and the bench waiting for it).
    const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, command, ...commandArgs], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), RUN_TIMEOUT_MS);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        reject(new Error(`${command} exited ${code ?? signal}: ${stderr.slice(-500)}`));
        return;
      }
      const [, rssKb] = (await fs.readFile(timeFile, 'utf8')).trim().split('\n').at(-1).split(' ');
      resolve({ seconds: wall, rssMiB: Number(rssKb) / 1024 });
    });
  });
}

function folderBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    // Media only (and their .part files): not the manifest, its journal, the lock file, the run record, the
    // gallery page or SHA256SUMS (runway-backup writes them as part of its run; they are not media).
    if (
      entry.isFile() &&
      !((entry.name === 'index.html' || entry.name === 'SHA256SUMS') && entry.parentPath === dir) &&
      !entry.name.endsWith('.json') &&
      !entry.name.startsWith('manifest') &&
      !entry.name.startsWith('.')
    ) {
      total += statSync(path.join(entry.parentPath, entry.name)).size;
    }
  }
  return total;
}

/** The scenario's simulator in a child process (bench/server.mjs), driven over IPC. */
async function startServer(options, bigFiles = []) {
  const child = fork(path.join(here, 'server.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  child.on('message', (message) => waiting.shift()?.(message));
  child.on('exit', (code) => {
    for (const settle of waiting.splice(0)) settle({ ok: false, error: `server exited ${code}` });
  });
  const call = (message) =>
    new Promise((resolve, reject) => {
      waiting.push((answer) => (answer.ok ? resolve(answer) : reject(new Error(answer.error))));
      child.send(message);
    });
  const info = await call({ type: 'start', options: { urlTtlSeconds: 7 * 86400, ...options }, bigFiles });
  return {
    ...info,
    call,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** One fresh listing, through the library, gives the URLs every peer fetches. */
async function urlsOf(server, previews) {
  const client = createClient({ token: server.token, baseUrl: server.url });
  const files = [];
  for await (const asset of iterateAssets(client)) {
    files.push({ url: asset.url, name: `${files.length}-main` });
    if (!previews) continue;
    for (const [i, url] of asset.previewUrls.entries()) files.push({ url, name: `${files.length}-p${i}` });
  }
  client.close();
  return files;
}

/** How each tool is called; `lanes` undefined means the tool's own default. */
function describeTool(tool, lanes) {
  if (tool === 'runway-backup')
    return lanes ? `runway-backup --concurrency ${lanes}` : 'runway-backup (default)';
  if (tool === 'curl') return lanes ? `curl --parallel-max ${lanes}` : 'curl --parallel (50)';
  if (tool === 'curl+sync') return `${describeTool('curl', lanes)}, then sync`;
  if (tool === 'node-floor') return `node-floor, ${lanes ?? 8} lanes`;
  if (tool === 'node-bare') return `node-bare (no sha256, no fsync), ${lanes ?? 8} lanes`;
  return lanes ? `aria2c -j ${lanes}` : 'aria2c (-j5 -x1)';
}

async function runTool(tool, lanes, server, files, previews, dir) {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  if (tool === 'runway-backup') {
    const args = ['backup', '--out', dir, '--quiet'];
    if (lanes) args.push('--concurrency', String(lanes));
    if (!previews) args.push('--no-previews');
    return timed(process.execPath, [...nodeFlags, cli, ...args], {
      USEAPI_TOKEN: server.token,
      USEAPI_BASE_URL: server.url,
    });
  }
  if (tool === 'node-floor' || tool === 'node-bare') {
    const list = path.join(work, 'node-floor.json');
    await fs.writeFile(list, JSON.stringify(files.map((f) => ({ url: f.url, out: path.join(dir, f.name) }))));
    const mode = tool === 'node-bare' ? 'bare' : 'full';
    return timed(process.execPath, [path.join(here, 'node-floor.mjs'), list, String(lanes ?? 8), mode]);
  }
  if (tool === 'curl' || tool === 'curl+sync') {
    const config = path.join(work, 'curl.cfg');
    await fs.writeFile(
      config,
      files.map((f) => `url = "${f.url}"\noutput = "${path.join(dir, f.name)}"\n`).join(''),
    );
    const parallel = lanes ? ['--parallel', '--parallel-max', String(lanes)] : ['--parallel'];
    const curl = ['curl', ...parallel, '--fail', '--silent', '-K', config];
    if (tool === 'curl') return timed(curl[0], curl.slice(1));
    // `sync -f` flushes the file system the folder is on: curl's files on disk, as runway-backup leaves its own.
    return timed('sh', ['-c', '"$@" && sync -f "$0"', dir, ...curl]);
  }
  const input = path.join(work, 'aria2.txt');
  await fs.writeFile(input, files.map((f) => `${f.url}\n  out=${f.name}\n`).join(''));
  return timed('aria2c', [
    ...(lanes ? ['-j', String(lanes)] : []),
    '-i',
    input,
    '-d',
    dir,
    '--quiet=true',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '--file-allocation=none',
    '--check-certificate=false',
  ]);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Runs every tool in every mode (`lanes` per mode: a number, or undefined for the tool's default) for `rounds`
 * rounds, the order of the runs rotated each round so no tool always follows the same one.
 */
async function downloadScenario({
  name,
  title,
  serverOptions,
  bigFiles,
  previews,
  loopback,
  modes,
  far = false,
}) {
  console.log(`\n== ${title}`);
  const server = await startServer(serverOptions, bigFiles);
  let nginx;
  let servedBy = 'the simulator (child process)';
  try {
    if (loopback && useNginx) {
      const docroot = path.join(work, `${name}-docroot`);
      await server.call({ type: 'docroot', dir: docroot });
      nginx = await startNginx(docroot, path.join(work, `${name}-nginx`));
      await server.call({ type: 'configure', knobs: { cdnBaseUrl: nginx.url } });
      servedBy = 'nginx (docroot written with the simulator’s bytes; listing from the simulator)';
    }
    console.log(`  files served by ${servedBy}`);
    if (far) {
      const bytes = previews ? server.totalBytes : server.mainBytes;
      console.log(
        `  ${server.files} files, ${(bytes / MiB).toFixed(0)} MiB; the link's limit ${(bytes / serverOptions.cdnLinkBytesPerSecond).toFixed(1)} s`,
      );
    }
    const files = await urlsOf(server, previews);
    const totalBytes = previews ? server.totalBytes : server.mainBytes;
    if (files.length !== (previews ? server.files : server.mainFiles))
      throw new Error(`the listing gave ${files.length} files, the simulator has ${server.files}`);
    const present = Object.keys(tools).filter((t) => tools[t] && (loopback || !LOOPBACK_ONLY.includes(t)));
    const runs = modes.flatMap((mode) => present.map((tool) => ({ mode, tool })));
    const samples = new Map(runs.map((r) => [r, []]));
    for (let round = 0; round < rounds; round++) {
      const shift = round % runs.length;
      for (const run of [...runs.slice(shift), ...runs.slice(0, shift)]) {
        const dir = path.join(work, `${name}-${run.tool}`);
        const result = await runTool(run.tool, run.mode.lanes, server, files, previews, dir);
        const bytes = folderBytes(dir);
        if (bytes !== totalBytes)
          throw new Error(
            `${describeTool(run.tool, run.mode.lanes)} wrote ${bytes} bytes, expected ${totalBytes}`,
          );
        samples.get(run).push(result);
        console.log(
          `  round ${round + 1} ${describeTool(run.tool, run.mode.lanes).padEnd(32)} ${result.seconds.toFixed(2)} s  ${result.rssMiB.toFixed(0)} MiB`,
        );
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
    const tables = modes.map((mode) => ({
      mode,
      rows: present.map((tool) => {
        const list = samples.get(runs.find((r) => r.mode === mode && r.tool === tool));
        const seconds = median(list.map((s) => s.seconds));
        return {
          tool,
          label: describeTool(tool, mode.lanes),
          seconds,
          min: Math.min(...list.map((s) => s.seconds)),
          max: Math.max(...list.map((s) => s.seconds)),
          mbps: totalBytes / 1e6 / seconds,
          rssMiB: Math.max(...list.map((s) => s.rssMiB)),
        };
      }),
    }));
    const limits = far
      ? {
          linkSeconds: totalBytes / serverOptions.cdnLinkBytesPerSecond,
          largestSeconds:
            server.largestBytes / serverOptions.cdnConnectionBytesPerSecond +
            serverOptions.cdnFirstByteMs / 1000,
        }
      : undefined;
    return { name, title, files: files.length, totalBytes, servedBy, tables, limits };
  } finally {
    await nginx?.stop();
    await server.close();
    await fs.rm(path.join(work, `${name}-docroot`), { recursive: true, force: true });
  }
}

async function listingScenario() {
  console.log('\n== listing (1,050 assets, 100 ms per listing request)');
  const simulator = await startSimulator({ assets: 1050, listLatencyMs: 100, urlTtlSeconds: 7 * 86400 });
  const env = { ...process.env, USEAPI_TOKEN: simulator.token, USEAPI_BASE_URL: simulator.url };
  const firstByte = [];
  const sinceRequest = [];
  const listing = [];
  const noop = [];
  for (let round = 0; round < rounds; round++) {
    // Whole listing: the list command, wall time.
    listing.push((await timed(process.execPath, [...nodeFlags, cli, 'list', '--json'], env)).seconds);
    // First byte on disk: a backup, watched until any media file (or .part) has data.
    const dir = path.join(work, 'listing-backup');
    await fs.rm(dir, { recursive: true, force: true });
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...nodeFlags, cli, 'backup', '--out', dir, '--quiet'], {
      env,
      stdio: 'ignore',
    });
    let first;
    let firstRequest;
    let exited = false;
    const closed = new Promise((r) => child.on('close', r)).then(() => {
      exited = true;
    });
    while (first === undefined) {
      // A backup that ends (or stalls) before writing a byte is a failed round, not an endless wait.
      if (exited || process.hrtime.bigint() - started > BigInt(RUN_TIMEOUT_MS) * 1_000_000n) {
        child.kill('SIGKILL');
        throw new Error('the backup of the listing scenario wrote no byte');
      }
      await new Promise((r) => setTimeout(r, 1));
      if (firstRequest === undefined && simulator.inFlight > 0) {
        firstRequest = Number(process.hrtime.bigint() - started) / 1e9;
      }
      if (existsSync(dir) && folderBytes(dir) > 0) first = Number(process.hrtime.bigint() - started) / 1e9;
    }
    await closed;
    firstByte.push(first);
    sinceRequest.push(first - (firstRequest ?? 0));
    // A no-op re-run of the complete backup: time, and file requests made.
    const before = simulator.stats.cdnRequests;
    noop.push({
      seconds: (await timed(process.execPath, [...nodeFlags, cli, 'backup', '--out', dir, '--quiet'], env))
        .seconds,
      cdn: simulator.stats.cdnRequests - before,
    });
    console.log(
      `  round ${round + 1} listing ${listing.at(-1).toFixed(2)} s, first byte ${first.toFixed(3)} s (${sinceRequest.at(-1).toFixed(3)} s after the first listing request), no-op re-run ${noop.at(-1).seconds.toFixed(2)} s (${noop.at(-1).cdn} file requests)`,
    );
  }
  await fs.rm(path.join(work, 'listing-backup'), { recursive: true, force: true });
  const requests = simulator.stats.listRequests / (rounds * 3);
  await simulator.close();
  return {
    listingSeconds: median(listing),
    firstByteSeconds: median(firstByte),
    firstByteAfterRequestSeconds: median(sinceRequest),
    noopSeconds: median(noop.map((n) => n.seconds)),
    noopFileRequests: Math.max(...noop.map((n) => n.cdn)),
    requestsPerListing: requests,
  };
}

function svgChart(scenarios) {
  const width = 760;
  const barHeight = 22;
  const colors = {
    'runway-backup': '#2f6fdf',
    curl: '#7a7a7a',
    'curl+sync': '#b0b0b0',
    'node-floor': '#5fa35f',
    'node-bare': '#a6d39a',
    aria2c: '#d08a1a',
  };
  const lines = [];
  let y = 40;
  for (const s of scenarios) {
    for (const table of s.tables) {
      lines.push(
        `<text x="10" y="${y}" font-size="15" font-weight="bold">${s.name}, ${table.mode.name} (MB/s, higher is better)</text>`,
      );
      y += 10;
      const max = Math.max(...table.rows.map((r) => r.mbps));
      for (const r of table.rows) {
        const w = Math.max(2, (r.mbps / max) * (width - 320));
        lines.push(`<text x="10" y="${y + 16}" font-size="13">${r.label}</text>`);
        lines.push(
          `<rect x="250" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colors[r.tool]}"/>`,
        );
        lines.push(
          `<text x="${(256 + w).toFixed(1)}" y="${y + 16}" font-size="13">${r.mbps.toFixed(1)}</text>`,
        );
        y += barHeight + 6;
      }
      y += 24;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" role="img" aria-label="Throughput per tool per scenario"><title>Throughput per tool per scenario (MB/s)</title><rect width="100%" height="100%" fill="white"/>${lines.join('')}</svg>\n`;
}

function scenarioLines(s) {
  const lines = [`## ${s.title}: ${s.files} files, ${(s.totalBytes / MiB).toFixed(0)} MiB`, ''];
  lines.push(`Files served by ${s.servedBy}.`);
  if (s.limits) {
    lines.push(
      `The link's limit (${(s.totalBytes / MiB).toFixed(0)} MiB / ${FAR.cdnLinkBytesPerSecond / 1e6} MB/s): **${s.limits.linkSeconds.toFixed(1)} s**; the largest file alone on one connection: ${s.limits.largestSeconds.toFixed(1)} s.`,
    );
  }
  lines.push('');
  for (const table of s.tables) {
    const peers = table.rows.map((r) => r.tool).filter((t) => t !== 'runway-backup');
    lines.push(`### ${table.mode.name}`, '');
    const limitColumn = s.limits ? ' x link limit |' : '';
    lines.push(
      `| tool | median s | min-max s |${limitColumn} MB/s | peak RSS MiB |${peers.map((p) => ` speed vs ${p} |`).join('')}`,
    );
    lines.push(`|---|---|---|${s.limits ? '---|' : ''}---|---|${peers.map(() => '---|').join('')}`);
    for (const r of table.rows) {
      const ratios = peers.map((p) => {
        const peer = table.rows.find((x) => x.tool === p);
        return ` ${(peer.seconds / r.seconds).toFixed(2)}x |`;
      });
      const limit = s.limits ? ` ${(r.seconds / s.limits.linkSeconds).toFixed(2)} |` : '';
      lines.push(
        `| ${r.label} | ${r.seconds.toFixed(2)} | ${r.min.toFixed(2)}-${r.max.toFixed(2)} |${limit} ${r.mbps.toFixed(1)} | ${r.rssMiB.toFixed(0)} |${ratios.join('')}`,
      );
    }
    lines.push('');
  }
  return lines;
}

async function main() {
  await fs.mkdir(work, { recursive: true });
  const started = new Date();
  // Read now, not when the tables are written: a commit made while the bench runs is not what dist/ was built from.
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const scenarios = [];
  if (chosen.includes('far')) {
    scenarios.push(
      await downloadScenario({
        name: 'far',
        title: `far CDN (${FAR.cdnFirstByteMs} ms to first byte, ${FAR.cdnConnectionBytesPerSecond / 1e6} MB/s per connection, ${FAR.cdnLinkBytesPerSecond / 1e6} MB/s link, ${FAR.listLatencyMs} ms per listing request)`,
        // ~750 files, ~670 MiB: 338 assets of the default media mix, two of whose videos are 96 and 64 MiB.
        serverOptions: {
          ...FAR,
          assets: 338,
          seed: 8,
          mainSize: { min: Math.round(300_000 * scale), max: Math.round(2_450_000 * scale) },
          previewSize: { min: Math.round(50_000 * scale), max: Math.round(350_000 * scale) },
        },
        bigFiles: [Math.round(96 * MiB * scale), Math.round(64 * MiB * scale)],
        previews: true,
        loopback: false,
        far: true,
        modes: [
          { name: 'every tool at its own defaults', lanes: undefined },
          { name: `every tool at ${LANES} lanes`, lanes: LANES },
        ],
      }),
    );
  }
  if (chosen.includes('small')) {
    const assets = Math.max(1, Math.round(1138 * scale));
    scenarios.push(
      await downloadScenario({
        name: 'small',
        title: `many small files on loopback (${assets} assets)`,
        serverOptions: {
          assets,
          mainSize: { min: 20_000, max: 100_000 },
          previewSize: { min: 2_000, max: 20_000 },
        },
        previews: true,
        loopback: true,
        modes: [{ name: `${LANES} lanes`, lanes: LANES }],
      }),
    );
  }
  if (chosen.includes('large')) {
    const size = Math.round(256 * MiB * scale);
    scenarios.push(
      await downloadScenario({
        name: 'large',
        title: `large files on loopback (8 videos of ${(size / MiB).toFixed(0)} MiB)`,
        serverOptions: { assets: 8, fixedSizes: size, mediaMix: { video: 1 } },
        previews: false,
        loopback: true,
        modes: [{ name: `${LANES} lanes`, lanes: LANES }],
      }),
    );
  }
  const listing = chosen.includes('listing') ? await listingScenario() : undefined;

  const lines = [
    '# Benchmark results',
    '',
    `Date: ${started.toISOString()}. Commit ${commit}. Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    `Command: \`node bench/run.mjs${process.argv
      .slice(2)
      .map((a) => ` ${a}`)
      .join('')}\` (\`npm run bench\` runs it without flags: every scenario, 5 rounds).`,
    `${rounds} interleaved rounds (every tool once per round, the order rotated each round); the median, the min-max`,
    'spread, and the highest peak RSS (`/usr/bin/time`, "Maximum resident set size") of each tool. Every tool fetches',
    "the same files into a fresh folder, and each run's output is checked for the exact byte total. runway-backup's",
    'time includes its own listing, manifest and fsyncs; the peers get a ready URL list. aria2c always runs with',
    '`--file-allocation=none`. "speed vs X" is X\'s median time / this tool\'s. On loopback, "curl+sync" is curl',
    'followed by `sync -f` on its folder: what making its files durable costs, which runway-backup pays per file;',
    '"node-floor" is `bench/node-floor.mjs`, a bare Node downloader doing the same sha256, fsync and rename per file',
    'and nothing else: the distance from it to runway-backup is runway-backup\'s own overhead; "node-bare" is the same',
    "without the sha256 and the fsync: Node's http client and fs by themselves, the nearest any Node downloader comes",
    'to curl on this machine.',
    '',
  ];
  if (chosen.includes('small') || chosen.includes('large')) {
    lines.splice(
      -1,
      0,
      `Loopback scenarios served by ${useNginx ? 'nginx' : 'the simulator (nginx is not installed)'}.`,
    );
  }
  for (const s of scenarios) lines.push(...scenarioLines(s));
  if (listing) {
    lines.push('## listing: 1,050 assets, 100 ms simulated latency per listing request', '');
    lines.push('| measure | value |', '|---|---|');
    lines.push(`| whole listing (\`list\`) | ${listing.listingSeconds.toFixed(2)} s |`);
    lines.push(`| listing requests per walk | ${listing.requestsPerListing.toFixed(0)} |`);
    lines.push(
      `| first file byte on disk (\`backup\`), from the process start | ${listing.firstByteSeconds.toFixed(3)} s |`,
    );
    lines.push(
      `| first file byte on disk, from the first listing request | ${listing.firstByteAfterRequestSeconds.toFixed(3)} s |`,
    );
    lines.push(
      `| no-op re-run of the complete backup | ${listing.noopSeconds.toFixed(2)} s, ${listing.noopFileRequests} file requests |`,
    );
    lines.push('');
  }
  if (scenarios.length > 0) lines.push('![throughput](throughput.svg)', '');
  await fs.rm(work, { recursive: true, force: true });
  console.log(`\n${lines.join('\n')}`);
  if (complete || flags.write) {
    await fs.writeFile(path.join(here, 'RESULTS.md'), `${lines.join('\n')}`);
    await fs.writeFile(path.join(here, 'throughput.svg'), svgChart(scenarios));
    console.log('Written to bench/RESULTS.md and bench/throughput.svg.');
  } else {
    console.log('Not written to bench/RESULTS.md: not every scenario ran (pass --write to write it anyway).');
  }
}

await main();
