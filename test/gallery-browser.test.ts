/**
 * The gallery in a real browser: a headless Chromium driven by playwright-core: the system's when it has one,
 * else the one the `@sparticuz/chromium` devDependency carries (test/helpers/chromium.ts).
 * Set RUNWAY_BACKUP_SCREENSHOT=1 to rewrite docs/gallery.png, the README's screenshot, from the demo's backup.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT } from '../src/commands/demo.js';
import { writeGallery } from '../src/gallery/write.js';
import { backup } from '../src/run/backup.js';
import { startSimulator } from '../src/simulator/index.js';
import { Manifest, type ManifestData } from '../src/store/manifest.js';
import { CHROMIUM_ARGS, chooseChromium, openWatched } from './helpers/chromium.js';
import { tempDir } from './helpers/tmp.js';

let browser: Browser;
let demoOut: string;
let manifest: ManifestData;

/** Opens `file` in the shared browser, watching for scripts and requests (test/helpers/chromium.ts). */
const open = (file: string) => openWatched(browser, file);

const shown = (page: Page) => page.textContent('#shown');
const cardTypes = (page: Page) =>
  page.locator('.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-type')));

beforeAll(async () => {
  const { executablePath } = await chooseChromium();
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  // The demo's account, without its pacing: the same assets the README's screenshot shows.
  // Not tempDir(): that one is removed after each test, and this backup serves them all.
  demoOut = await fs.mkdtemp(path.join(os.tmpdir(), 'rb-gallery-'));
  const sim = await startSimulator({ ...DEMO_ACCOUNT, cdnBytesPerSecond: undefined, listLatencyMs: 0 });
  try {
    const summary = await backup({ token: sim.token, baseUrl: sim.url, out: demoOut, concurrency: 8 });
    expect(summary.filesFailed).toBe(0);
  } finally {
    await sim.close();
  }
  await writeGallery({ out: demoOut });
  manifest = (await Manifest.load(demoOut)).data;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (demoOut) await fs.rm(demoOut, { recursive: true, force: true });
});

