#!/usr/bin/env node
// The simulator of one bench scenario, in its own process (started by bench/run.mjs with an IPC channel), so
// that serving and pacing never share an event loop with the bench or the tool being measured.
//
// Messages from the parent: { type: 'start', options, bigFiles } once, then any of
// { type: 'docroot', dir } (write every file where a static server would serve it), { type: 'configure', knobs },
// { type: 'stats' }. Each answered with { type, ok: true, ... } or { type, ok: false, error }.
// The process exits when the parent disconnects.
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startSimulator } from '../dist/simulator/index.js';

if (!process.send) {
  console.error('bench/server.mjs is started by bench/run.mjs');
  process.exit(2);
}

let simulator;

/** Every file the listing hands out, previews included. */
function files() {
  return simulator.assets().flatMap((asset) => asset.files);
}

async function start(options, bigFiles = []) {
  simulator = await startSimulator(options);
  // The big videos of the account, spread through the list (a third of the way down, two thirds, ...):
  // neither first, which favours whoever starts them early, nor last. Each is resized as a new version.
  const videos = simulator.assets().filter((asset) => asset.mediaType === 'video');
  if (videos.length < bigFiles.length)
    throw new Error(`only ${videos.length} videos for ${bigFiles.length} big ones`);
  for (const [i, size] of bigFiles.entries()) {
    const video = videos[Math.floor(((i + 1) * videos.length) / (bigFiles.length + 1))];
    simulator.mutateFile(video.assetId, 'main', 0, { size });
  }
  const all = files();
  return {
    url: simulator.url,
    token: simulator.token,
    files: all.length,
    mainFiles: all.filter((f) => f.role === 'main').length,
    totalBytes: all.reduce((n, f) => n + f.size, 0),
    mainBytes: all.filter((f) => f.role === 'main').reduce((n, f) => n + f.size, 0),
    largestBytes: Math.max(0, ...all.map((f) => f.size)),
  };
}

/** The same bytes the simulator serves, laid out by CDN path, for nginx to serve instead. */
async function writeDocroot(dir) {
  for (const file of files()) {
    const target = path.join(dir, file.path);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await pipeline(simulator.fileContent(file), createWriteStream(target));
  }
}

async function handle(message) {
  switch (message.type) {
    case 'start':
      return start(message.options, message.bigFiles);
    case 'docroot':
      await writeDocroot(message.dir);
      return {};
    case 'configure':
      simulator.configure(message.knobs);
      return {};
    case 'stats':
      return { stats: { ...simulator.stats, cdnLog: [], listQueries: [] }, inFlight: simulator.inFlight };
    default:
      throw new Error(`unknown message ${message.type}`);
  }
}

process.on('message', (message) => {
  handle(message).then(
    (answer) => process.send({ type: message.type, ok: true, ...answer }),
    (error) => process.send({ type: message.type, ok: false, error: String(error?.message ?? error) }),
  );
});
process.on('disconnect', () => {
  const done = simulator ? simulator.close() : Promise.resolve();
  done.finally(() => process.exit(0));
});
