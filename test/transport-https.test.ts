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

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tls = path.join(root, 'test', 'fixtures', 'tls');
const body = randomBytes(200_000);
const seen: string[] = [];
let server: https.Server;
let base = '';

beforeAll(async () => {
  server = https.createServer(
    { key: readFileSync(path.join(tls, 'key.pem')), cert: readFileSync(path.join(tls, 'cert.pem')) },
    (req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/moved') res.writeHead(302, { location: '/file.mp4' }).end();
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
    import { nodeTransport } from ${JSON.stringify(path.join(root, 'dist', 'transport.js'))};
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

describe('nodeTransport over HTTPS', () => {
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
