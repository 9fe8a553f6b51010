// Which browser the gallery's tests drive (test/helpers/chromium.ts): CHROMIUM_PATH, then a system Chromium, then
// the packaged one, so that a machine with no browser installed still runs them.
import { describe, expect, it } from 'vitest';
import { chooseChromium, SYSTEM_CHROMIUMS } from './helpers/chromium.js';

const unpack = async () => '/tmp/chromium';
const never = async (): Promise<string> => {
  throw new Error('the packaged Chromium was unpacked although another one was there');
};

describe('choosing a Chromium', () => {
  it('CHROMIUM_PATH wins over everything', async () => {
    const choice = await chooseChromium(never, { CHROMIUM_PATH: '/opt/c/chrome' }, () => true);
    expect(choice).toEqual({ executablePath: '/opt/c/chrome', source: 'CHROMIUM_PATH' });
  });

  it('a CHROMIUM_PATH that does not exist is an error, not a silent fallback', async () => {
    await expect(chooseChromium(unpack, { CHROMIUM_PATH: '/nope' }, () => false)).rejects.toThrow(/\/nope/);
  });

  it("a system Chromium wins over the package's", async () => {
    const last = SYSTEM_CHROMIUMS.at(-1) as string;
    const choice = await chooseChromium(never, {}, (file) => file === last);
    expect(choice).toEqual({ executablePath: last, source: 'system' });
  });

  it('with no browser on the machine, the packaged one is unpacked and used', async () => {
    const choice = await chooseChromium(unpack, {}, () => false);
    expect(choice).toEqual({ executablePath: '/tmp/chromium', source: '@sparticuz/chromium' });
  });

  it('the packaged Chromium is really there: its binary unpacks to a file', async () => {
    const { default: packaged } = await import('@sparticuz/chromium');
    const file = await packaged.executablePath();
    const { statSync } = await import('node:fs');
    expect(statSync(file).size).toBeGreaterThan(50 * 1024 * 1024);
  }, 60_000);
});
