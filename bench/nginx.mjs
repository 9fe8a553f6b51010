// nginx for the loopback scenarios: a real static server that costs little CPU, serving a docroot the bench wrote
// with the simulator's bytes. Started in the foreground as our own child and stopped by its pid.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/** A port that was free a moment ago (nginx binds it right after). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/nginx-ready`);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('nginx did not start listening');
}

/** Starts nginx serving `docroot`; `work` holds its config, pid, logs and temp folders. */
export async function startNginx(docroot, work) {
  await fs.mkdir(path.join(work, 'tmp'), { recursive: true });
  const port = await freePort();
  const tmp = (name) => `${name}_temp_path ${path.join(work, 'tmp', name)};`;
  const config = `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${path.join(work, 'nginx.pid')};
error_log ${path.join(work, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  default_type application/octet-stream;
  types { video/mp4 mp4; image/png png; image/jpeg jpg; image/webp webp; audio/mpeg mp3; audio/wav wav; }
  ${tmp('client_body')} ${tmp('proxy')} ${tmp('fastcgi')} ${tmp('uwsgi')} ${tmp('scgi')}
  server {
    listen 127.0.0.1:${port};
    root ${docroot};
  }
}
`;
  const configFile = path.join(work, 'nginx.conf');
  await fs.writeFile(configFile, config);
  const child = spawn('nginx', ['-p', work, '-e', path.join(work, 'error.log'), '-c', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  try {
    await waitForPort(port, child);
  } catch (error) {
    child.kill('SIGTERM');
    throw new Error(`${error.message}: ${stderr.slice(-500)}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('close', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}
