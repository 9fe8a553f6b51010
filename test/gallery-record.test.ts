// The gallery shows the generation record in a detail view, searches and filters by it, and keeps every text of
// the API inert: an account whose prompts are markup and scripts, opened in Chromium, runs nothing and requests
// nothing, and shows each prompt as the text it is.
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGallery } from '../src/gallery/write.js';
import { backup } from '../src/run/backup.js';
import { HOSTILE_PROMPTS } from '../src/simulator/index.js';
import { Manifest } from '../src/store/manifest.js';
import { CHROMIUM_ARGS, chooseChromium, openWatched } from './helpers/chromium.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

let browser: Browser;

beforeAll(async () => {
  const { executablePath } = await chooseChromium();
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Opens `file` in the shared browser, watching for scripts and requests (test/helpers/chromium.ts). */
const open = (file: string) => openWatched(browser, file, { width: 1280, height: 900 });

describe('gallery: the generation record', () => {
  it('a hostile-prompt account: detail view, copy button, search and filters, nothing runs', async () => {
    const s = await sim({
      assets: 40,
      hostilePrompts: true,
      fixedSizes: { main: 2000, preview: 500 },
      seed: 4,
    });
    const out = await tempDir();
    const first = await backup({ token: s.token, baseUrl: s.url, out, backoffBaseMs: 5, metadata: true });
    expect(first.filesFailed).toBe(0);
    const victim = s.assets().find((a) => s.rawAsset(a.assetId)?.taskId && a.mediaType === 'video');
    if (!victim) throw new Error('no generated video');
    s.deleteAsset(victim.assetId);
    const second = await backup({ token: s.token, baseUrl: s.url, out, backoffBaseMs: 5, metadata: true });
    expect(second.deletedOnRunway).toBe(1);
    await writeGallery({ out });
    const m = await Manifest.load(out);
    await m.close();
    const entry = m.get(victim.assetId);
    const prompt = String(entry?.generation?.options?.text_prompt);
    expect(HOSTILE_PROMPTS).toContain(prompt);

    const { page, problems } = await open(path.join(out, 'index.html'));
    const total = await page.locator('.card').count();
    expect(total).toBe(m.size);
    // Search by seed finds the asset; by model too.
    const seed = String(entry?.generation?.options?.seed);
    await page.fill('#search', seed);
    expect(await page.locator('.card').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator(`.card[data-asset-id="${victim.assetId}"]`).count()).toBe(1);
    await page.fill('#search', '');
    // The deleted-on-Runway filter shows only it, with its badge.
    await page.check('#deleted');
    expect(await page.locator('.card').count()).toBe(1);
    expect(await page.textContent('.card .badge.deleted')).toBe('deleted on Runway');
    await page.uncheck('#deleted');
    const favourites = Object.values(m.data.assets).filter((a) => a.favorite).length;
    await page.check('#favorites');
    expect(await page.locator('.card').count()).toBe(favourites);
    await page.uncheck('#favorites');
    await page.selectOption('#model', String(entry?.generation?.taskType));
    const ofModel = Object.values(m.data.assets).filter(
      (a) => a.generation?.taskType === entry?.generation?.taskType,
    );
    expect(await page.locator('.card').count()).toBe(ofModel.length);
    await page.selectOption('#model', '*');

    // The detail view: the prompt as the literal text it is, seed, model, links to every file and the sidecar.
    await page.click(`.card[data-asset-id="${victim.assetId}"] .name`);
    await page.waitForSelector('#detail[open]');
    expect(await page.textContent('.prompt-text')).toBe(prompt);
    const facts = await page.textContent('.facts');
    expect(facts).toContain(seed);
    expect(facts).toContain(String(entry?.generation?.taskType));
    expect(await page.textContent('#detail-body')).toContain('deleted on Runway');
    const links = await page
      .locator('#detail .links a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(links).toHaveLength((entry?.files.length ?? 0) + 1);
    expect(await page.locator('#detail video').count()).toBe(1);
    await page.click('.copy');
    // No markup of any prompt became an element, no script ran, nothing left the page.
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(
      await page.locator('main iframe, main script, #detail iframe, #detail script, #detail style').count(),
    ).toBe(0);
    expect(problems).toEqual([]);
    await page.click('#close');
    expect(await page.locator('#detail[open]').count()).toBe(0);
    await page.close();
  }, 90_000);
});
