// Layout templates (issue 19, item 1): parsing refuses what could name a file outside --out or not uniquely, and
// rendering sanitises every value on its own, exactly as names always were.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { HOSTILE_NAMES } from '../src/simulator/index.js';
import { assetPaths, resolveInside } from '../src/store/layout.js';
import { calendarDate, layoutPaths, renderLayout, resolveTimeZone } from '../src/store/render-layout.js';
import { DEFAULT_LAYOUT, parseLayout } from '../src/store/template.js';
import type { Asset } from '../src/types.js';

function asset(over: Partial<Asset> = {}): Asset {
  return {
    assetId: 'asset:3f2b8c1e-0000-4000-8000-00000000abcd',
    id: '3f2b8c1e-0000-4000-8000-00000000abcd',
    name: 'Gen-3 Alpha 42, a red fox',
    mediaType: 'video',
    createdAt: '2026-11-05T23:30:00Z',
    fileSize: 100,
    fileExt: 'mp4',
    url: 'https://cdn.example/x.mp4?sig=1',
    previewUrls: ['https://cdn.example/x.jpg?sig=1'],
    width: undefined,
    height: undefined,
    duration: undefined,
    raw: {},
    ...over,
  };
}

describe('parseLayout', () => {
  it.each([
    ['{mediaType}/{nmae}_{id8}.{ext}', /unknown placeholder \{nmae\}/],
    ['../{name}_{id8}.{ext}', /"\.\." is not allowed/],
    ['/abs/{name}_{id8}.{ext}', /relative to --out/],
    ['{year}//{name}_{id8}.{ext}', /empty folder name/],
    ['{year}/{name}.{ext}', /needs \{id\} or \{id8\}/],
    ['{year}/{name}_{id8}', /must end in `\.\{ext\}`/],
    ['{year}/{name}_{id8}.mp4', /must end in `\.\{ext\}`/],
    ['{year}/{name_{id8}.{ext}', /unknown placeholder|unmatched/],
    ['{year}/a:b_{id8}.{ext}', /no file name may hold/],
    ['', /empty/],
  ])('refuses %j, naming why', (template, why) => {
    let error: unknown;
    try {
      parseLayout(template);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toContain('--layout');
  });

  it('takes every documented placeholder', () => {
    const all =
      '{account}/{model}/{folder}/{year}-{month}-{day}/{mediaType}_{date}_{name}_{seed}_{id}_{id8}.{ext}';
    expect(parseLayout(all).segments).toHaveLength(5);
  });
});

describe('rendering', () => {
  it("the default template, rendered, is today's layout exactly, hostile names included", () => {
    const layout = parseLayout(DEFAULT_LAYOUT);
    for (const name of [...HOSTILE_NAMES, 'clip.mp4', 'Über straße', '', undefined]) {
      const a = asset({ name });
      const today = assetPaths(a).main;
      expect(renderLayout(layout, a, {}).main, String(name)).toBe(today);
    }
  });

  it('puts a file under its year and month; previews and sidecar beside it', () => {
    const paths = layoutPaths(asset(), { layout: parseLayout('{year}/{month}/{name}_{id8}.{ext}') });
    expect(paths.main).toBe('2026/11/Gen-3 Alpha 42, a red fox_3f2b8c1e.mp4');
    expect(paths.previews).toEqual(['2026/11/Gen-3 Alpha 42, a red fox_3f2b8c1e.preview-1.jpg']);
    expect(paths.sidecar).toBe('2026/11/Gen-3 Alpha 42, a red fox_3f2b8c1e.json');
  });

  it('no value can make a folder or climb out: every value is sanitised on its own', () => {
    const layout = parseLayout('{model}/{folder}/{seed}/{name}_{id8}.{ext}');
    const out = path.resolve('/tmp/out');
    for (const hostile of [...HOSTILE_NAMES, '..', '../..', '/etc', 'a/b/c', 'CON', '.']) {
      const paths = layoutPaths(asset({ name: hostile }), {
        layout,
        values: { model: hostile, folder: hostile, seed: hostile },
      });
      expect(paths.main.split('/'), hostile).toHaveLength(4);
      for (const segment of paths.main.split('/')) {
        expect(segment).not.toMatch(/^\.+$|^$|[\\:]/);
        expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(200);
      }
      expect(() => resolveInside(out, paths.main)).not.toThrow();
    }
  });

  it('what an asset lacks has a stable stand-in', () => {
    const paths = layoutPaths(asset({ createdAt: undefined }), {
      layout: parseLayout('{model}/{folder}/{seed}/{year}/{name}_{id8}.{ext}'),
    });
    expect(paths.main).toBe('unknown-model/no-folder/no-seed/undated/Gen-3 Alpha 42, a red fox_3f2b8c1e.mp4');
  });

  it('several accounts: a template without {account} gets the account folder in front', () => {
    const layout = parseLayout('{year}/{name}_{id8}.{ext}');
    expect(layoutPaths(asset(), { layout, account: 'a@x.com' }).main).toMatch(/^a@x\.com\/2026\//);
    const own = parseLayout('{year}/{account}/{name}_{id8}.{ext}');
    expect(layoutPaths(asset(), { layout: own, account: 'a@x.com' }).main).toMatch(/^2026\/a@x\.com\//);
  });

  it('dates are UTC unless --timezone says otherwise; a bare date stays its day', () => {
    expect(calendarDate('2026-11-05T23:30:00Z')).toEqual({ year: '2026', month: '11', day: '05' });
    expect(calendarDate('2026-11-05T23:30:00Z', 'Europe/Berlin')).toEqual({
      year: '2026',
      month: '11',
      day: '06',
    });
    expect(calendarDate('2026-01-01T03:00:00Z', 'America/New_York')).toEqual({
      year: '2025',
      month: '12',
      day: '31',
    });
    expect(calendarDate('2026-02-30')).toBeUndefined();
    expect(calendarDate('2026-11-05', 'Asia/Tokyo')).toEqual({ year: '2026', month: '11', day: '05' });
    expect(() => resolveTimeZone('Mars/Olympus')).toThrow();
    expect(resolveTimeZone('local')).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});
