/**
 * Which Chromium the browser tests drive: `CHROMIUM_PATH` when set, else a system one (Debian's
 * chromium-headless-shell or chromium), else the one inside the `@sparticuz/chromium` devDependency, which
 * unpacks its binary into the temp folder on first use. So `npm ci && npm test` passes on a machine with no
 * browser installed, and a machine that has one keeps using it.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const SYSTEM_CHROMIUMS = [
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium',
];

/**
 * Our own flags, on every Chromium. Not `@sparticuz/chromium`'s `args`: they carry `--disable-web-security`,
 * `--allow-running-insecure-content` and site-isolation switches meant for a Lambda, which would make the
 * gallery's tests (no script runs, no request leaves the page) weaker than a user's browser. Its binary starts
 * headless with these alone (checked: Chromium 143 under playwright-core 1.65.1 on Debian 12).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface ChromiumChoice {
  executablePath: string;
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

/** The first of CHROMIUM_PATH and the system paths that exists; undefined when none does. */
export function findSystemChromium(
  env: { CHROMIUM_PATH?: string | undefined } = process.env,
  exists: (file: string) => boolean = existsSync,
): ChromiumChoice | undefined {
  if (env.CHROMIUM_PATH) {
    if (!exists(env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist`);
    return { executablePath: env.CHROMIUM_PATH, source: 'CHROMIUM_PATH' };
  }
  const found = SYSTEM_CHROMIUMS.find((file) => exists(file));
  return found === undefined ? undefined : { executablePath: found, source: 'system' };
}

/** A system Chromium when there is one, else the packaged one (unpacked on first call). */
export async function chooseChromium(
  unpack: () => Promise<string> = packagedChromium,
  env: { CHROMIUM_PATH?: string | undefined } = process.env,
  exists: (file: string) => boolean = existsSync,
): Promise<ChromiumChoice> {
  const system = findSystemChromium(env, exists);
  if (system) return system;
  return { executablePath: await unpack(), source: '@sparticuz/chromium' };
}

async function packagedChromium(): Promise<string> {
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}

/**
 * Opens `file` in a new page and records everything that would betray a script or a request: dialogs, page errors,
 * console errors and warnings, and any request that is not for a local file. Waits for the gallery to be ready.
 */
export async function openWatched(
  browser: Browser,
  file: string,
  viewport = { width: 1280, height: 800 },
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith('file://')) problems.push(`request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}
