import { UsageError } from '../errors.js';
import { startSimulator } from '../simulator/index.js';
import { isMediaType, type MediaType } from '../types.js';
import { parseFlags, parseInteger } from './args.js';

const SIMULATE_FLAGS = {
  port: { type: 'string' },
  assets: { type: 'string' },
  latency: { type: 'string' },
  seed: { type: 'string' },
  'url-ttl': { type: 'string' },
  'hostile-names': { type: 'boolean' },
  'file-size': { type: 'string' },
  'media-mix': { type: 'string' },
} as const;

/** Serves the simulator in the foreground until Ctrl-C; for trying `list` and `backup` by hand, and for bench. */
export async function runSimulate(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, SIMULATE_FLAGS);
  const simulator = await startSimulator({
    port: parseInteger('port', values.port, 0, 65535) ?? 0,
    assets: parseInteger('assets', values.assets, 0, 100_000) ?? 120,
    listLatencyMs: parseInteger('latency', values.latency, 0, 60_000) ?? 0,
    seed: parseInteger('seed', values.seed, 0, 2 ** 31) ?? 1,
    urlTtlSeconds: parseInteger('url-ttl', values['url-ttl'], 1, 7 * 86_400) ?? 3600,
    hostileNames: values['hostile-names'] ?? false,
    ...(values['file-size']
      ? { fixedSizes: parseInteger('file-size', values['file-size'], 0, 2 ** 40) ?? 0 }
      : {}),
    ...(values['media-mix'] ? { mediaMix: parseMix(values['media-mix']) } : {}),
  });
  process.stdout.write(
    `Simulator listening. In another terminal:\n  export USEAPI_BASE_URL=${simulator.url} USEAPI_TOKEN=${simulator.token}\n  runway-backup list\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await simulator.close();
  return 0;
}

/** `video=1,image=0` → weights. */
function parseMix(text: string): Partial<Record<MediaType, number>> {
  const mix: Partial<Record<MediaType, number>> = {};
  for (const part of text.split(',')) {
    const [type, weight] = part.split('=');
    if (!isMediaType(type) || weight === undefined || !/^\d+(\.\d+)?$/.test(weight)) {
      throw new UsageError(
        `Expected \`--media-mix\` like video=6,image=3,audio=1, got "${text.slice(0, 40)}"`,
      );
    }
    mix[type] = Number(weight);
  }
  return mix;
}
