import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../simulator/index.js';
import { isMediaType, type MediaType } from '../types.js';
import {
  type CommandSpec,
  commandHelp,
  helpRequested,
  invokedAs,
  parseFlags,
  parseInteger,
  SHARED_FLAGS,
} from './args.js';

const SIMULATE_FLAGS = {
  port: { type: 'string', value: 'N', help: 'the port on 127.0.0.1 to listen on (default: any free port)' },
  assets: { type: 'string', value: 'N', help: 'assets in the simulated account, 0..100000 (default 120)' },
  latency: { type: 'string', value: 'MS', help: 'delay of each listing answer in ms (default 0)' },
  seed: { type: 'string', value: 'N', help: 'seed of the generated catalogue (default 1)' },
  'url-ttl': { type: 'string', value: 'SECONDS', help: 'lifetime of the signed CDN URLs (default 3600)' },
  'hostile-names': { type: 'boolean', help: 'give assets names that try to escape the output folder' },
  'hostile-prompts': { type: 'boolean', help: 'give generations prompts full of markup and scripts' },
  'discarded-takes': {
    type: 'string',
    value: 'N',
    help: 'deleted takes per kept generation, 0..50: a task history longer than 2,000 (default 0)',
  },
  'file-size': { type: 'string', value: 'BYTES', help: 'every main file this size (default: varied sizes)' },
  'media-mix': {
    type: 'string',
    value: 'MIX',
    help: 'weights of the media types, like video=6,image=3,audio=1',
  },
  'cdn-first-byte': { type: 'string', value: 'MS', help: 'delay before each CDN answer, in ms (default 0)' },
  'cdn-connection-rate': {
    type: 'string',
    value: 'RATE',
    help: 'bytes per second of each CDN response, like 8M (default: unlimited)',
  },
  'cdn-link-rate': {
    type: 'string',
    value: 'RATE',
    help: 'bytes per second shared by all CDN responses, like 80M (default: unlimited)',
  },
  'cdn-base-url': { type: 'string', value: 'URL', help: 'hand out file URLs on this server instead' },
  'no-validators': { type: 'boolean', help: 'send neither ETag nor Last-Modified from the CDN' },
  quiet: { ...SHARED_FLAGS.quiet, help: 'print only the environment line to export' },
} as const;

export const SIMULATE_SPEC: CommandSpec = {
  name: 'simulate',
  summary: 'serve the embedded fake useapi.net and its CDN until Ctrl-C, for `list` and `backup`.',
  flags: SIMULATE_FLAGS,
};

/** Serves the simulator in the foreground until Ctrl-C; for trying `list` and `backup` by hand, and for bench. */
export async function runSimulate(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(commandHelp(SIMULATE_SPEC));
    return EXIT.ok;
  }
  const { values } = parseFlags(argv, SIMULATE_FLAGS);
  const port = parseInteger('port', values.port, 0, 65535) ?? 0;
  const simulator = await startOrExplain(port, {
    port,
    assets: parseInteger('assets', values.assets, 0, 100_000) ?? 120,
    listLatencyMs: parseInteger('latency', values.latency, 0, 60_000) ?? 0,
    seed: parseInteger('seed', values.seed, 0, 2 ** 31) ?? 1,
    urlTtlSeconds: parseInteger('url-ttl', values['url-ttl'], 1, 7 * 86_400) ?? 3600,
    hostileNames: values['hostile-names'] ?? false,
    hostilePrompts: values['hostile-prompts'] ?? false,
    discardedTakes: parseInteger('discarded-takes', values['discarded-takes'], 0, 50) ?? 0,
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
  const exportLine = `export USEAPI_BASE_URL=${simulator.url} USEAPI_TOKEN=${simulator.token}`;
  process.stdout.write(
    values.quiet
      ? `${exportLine}\n`
      : `Simulator listening. In another terminal:\n  ${exportLine}\n  ${invokedAs(process.argv[1], process.cwd())} list\nDelete an asset on Runway, as the real API does:\n  curl -X DELETE -H "Authorization: Bearer ${simulator.token}" ${simulator.url}/v1/runwayml/assets/<assetId>\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await simulator.close();
  return 0;
}

/** The simulator's own checks (a bad `--cdn-base-url`, say) as one usage line rather than an unexpected error. */
async function startOrExplain(port: number, options: SimulatorOptions): Promise<Simulator> {
  try {
    return await startSimulator(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new UsageError(`Port ${port} is already in use; choose another with --port (or leave it out)`);
    }
    if (code === 'EACCES') throw new UsageError(`Port ${port} needs privileges; choose one above 1023`);
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
