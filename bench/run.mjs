#!/usr/bin/env node
// npm run bench: runway-backup against curl and aria2c on the same URLs from the embedded simulator.
// Alternating rounds (A B C, A B C, ...), the median of each reported, results written to bench/RESULTS.md and
// bench/throughput.svg. Not part of `npm test`: it moves gigabytes and takes minutes.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, iterateAssets } from '../dist/index.js';
import { startSimulator } from '../dist/simulator/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const work = path.join(here, 'work');
const cli = path.join(root, 'dist', 'cli.js');
const args = process.argv.slice(2);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 3);
const only = args
  .find((a) => a.startsWith('--only='))
  ?.split('=')[1]
  ?.split(',');
const CONCURRENCY = 8;
// Run the CLI the way its bin runs: with the node flags of its shebang line (`#!/usr/bin/env -S node ...`).
const nodeFlags = (await fs.readFile(cli, 'utf8'))
  .split('\n', 1)[0]
  .split(/\s+/)
  .filter((w) => w.startsWith('--'));
const MiB = 1024 * 1024;

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tools = {
  'runway-backup': true,
  curl: has('curl'),
  aria2c: has('aria2c'),
};
if (!tools.aria2c)
  console.log('aria2c is not installed: `apt-get install aria2` to bench against it. Going on without it.');
if (!tools.curl)
  console.log('curl is not installed: `apt-get install curl` to bench against it. Going on without it.');
if (!existsSync('/usr/bin/time')) {
  console.error('/usr/bin/time is needed for peak memory: `apt-get install time`');
  process.exit(2);
}

/** Runs `command` under /usr/bin/time; resolves with wall seconds and peak RSS in MiB. */
function timed(command, commandArgs, env = {}) {
  const timeFile = path.join(work, `time-${process.pid}.txt`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, command, ...commandArgs], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', async (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        reject(new Error(`${command} exited ${code}: ${stderr.slice(-500)}`));
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
    // Media only (and their .part files): not the manifest, its journal, or the lock file.
    if (
      entry.isFile() &&
      !entry.name.endsWith('.json') &&
      !entry.name.startsWith('manifest') &&
      !entry.name.startsWith('.')
    ) {
      total += statSync(path.join(entry.parentPath, entry.name)).size;
    }
  }
  return total;
}

/** One fresh listing, through the library, gives the URLs every peer fetches. */
async function urlsOf(simulator, previews) {
  const client = createClient({ token: simulator.token, baseUrl: simulator.url });
  const files = [];
  for await (const asset of iterateAssets(client)) {
    files.push({ url: asset.url, name: `${files.length}-main` });
    if (!previews) continue;
    for (const [i, url] of asset.previewUrls.entries()) files.push({ url, name: `${files.length}-p${i}` });
  }
  client.close();
  return files;
}

