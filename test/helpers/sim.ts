import { afterEach } from 'vitest';
import { createClient } from '../../src/api/client.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

const running: Simulator[] = [];

/** A simulator on 127.0.0.1 for one test; closed afterwards. */
export async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = await startSimulator(options);
  running.push(simulator);
  return simulator;
}

/** A client of `simulator` with fast retries. */
export function simClient(simulator: Simulator, extra: Partial<Parameters<typeof createClient>[0]> = {}) {
  return createClient({ token: simulator.token, baseUrl: simulator.url, backoffBaseMs: 5, ...extra });
}

afterEach(async () => {
  while (running.length) await running.pop()!.close();
});
