import { spawn } from 'node:child_process';

/** The pid of a process that has exited: no lock or temp file named after it belongs to a live run. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 999_999;
}