async function runTool(tool, simulator, files, previews, dir) {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  if (tool === 'runway-backup') {
    const flags = ['backup', '--out', dir, '--concurrency', String(CONCURRENCY), '--quiet'];
    if (!previews) flags.push('--no-previews');
    return timed(process.execPath, [...nodeFlags, cli, ...flags], {
      USEAPI_TOKEN: simulator.token,
      USEAPI_BASE_URL: simulator.url,
    });
  }
  if (tool === 'curl') {
    const config = path.join(work, 'curl.cfg');
    await fs.writeFile(
      config,
      files.map((f) => `url = "${f.url}"\noutput = "${path.join(dir, f.name)}"\n`).join(''),
    );
    return timed('curl', [
      '--parallel',
      '--parallel-max',
      String(CONCURRENCY),
      '--fail',
      '--silent',
      '-K',
      config,
    ]);
  }
  const input = path.join(work, 'aria2.txt');
  await fs.writeFile(input, files.map((f) => `${f.url}\n  out=${f.name}\n`).join(''));
  return timed('aria2c', [
    '-j',
    String(CONCURRENCY),
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

async function downloadScenario(name, simOptions, previews) {
  console.log(`\n== ${name}`);
  const simulator = await startSimulator({ urlTtlSeconds: 7 * 86400, ...simOptions });
  const files = await urlsOf(simulator, previews);
  const totalBytes = simulator
    .assets()
    .reduce(
      (n, a) => n + a.files.filter((f) => previews || f.role === 'main').reduce((m, f) => m + f.size, 0),
      0,
    );
  const present = Object.entries(tools)
    .filter(([, ok]) => ok)
    .map(([tool]) => tool);
  const samples = Object.fromEntries(present.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    for (const tool of present) {
      const dir = path.join(work, `${name}-${tool}`);
      const result = await runTool(tool, simulator, files, previews, dir);
      const bytes = folderBytes(dir);
      if (bytes !== totalBytes) throw new Error(`${tool} wrote ${bytes} bytes, expected ${totalBytes}`);
      samples[tool].push(result);
      console.log(
        `  round ${round + 1} ${tool.padEnd(14)} ${result.seconds.toFixed(2)} s  ${result.rssMiB.toFixed(0)} MiB`,
      );
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
  await simulator.close();
  const rows = present.map((tool) => {
    const seconds = median(samples[tool].map((s) => s.seconds));
    const rssMiB = median(samples[tool].map((s) => s.rssMiB));
    return { tool, seconds, mbps: totalBytes / 1e6 / seconds, rssMiB };
  });
  return { name, files: files.length, totalBytes, rows };
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
    while (first === undefined) {
      await new Promise((r) => setTimeout(r, 1));
      if (firstRequest === undefined && simulator.inFlight > 0) {
        firstRequest = Number(process.hrtime.bigint() - started) / 1e9;
      }
      if (existsSync(dir) && folderBytes(dir) > 0) first = Number(process.hrtime.bigint() - started) / 1e9;
    }
    await new Promise((r) => child.on('close', r));
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
  const width = 720;
  const barHeight = 22;
  const colors = { 'runway-backup': '#2f6fdf', curl: '#7a7a7a', aria2c: '#d08a1a' };
  const lines = [];
  let y = 40;
  for (const s of scenarios) {
    lines.push(
      `<text x="10" y="${y}" font-size="15" font-weight="bold">${s.name} (MB/s, higher is better)</text>`,
    );
    y += 10;
    const max = Math.max(...s.rows.map((r) => r.mbps));
    for (const r of s.rows) {
      const w = Math.max(2, (r.mbps / max) * (width - 260));
      lines.push(`<text x="10" y="${y + 16}" font-size="13">${r.tool}</text>`);
      lines.push(
        `<rect x="130" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colors[r.tool]}"/>`,
      );
      lines.push(
        `<text x="${(136 + w).toFixed(1)}" y="${y + 16}" font-size="13">${r.mbps.toFixed(1)}</text>`,
      );
      y += barHeight + 6;
    }
    y += 24;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" role="img" aria-label="Throughput per tool per scenario"><title>Throughput per tool per scenario (MB/s)</title><rect width="100%" height="100%" fill="white"/>${lines.join('')}</svg>\n`;
}

async function main() {
  await fs.mkdir(work, { recursive: true });
  const started = new Date();
  const scenarios = [];
  if (!only || only.includes('many-small')) {
    scenarios.push(
      await downloadScenario(
        'many-small',
        { assets: 1000, mainSize: { min: 20_000, max: 100_000 }, previewSize: { min: 2_000, max: 20_000 } },
        true,
      ),
    );
  }
  if (!only || only.includes('large')) {
    scenarios.push(
      await downloadScenario('large', { assets: 8, fixedSizes: 256 * MiB, mediaMix: { video: 1 } }, false),
    );
  }
  const listing = !only || only.includes('listing') ? await listingScenario() : undefined;

  const peers = ['curl', 'aria2c'].filter((t) => tools[t]);
  const lines = [
    '# Benchmark results',
    '',
    `Date: ${started.toISOString()}. Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    `Command: \`npm run bench\` (${rounds} alternating rounds per tool, medians). Every tool fetches the same URLs`,
    `from the embedded simulator on 127.0.0.1 with ${CONCURRENCY} parallel transfers into a fresh folder; runway-backup's`,
    'time includes its own listing, manifest and fsyncs; the peers get a ready URL list. Peak RSS from `/usr/bin/time -v`.',
    '',
  ];
  for (const s of scenarios) {
    lines.push(`## ${s.name}: ${s.files} files, ${(s.totalBytes / 1e6).toFixed(1)} MB`, '');
    lines.push(`| tool | wall s | MB/s | peak RSS MiB |${peers.map((p) => ` speed vs ${p} |`).join('')}`);
    lines.push(`|---|---|---|---|${peers.map(() => '---|').join('')}`);
    for (const r of s.rows) {
      const ratios = peers.map((p) => {
        const peer = s.rows.find((x) => x.tool === p);
        return ` ${(r.mbps / peer.mbps).toFixed(2)}x |`;
      });
      lines.push(
        `| ${r.tool} | ${r.seconds.toFixed(2)} | ${r.mbps.toFixed(1)} | ${r.rssMiB.toFixed(0)} |${ratios.join('')}`,
      );
    }
    lines.push('');
  }
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
  lines.push('![throughput](throughput.svg)', '');
  await fs.writeFile(path.join(here, 'RESULTS.md'), `${lines.join('\n')}`);
  await fs.writeFile(path.join(here, 'throughput.svg'), svgChart(scenarios));
  await fs.rm(work, { recursive: true, force: true });
  console.log(`\n${lines.join('\n')}`);
}

await main();
