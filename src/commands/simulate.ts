import { UsageError } from '../errors.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../simulator/index.js';
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
  'cdn-first-byte': { type: 'string' },
  'cdn-connection-rate': { type: 'string' },
  'cdn-link-rate': { type: 'string' },
  'cdn-base-url': { type: 'string' },
  'no-validators': { type: 'boolean' },
} as const;

/** Serves the simulator in the foreground until Ctrl-C; for trying `list` and `backup` by hand, and for bench. */
export async function runSimulate(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, SIMULATE_FLAGS);
  const simulator = await startOrExplain({
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
    cdnFirstByteMs: parseInteger('cdn-first-byte', values['cdn-first-byte'], 0, 60_000) ?? 0,
    cdnConnectionBytesPerSecond: parseRate('cdn-connection-rate', values['cdn-connection-rate']),
    cdnLinkBytesPerSecond: parseRate('cdn-link-rate', values['cdn-link-rate']),
    cdnBaseUrl: values['cdn-base-url'],
    validators: !values['no-validators'],
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

/** The simulator's own checks (a bad `--cdn-base-url`, say) as one usage line rather than an unexpected error. */
async function startOrExplain(options: SimulatorOptions): Promise<Simulator> {
  try {
    return await startSimulator(options);
  } catch (error) {
    if (error instanceof RangeError) {
      // The option's name as its flag: `cdnBaseUrl` → `--cdn-base-url`.
      const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw new UsageError(error.message.replace(/`(\w+)`/, (_, name: string) => `\`--${kebab(name)}\``));
    }
    throw error;
  }
}

/** Bytes per second: `8000000`, `8M`, `750k`, `1.5G` (decimal multiples, as network rates are quoted). */
function parseRate(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  const multiple = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[match?.[2]?.toLowerCase() ?? ''] ?? 1;
  const rate = match ? Math.round(Number(match[1]) * multiple) : Number.NaN;
  if (!(rate >= 1 && rate <= 1e12)) {
    throw new UsageError(
      `Expected \`--${name}\` to be bytes per second like 8000000, 8M or 750k, got "${text.slice(0, 40)}"`,
    );
  }
  return rate;
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
