// The CDN is HTTPS: nodeTransport over a real TLS server on 127.0.0.1. The server's self-signed certificate
// (test/fixtures/tls, valid for 127.0.0.1 and localhost until 2125) is trusted through NODE_EXTRA_CA_CERTS, which
// Node reads at start-up only, so the transport runs in a child process on the built package.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tls = path.join(root, 'test', 'fixtures', 'tls');
const body = randomBytes(200_000);
// Large enough for many TLS reads: the transfer frees written chunks 32 behind (src/engine/chunk-release.ts).
const big = randomBytes(6 * 1024 * 1024);
const seen: string[] = [];
let server: https.Server;
let base = '';

beforeAll(async () => {
  server = https.createServer(
    { key: readFileSync(path.join(tls, 'key.pem')), cert: readFileSync(path.join(tls, 'cert.pem')) },
    (req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/moved') res.writeHead(302, { location: '/file.mp4' }).end();
      else if (req.url === '/big.mp4')
        res.writeHead(200, { 'content-length': big.length, etag: '"b1"' }).end(big);
      else res.writeHead(200, { 'content-length': body.length, etag: '"t1"' }).end(body);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface Outcome {
  status?: number;
  sha256?: string;
  bytes?: number;
  error?: { name: string; code: string; retryable: boolean; message: string };
}

/** nodeTransport from dist/, in a child process with `env`; what it got, as JSON. */
function fetchInChild(url: string, env: Record<string, string>): Promise<Outcome> {
  const script = `
    import { createHash } from 'node:crypto';
    import { nodeTransport } from ${JSON.stringify(path.join(root, 'dist', 'engine', 'transport.js'))};
    try {
      const r = await nodeTransport({ url: ${JSON.stringify(url)}, headers: {}, timeoutMs: 5000,
        signal: new AbortController().signal });
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of r.body) { hash.update(chunk); bytes += chunk.length; }
      console.log(JSON.stringify({ status: r.status, sha256: hash.digest('hex'), bytes }));
    } catch (e) {
      console.log(JSON.stringify({ error: { name: e.name, code: e.code, retryable: e.retryable, message: e.message } }));
    }
    process.exit(0);`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Outcome);
      },
    );
  });
}

/** A whole FileTransfer from dist/ over TLS, in a child process: the file's sha256 on disk, the transfer's, and how
 * many chunks it freed. */
function transferInChild(
  url: string,
  dir: string,
): Promise<{ onDisk: string; reported: string; released: number }> {
  const script = `
    import { createHash } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    import { FileTransfer } from ${JSON.stringify(path.join(root, 'dist', 'engine', 'transfer.js'))};
    import { chunkReleaser } from ${JSON.stringify(path.join(root, 'dist', 'engine', 'chunk-release.js'))};
    let state;
    const dest = ${JSON.stringify(path.join(dir, 'big.mp4'))};
    const t = new FileTransfer({ dest, url: ${JSON.stringify(url)},
      resumeStore: { get: () => state, set: (s) => { state = s; } } });
    await t.run();
    const result = await t.result;
    const onDisk = createHash('sha256').update(readFileSync(dest)).digest('hex');
    console.log(JSON.stringify({ onDisk, reported: result.sha256, released: chunkReleaser.released }));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      {
        env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: path.join(tls, 'cert.pem') },
        timeout: 20_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'));
      },
    );
  });
}

describe('nodeTransport over HTTPS', () => {
  it('a whole transfer over TLS frees its written chunks and still lands every byte', async () => {
    const dir = await tempDir();
    const outcome = await transferInChild(`${base}/big.mp4`, dir);
    const expected = createHash('sha256').update(big).digest('hex');
    expect(outcome.onDisk).toBe(expected);
    expect(outcome.reported).toBe(expected);
    expect(outcome.released).toBeGreaterThan(0);
  });

  it('fetches through TLS and follows a redirect, byte for byte', async () => {
    seen.length = 0;
    const outcome = await fetchInChild(`${base}/moved`, { NODE_EXTRA_CA_CERTS: path.join(tls, 'cert.pem') });
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(200);
    expect(outcome.bytes).toBe(body.length);
    expect(outcome.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(seen).toEqual(['/moved', '/file.mp4']);
  });

  it('refuses a certificate it cannot verify, as a DownloadError that names it', async () => {
    seen.length = 0;
    const outcome = await fetchInChild(`${base}/file.mp4`, {});
    expect(outcome.status).toBeUndefined();
    expect(outcome.error?.name).toBe('DownloadError');
    expect(outcome.error?.code).toBe('ERR_DOWNLOAD_NETWORK');
    expect(outcome.error?.message).toMatch(/certificate|SELF_SIGNED/i);
    // No request got through the handshake.
    expect(seen).toEqual([]);
  });
});
