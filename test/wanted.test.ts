// The filter rules (store/wanted.ts) one by one, and verify judging a backup by the filter of its last run.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { verifyBackup } from '../src/report/verify.js';
import { backup } from '../src/run/backup.js';
import { Manifest } from '../src/store/manifest.js';
import { compileMatch, parseInstant, selector } from '../src/store/wanted.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

const now = new Date('2026-11-30T12:00:00.000Z');

describe('parseInstant', () => {
  it.each([
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T08:00:00Z', '2026-11-01T08:00:00.000Z'],
    ['2026-11-01T08:00', '2026-11-01T08:00:00.000Z'],
    ['2026-11-01T08:00:00+02:00', '2026-11-01T06:00:00.000Z'],
    ['2026-11-01T08:00:00.250Z', '2026-11-01T08:00:00.250Z'],
    ['7d', '2026-11-23T12:00:00.000Z'],
    ['12h', '2026-11-30T00:00:00.000Z'],
    ['2w', '2026-11-16T12:00:00.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseInstant(text, '`--since`', now)).toBe(iso);
  });

  it.each(['yesterday', '2026-13-01', '2026-02-30', '2026-11-01T25:00Z', '7', '7y', ''])(
    'refuses %j, showing it',
    (text) => {
      expect(() => parseInstant(text, '`--since`', now)).toThrow(UsageError);
      expect(() => parseInstant(text, '`--since`', now)).toThrow(`got "${text}"`);
    },
  );
});

describe('compileMatch', () => {
  it('is case-insensitive unless written /…/flags', () => {
    expect(compileMatch('dog', '`--match`').test('Two DOGS')).toBe(true);
    expect(compileMatch('/Dog/', '`--match`').test('two dogs')).toBe(false);
    expect(compileMatch('/dog/i', '`--match`').test('Two DOGS')).toBe(true);
  });

  it('refuses what does not compile, and the stateful flags', () => {
    expect(() => compileMatch('(', '`--match`')).toThrow(/got "\("/);
    expect(() => compileMatch('/a/g', '`--match`')).toThrow(/without the g or y flag/);
    expect(() => compileMatch('(?-i)a', '`--match`')).toThrow(UsageError);
  });
});

describe('selector', () => {
  const asset = {
    assetId: 'a1',
    name: 'Gen-4 clip',
    prompt: 'a lighthouse in a storm',
    createdAt: '2026-11-10T00:00:00.000Z',
    favorite: false,
    mediaType: 'video',
  };
  it('since is inclusive, until exclusive; no date is left out by a date filter', () => {
    expect(selector({ since: asset.createdAt })(asset)).toBeUndefined();
    expect(selector({ until: asset.createdAt })(asset)).toBe('until');
    expect(selector({ since: '2026-11-11T00:00:00.000Z' })(asset)).toBe('since');
    expect(selector({ since: '2026-01-01T00:00:00.000Z' })({ ...asset, createdAt: undefined })).toBe(
      'no-date',
    );
    expect(selector({ since: '2026-01-01T00:00:00.000Z' })({ ...asset, createdAt: 'soon' })).toBe('no-date');
  });

  it('matches the name or the prompt; favorites; media types; exclude', () => {
    expect(selector({ match: 'LIGHTHOUSE' })(asset)).toBeUndefined();
    expect(selector({ match: 'gen-4' })(asset)).toBeUndefined();
    expect(selector({ match: 'cats' })(asset)).toBe('match');
    expect(selector({ favorites: true })(asset)).toBe('favorites');
    expect(selector({ favorites: true })({ ...asset, favorite: true })).toBeUndefined();
    expect(selector({ mediaTypes: ['image'] })(asset)).toBe('media-type');
    expect(selector({ exclude: ['a1'] })(asset)).toBe('excluded');
    expect(selector({})(asset)).toBeUndefined();
  });
});

describe('verify and the last run’s filter', () => {
  it('does not report missing what the last run left out, and still reports what it wanted', async () => {
    const s = await sim({ assets: 30, fixedSizes: 64, uploadShare: 0 });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const favorites = new Set(
      s
        .assets()
        .filter((a) => s.rawAsset(a.assetId)?.favorite === true)
        .map((a) => a.assetId),
    );
    expect(favorites.size).toBeGreaterThan(0);
    const summary = await backup({
      token: s.token,
      baseUrl: s.url,
      out,
      previews: false,
      filter: { favorites: true },
    });
    expect(summary.assetsSeen).toBe(favorites.size);
    expect(summary.assetsFiltered).toBe(30 - favorites.size);
    expect(summary.filesDownloaded).toBe(0);

    const manifest = await Manifest.load(out);
    await manifest.close();
    expect(manifest.data.filter).toEqual({ favorites: true });
    const entries = Object.values(manifest.data.assets);
    const other = entries.find((e) => !favorites.has(e.assetId));
    const favorite = entries.find((e) => favorites.has(e.assetId));
    await fs.rm(path.join(out, other?.files[0]?.path ?? 'none'));
    const quiet = await verifyBackup({ out, quick: true });
    expect(quiet.healthy).toBe(true);
    expect(quiet.missing).toEqual([]);
    expect(quiet.notWanted).toBe(30 - favorites.size);
    expect(quiet.untracked).toEqual([]);

    await fs.rm(path.join(out, favorite?.files[0]?.path ?? 'none'));
    const report = await verifyBackup({ out, quick: true });
    expect(report.healthy).toBe(false);
    expect(report.missing.map((m) => m.assetId)).toEqual([favorite?.assetId]);

    // A run that wants everything again makes the left-out file missing, and fetches both.
    const all = await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    expect(all.filesDownloaded).toBe(2);
    expect((await verifyBackup({ out, quick: true })).healthy).toBe(true);
  }, 60_000);
});