describe('gallery in Chromium', () => {
  it('loads from file:// with every asset, real thumbnails, no request and no error', async () => {
    const { page, problems } = await open(path.join(demoOut, 'index.html'));
    const total = Object.keys(manifest.assets).length;
    expect(total).toBe(DEMO_ACCOUNT.assets);
    expect(await shown(page)).toBe(`Showing ${total} of ${total}`);
    expect(await page.locator('.card').count()).toBe(total);
    expect(await page.textContent('#totals')).toContain(`${total} assets`);
    // The first card's thumbnail is a real image the browser decoded.
    const firstImage = page.locator('.card .media img').first();
    await firstImage.scrollIntoViewIfNeeded();
    // Strings evaluated in the page (the tests are compiled without the DOM library), polled from here: the
    // page's CSP forbids the eval that waitForFunction would use.
    await expect
      .poll(() =>
        page.evaluate(
          "(() => { const img = document.querySelector('.card .media img'); return Boolean(img && img.complete && img.naturalWidth > 0); })()",
        ),
      )
      .toBe(true);
    expect(await page.locator('.media.broken').count()).toBe(0);
    if (process.env.RUNWAY_BACKUP_SCREENSHOT) {
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.resolve('docs/gallery.png') });
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('filters by type, searches by name and sorts by date', async () => {
    const { page, problems } = await open(path.join(demoOut, 'index.html'));
    const assets = Object.values(manifest.assets);
    const videos = assets.filter((a) => a.mediaType === 'video').length;
    await page.selectOption('#type', 'video');
    expect(await shown(page)).toBe(`Showing ${videos} of ${assets.length}`);
    expect(new Set(await cardTypes(page))).toEqual(new Set(['video']));

    await page.selectOption('#type', '*');
    const word = 'lighthouse';
    const matching = assets.filter((a) => (a.name ?? '').toLowerCase().includes(word));
    expect(matching.length).toBeGreaterThan(0);
    await page.fill('#search', 'LightHouse');
    expect(await shown(page)).toBe(`Showing ${matching.length} of ${assets.length}`);
    const names = await page.$$eval('.card .name', (n) => n.map((x) => x.textContent));
    expect(names.sort()).toEqual(matching.map((a) => a.name).sort());

    await page.fill('#search', 'no such thing anywhere');
    expect(await shown(page)).toBe(`Showing 0 of ${assets.length}`);
    expect(await page.isVisible('#empty')).toBe(true);

    await page.fill('#search', '');
    await page.selectOption('#sort', 'oldest');
    const oldest = [...assets].sort((a, b) => ((a.createdAt ?? '') < (b.createdAt ?? '') ? -1 : 1))[0];
    expect(await page.getAttribute('.card >> nth=0', 'data-asset-id')).toBe(oldest?.assetId);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('plays a video inline: its currentTime advances', async () => {
    const { page, problems } = await open(path.join(demoOut, 'index.html'));
    await page.selectOption('#type', 'video');
    expect(await page.locator('video').count()).toBe(0);
    await page.click('.card >> nth=0 >> .play');
    expect(await page.locator('video').count()).toBe(1);
    await expect
      .poll(() =>
        page.evaluate(
          "(() => { const v = document.querySelector('video'); return Boolean(v && v.currentTime > 0.2); })()",
        ),
      )
      .toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows missing and damaged files as such', async () => {
    const out = await tempDir('rb-gallery-damaged-');
    await fs.cp(demoOut, out, { recursive: true });
    const [gone, cut] = Object.values(manifest.assets).filter((a) => a.mediaType === 'image');
    const gonePath = gone?.files[0]?.path ?? '';
    const cutFile = cut?.files[0];
    await fs.rm(path.join(out, gonePath));
    await fs.truncate(path.join(out, cutFile?.path ?? ''), 1000);
    const result = await writeGallery({ out });
    expect([result.missing, result.damaged]).toEqual([1, 1]);
    const { page, problems } = await open(path.join(out, 'index.html'));
    expect(await page.textContent(`[data-asset-id="${gone?.assetId}"] .problem`)).toBe('file missing');
    expect(await page.textContent(`[data-asset-id="${cut?.assetId}"] .problem`)).toContain(
      'damaged: 1.0 KB on disk',
    );
    expect(await page.textContent('#problems')).toContain('1 missing, 1 damaged');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows hostile names as text: no script runs, no request is made', async () => {
    const out = await tempDir('rb-gallery-hostile-');
    const hostile = [
      '<img src=x onerror=alert(1)>',
      '</script><script>window.__pwned = 1; alert(2)</script>',
      '"><svg onload=alert(3)>',
      "' onmouseover='alert(4)",
      '<!-- <script>alert(5)</script>',
      '\u2028\u2029 ünïcödé 東京 🎬 &amp; &lt;b&gt;',
      '{{constructor.constructor("alert(6)")()}}',
    ];
    const now = new Date().toISOString();
    const data: ManifestData = {
      version: 1,
      tool: 'runway-backup',
      createdAt: now,
      updatedAt: now,
      assets: {},
    };
    await fs.mkdir(path.join(out, 'image'));
    for (const [i, name] of hostile.entries()) {
      const assetId = `asset-${i}"><img src=x onerror=alert(7)>`;
      const file = `image/${i}_<img src=x onerror=alert(8)>"'.png`;
      await fs.writeFile(path.join(out, file), 'not really a png');
      data.assets[assetId] = {
        assetId,
        name,
        mediaType: i % 2 ? 'image' : '<b onclick=alert(9)>video</b>',
        createdAt: `2026-11-0${i + 1}T10:00:00.000Z`,
        account: '<script>alert(10)</script>@example.com',
        status: 'complete',
        files: [
          { role: 'main', index: 0, path: file, bytes: 16, sha256: 'x', status: 'done', completedAt: now },
        ],
        updatedAt: now,
      };
    }
    await fs.writeFile(path.join(out, 'manifest.json'), JSON.stringify(data));
    await writeGallery({ out });
    const html = await fs.readFile(path.join(out, 'index.html'), 'utf8');
    // One script block of code (ours) and one of data; no name reaches the markup unescaped.
    expect(html.match(/<script/g)?.length).toBe(2);
    expect(html.match(/<\/script/g)?.length).toBe(2);
    expect(html).not.toMatch(/<(img|svg|b)\b/);

    const { page, problems } = await open(path.join(out, 'index.html'));
    expect(await shown(page)).toBe(`Showing ${hostile.length} of ${hostile.length}`);
    const names = await page.$$eval('.card .name', (n) => n.map((x) => x.textContent));
    expect(names.sort()).toEqual([...hostile].sort());
    // Hover and click everything an injected handler could hang on.
    for (const card of await page.$$('.card')) {
      await card.hover();
      await card.click({ position: { x: 5, y: 200 } }).catch(() => {});
    }
    await page.waitForTimeout(300);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('script').count()).toBe(2);
    expect(await page.locator('img[src="x"], svg, b').count()).toBe(0);
    // Files that are not images show as "cannot display", not as broken images; that is the only noise allowed.
    expect(problems.filter((p) => !/Failed to load resource|net::ERR/.test(p))).toEqual([]);
    await page.close();
  });
});
