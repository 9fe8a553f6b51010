#!/usr/bin/env node
// A bare Node.js downloader, for the bench only: what node:http and node:fs cost on this machine without any of
// runway-backup's bookkeeping (no listing, manifest, journal, lanes, retries, resume or gallery), but with the same
// durability and integrity work per file: sha256 of every byte, fsync, then rename from a `.part`.
// runway-backup's distance to it is its own overhead; its distance to curl is Node's plus the fsyncs.
//
//   node bench/node-floor.mjs LIST.json LANES [nosync|bare]
// LIST.json: [{ "url": "...", "out": "/abs/path" }, ...]
// nosync: no fsync. bare (the bench's "node-bare"): no sha256 and no fsync, only socket to `.part` to name: what
// Node's http client and fs cost by themselves, so how close to curl (which neither hashes nor fsyncs) any Node
// downloader can come on this machine.
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';

const [listFile, lanesArg, mode = 'full'] = process.argv.slice(2);
if (!['full', 'nosync', 'bare'].includes(mode)) throw new Error(`unknown mode ${mode}`);
const fsync = mode === 'full';
const hashing = mode !== 'bare';
const jobs = JSON.parse(readFileSync(listFile, 'utf8'));
const lanes = Number(lanesArg ?? 8);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function fetchTo(job) {
  return new Promise((resolve, reject) => {
    http
      .get(job.url, { agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${job.url}: HTTP ${res.statusCode}`));
          return;
        }
        const part = `${job.out}.part`;
        const hash = createHash('sha256');
        (async () => {
          const handle = await fs.open(part, 'w');
          let position = 0;
          for await (const chunk of res) {
            await handle.write(chunk, 0, chunk.length, position);
            if (hashing) hash.update(chunk);
            position += chunk.length;
          }
          if (hashing) hash.digest('hex');
          if (fsync) await handle.sync();
          await handle.close();
          await fs.rename(part, job.out);
        })().then(resolve, reject);
      })
      .on('error', reject);
  });
}

let next = 0;
async function lane() {
  while (next < jobs.length) await fetchTo(jobs[next++]);
}
await Promise.all(Array.from({ length: lanes }, lane));
agent.destroy();
