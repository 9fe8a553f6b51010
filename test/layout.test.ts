import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsafePathError } from '../src/errors.js';
import {
  assetPaths,
  datePrefix,
  extensionFor,
  idSuffix,
  MAX_FILENAME_BYTES,
  mediaFolder,
  previewExtension,
  resolveInside,
  sanitizeSegment,
} from '../src/store/layout.js';
import type { Asset } from '../src/types.js';

const UUID = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const OTHER_UUID = 'ffee0011-2233-4455-6677-8899aabbccdd';
const ROOT = '/tmp/out';

function makeAsset(overrides: Partial<Asset> = {}): Asset {
  return {
    assetId: `asset:${UUID}`,
    id: UUID,
    name: 'clip.mp4',
    mediaType: 'video',
    createdAt: '2024-08-01T01:02:03.456Z',
    fileSize: 1234,
    fileExt: 'mp4',
    url: `https://cdn.example.test/${UUID}/task_artifact.mp4?_jwt=secret`,
    previewUrls: [],
    width: undefined,
    height: undefined,
    duration: undefined,
    raw: {},
    ...overrides,
  };
}

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
const isValidUtf8 = (text: string): boolean => Buffer.from(text).toString() === text;

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

/** The invariants every produced path must hold, whatever the asset said. */
function expectSafe(relative: string): void {
  expect(relative).not.toBe('');
  expect(path.posix.isAbsolute(relative)).toBe(false);
  expect(path.win32.isAbsolute(relative)).toBe(false);
  expect(relative).not.toMatch(/[\\:*?"<>|\u0000-\u001f\u007f-\u009f]/);
  expect(isValidUtf8(relative)).toBe(true);
  for (const segment of relative.split('/')) {
    expect(segment).not.toBe('');
    expect(segment).not.toBe('.');
    expect(segment).not.toBe('..');
    expect(segment.startsWith('.')).toBe(false);
    expect(segment.endsWith('.')).toBe(false);
    expect(segment.endsWith(' ')).toBe(false);
    expect(segment.startsWith(' ')).toBe(false);
    expect(RESERVED.test((segment.split('.')[0] ?? '').trimEnd())).toBe(false);
    expect(bytes(segment)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
  }
  const absolute = resolveInside(ROOT, relative);
  expect(absolute.startsWith(`${ROOT}/`)).toBe(true);
  expect(path.relative(ROOT, absolute).split(path.sep)).not.toContain('..');
}

function fileName(relative: string): string {
  return relative.slice(relative.lastIndexOf('/') + 1);
}

const emoji300 = '😀'.repeat(75);
const family = '👨‍👩‍👧‍👦';

const hostile: Array<[label: string, overrides: Partial<Asset>, account?: string]> = [
  ['parent dir name', { name: '../' }],
  ['traversal name', { name: '../../etc/passwd' }],
  ['absolute posix name', { name: '/etc/x' }],
  ['absolute windows name', { name: 'C:\\x' }],
  ['backslashes', { name: '..\\..\\windows\\system32' }],
  ['colon (NTFS stream)', { name: 'a:b:$DATA' }],
  ['NUL and controls', { name: 'a\u0000b\u0001c\nd\re\u007ff\u0085g' }],
  ['CON', { name: 'CON' }],
  ['nul.txt', { name: 'nul.txt' }],
  ['com1', { name: 'com1' }],
  ['LPT9.mp4', { name: 'LPT9.mp4' }],
  ['trailing dots and spaces', { name: 'movie. . .  ' }],
  ['leading dots (hidden file)', { name: '...hidden' }],
  ['only dots', { name: '..' }],
  ['300-byte ASCII name', { name: 'a'.repeat(300) }],
  ['300 bytes of emoji', { name: emoji300 }],
  ['ZWJ emoji sequences', { name: family.repeat(20) }],
  ['empty name', { name: '' }],
  ['missing name', { name: undefined }],
  ['whitespace-only name', { name: ' \t \n ' }],
  ['bidi override', { name: '\u202Egpj.exe' }],
  ['lone surrogate', { name: 'a\uD800b' }],
  ['hostile mediaType', { mediaType: '../../x' }],
  ['mediaType with separators', { mediaType: 'video/../../x' }],
  ['hostile fileExt', { fileExt: 'mp4/../../x' }],
  ['hostile id', { id: '../../zz' }],
  ['hostile id and assetId', { id: '../../zz', assetId: '../../yy' }],
  ['hostile createdAt', { createdAt: '../../2024' }],
  ['far-future createdAt', { createdAt: '+275760-09-13T00:00:00.000Z' }],
  ['hostile url', { fileExt: undefined, name: 'x', url: 'https://h.test/a/..%2F..%2Fetc%2Fpasswd' }],
  [
    'hostile preview urls',
    { previewUrls: ['https://h.test/../../x.jpg/..', 'https://h.test/p.%2e%2e', 'nonsense'] },
  ],
  ['hostile account', {}, '../evil'],
  ['absolute account', {}, '/etc'],
  ['dot account', {}, '..'],
  ['reserved account', {}, 'AUX'],
  [
    'everything hostile at once',
    {
      name: '../../\u0000CON. ',
      mediaType: '../..',
      fileExt: '../..',
      id: '../..',
      assetId: '../..',
      createdAt: '..',
      url: 'https://h.test/..',
      previewUrls: ['https://h.test/..'],
    },
    '../../root',
  ],
];

describe('assetPaths against hostile input', () => {
  it.each(hostile)('%s stays safe and inside the output folder', (_label, overrides, account) => {
    const asset = makeAsset({ previewUrls: ['https://cdn.example.test/p1.jpg'], ...overrides });
    const paths = assetPaths(asset, { account });
    const all = [paths.main, ...paths.previews, paths.sidecar];
    for (const relative of all) expectSafe(relative);
    expect(new Set(all).size).toBe(all.length);
    // The downloader adds `.part` and `.part.json`; those must fit too.
    for (const relative of all) {
      expect(bytes(`${fileName(relative)}.part.json`)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    }
    const depth = account === undefined ? 2 : 3;
    expect(paths.main.split('/')).toHaveLength(depth);
  });

  it('keeps long names within the byte cap without breaking characters', () => {
    for (const name of ['a'.repeat(300), emoji300, family.repeat(20), 'é'.repeat(300)]) {
      const asset = makeAsset({
        name,
        previewUrls: Array.from({ length: 99 }, () => 'https://h.test/p.jpeg'),
      });
      const { main, previews, sidecar } = assetPaths(asset);
      for (const relative of [main, ...previews, sidecar]) {
        const file = fileName(relative);
        expect(isValidUtf8(file)).toBe(true);
        expect(bytes(`${file}.part.json`)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
      }
    }
  });

  it('never splits an emoji or a ZWJ sequence when cutting', () => {
    const { main } = assetPaths(makeAsset({ name: emoji300 }));
    const namePart = fileName(main).slice('2024-08-01_'.length, -'_0a1b2c3d.mp4'.length);
    expect(namePart).toMatch(/^(😀)+$/u);
    const families = fileName(assetPaths(makeAsset({ name: family.repeat(20) })).main);
    const familyPart = families.slice('2024-08-01_'.length, -'_0a1b2c3d.mp4'.length);
    expect(familyPart.split(family).every((piece) => piece === '')).toBe(true);
  });

  it('keeps equal names apart by id', () => {
    const a = assetPaths(makeAsset({ name: 'same' }));
    const b = assetPaths(makeAsset({ name: 'same', id: OTHER_UUID, assetId: `asset:${OTHER_UUID}` }));
    expect(a.main).not.toBe(b.main);
    expect(a.sidecar).not.toBe(b.sidecar);
  });

  it('keeps assets with hostile ids apart through the assetId hash', () => {
    const a = assetPaths(makeAsset({ name: 'same', id: '../../zz', assetId: '../../zz' }));
    const b = assetPaths(makeAsset({ name: 'same', id: '../../zz', assetId: '../../yy' }));
    expect(a.main).not.toBe(b.main);
  });

  it('gives a json-typed main file a sidecar of its own', () => {
    const { main, sidecar } = assetPaths(makeAsset({ name: 'data', fileExt: 'json' }));
    expect(main).toBe('video/2024-08-01_data_0a1b2c3d.json');
    expect(sidecar).toBe('video/2024-08-01_data_0a1b2c3d.metadata.json');
  });
});

describe('assetPaths for normal assets', () => {
  const cases: Array<
    [label: string, overrides: Partial<Asset>, account: string | undefined, expected: object]
  > = [
    [
      'a generated video',
      { name: 'Gen-3 Alpha 35801490234, funny cats jumping over.mp4' },
      undefined,
      {
        main: 'video/2024-08-01_Gen-3 Alpha 35801490234, funny cats jumping over_0a1b2c3d.mp4',
        previews: [],
        sidecar: 'video/2024-08-01_Gen-3 Alpha 35801490234, funny cats jumping over_0a1b2c3d.json',
      },
    ],
    [
      'an image with previews and an account',
      {
        name: 'Portrait.PNG',
        mediaType: 'image',
        fileExt: 'png',
        createdAt: '2023-12-31T23:59:59.999Z',
        previewUrls: ['https://cdn.test/a/thumb.webp?sig=1', 'https://cdn.test/a/thumb'],
      },
      'a@b.com',
      {
        main: 'a@b.com/image/2023-12-31_Portrait_0a1b2c3d.png',
        previews: [
          'a@b.com/image/2023-12-31_Portrait_0a1b2c3d.preview-1.webp',
          'a@b.com/image/2023-12-31_Portrait_0a1b2c3d.preview-2.jpg',
        ],
        sidecar: 'a@b.com/image/2023-12-31_Portrait_0a1b2c3d.json',
      },
    ],
    [
      'a nameless undated audio asset',
      {
        name: undefined,
        mediaType: 'audio',
        fileExt: undefined,
        createdAt: undefined,
        url: 'https://c.test/x',
      },
      undefined,
      {
        main: 'audio/undated_untitled_0a1b2c3d.mp3',
        previews: [],
        sidecar: 'audio/undated_untitled_0a1b2c3d.json',
      },
    ],
    [
      'an unknown media type, a name with another extension and odd characters',
      { name: 'what? a/b: "c".mov', mediaType: 'model3d', fileExt: 'glb' },
      undefined,
      {
        main: 'other/2024-08-01_what_ a_b_ _c_.mov_0a1b2c3d.glb',
        previews: [],
        sidecar: 'other/2024-08-01_what_ a_b_ _c_.mov_0a1b2c3d.json',
      },
    ],
  ];

  it.each(cases)('%s', (_label, overrides, account, expected) => {
    expect(assetPaths(makeAsset(overrides), { account })).toEqual(expected);
  });

  it('uses a longer id when asked', () => {
    expect(assetPaths(makeAsset({ name: 'x' }), { idLength: 13 }).main).toBe(
      'video/2024-08-01_x_0a1b2c3d-4e5f.mp4',
    );
  });

  it('is stable: same asset, same paths', () => {
    expect(assetPaths(makeAsset())).toEqual(assetPaths(makeAsset()));
  });
});

describe('sanitizeSegment', () => {
  const cases: Array<[input: string, maxBytes: number, expected: string]> = [
    ['plain name', 100, 'plain name'],
    ['a/b', 100, 'a_b'],
    ['../../etc/passwd', 100, '_.._etc_passwd'],
    ['/etc/x', 100, '_etc_x'],
    ['C:\\x', 100, 'C_x'],
    ['a\\b', 100, 'a_b'],
    ['a:b', 100, 'a_b'],
    ['*?"<>|', 100, '_'],
    ['a\u0000b\u001fc\u007fd\u0085e\u009ff', 100, 'a_b_c_d_e_f'],
    ['tab\tnew\nline', 100, 'tab_new_line'],
    ['a    b\u00a0\u3000c', 100, 'a b c'],
    ['a___b', 100, 'a_b'],
    ['CON', 100, '_CON'],
    ['con', 100, '_con'],
    ['nul.txt', 100, '_nul.txt'],
    ['com1', 100, '_com1'],
    ['LPT9.mp4', 100, '_LPT9.mp4'],
    ['aux .txt', 100, '_aux .txt'],
    ['PRN.', 100, '_PRN'],
    ['COM¹', 100, '_COM¹'],
    ['conference', 100, 'conference'],
    ['COM10', 100, 'COM10'],
    ['name. . ', 100, 'name'],
    ['  .hidden', 100, 'hidden'],
    ['.', 100, ''],
    ['..', 100, ''],
    [' . . ', 100, ''],
    ['', 100, ''],
    ['e\u0301', 100, 'é'],
    ['\u202Egpj.exe', 100, '_gpj.exe'],
    ['a\uD83Db', 100, 'a_b'],
    ['😀', 100, '😀'],
    ['abcdef', 3, 'abc'],
    ['é'.repeat(10), 5, 'éé'],
    ['😀😀😀', 7, '😀'],
    ['😀', 3, ''],
    ['🇫🇷🇩🇪', 12, '🇫🇷'],
    [`${family}${family}`, 30, family],
    ['abc def', 4, 'abc'],
    ['abc.def', 4, 'abc'],
    ['CONSOLE', 3, '_CO'],
    ['anything', 0, ''],
    ['anything', -5, ''],
    ['anything', Number.NaN, ''],
  ];

  it.each(cases)('%j (max %d) -> %j', (input, maxBytes, expected) => {
    const out = sanitizeSegment(input, maxBytes);
    expect(out).toBe(expected);
    expect(bytes(out)).toBeLessThanOrEqual(Math.max(0, maxBytes || 0));
    expect(isValidUtf8(out)).toBe(true);
  });

  it('cuts 300 bytes of emoji to the cap on whole characters', () => {
    for (const cap of [1, 4, 5, 50, 101, 150, 255]) {
      const out = sanitizeSegment(emoji300, cap);
      expect(bytes(out)).toBeLessThanOrEqual(cap);
      expect(bytes(out)).toBeGreaterThan(cap - 4);
      expect(isValidUtf8(out)).toBe(true);
      expect(out).toMatch(/^(😀)*$/u);
    }
  });

  it('does not lose a single oversized grapheme cluster entirely', () => {
    const zalgo = `a${'\u0301'.repeat(200)}`;
    const out = sanitizeSegment(zalgo, 10);
    expect(out.startsWith('á')).toBe(true);
    expect(bytes(out)).toBeLessThanOrEqual(10);
    expect(isValidUtf8(out)).toBe(true);
  });

  it('never leaves a hidden, dot or reserved segment', () => {
    const inputs = ['.', '..', '...', '.git', 'CON', 'nul.txt', 'x'.repeat(500), ' a ', 'a.', '\u0000'];
    for (const input of inputs) {
      for (const cap of [1, 2, 3, 8, 100]) {
        const out = sanitizeSegment(input, cap);
        if (out === '') continue;
        expect(out.startsWith('.')).toBe(false);
        expect(/[. ]$/.test(out)).toBe(false);
        expect(RESERVED.test((out.split('.')[0] ?? '').trimEnd())).toBe(false);
        expect(bytes(out)).toBeLessThanOrEqual(cap);
      }
    }
  });
});

describe('idSuffix', () => {
  const sha8 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);
  const cases: Array<
    [label: string, asset: Pick<Asset, 'assetId' | 'id'>, length: number | undefined, expected: string]
  > = [
    ['uuid id', { assetId: 'asset:zzz', id: UUID }, undefined, '0a1b2c3d'],
    ['uppercase id is lowercased', { assetId: 'x', id: UUID.toUpperCase() }, undefined, '0a1b2c3d'],
    ['longer length', { assetId: 'x', id: UUID }, 13, '0a1b2c3d-4e5f'],
    ['short id', { assetId: 'x', id: 'ab' }, undefined, 'ab'],
    [
      'hostile id, uuid in assetId',
      { assetId: `asset:${OTHER_UUID}`, id: '../../zz' },
      undefined,
      'ffee0011',
    ],
    ['missing id, uuid in assetId', { assetId: `asset:${OTHER_UUID}`, id: undefined }, undefined, 'ffee0011'],
    ['empty id', { assetId: `asset:${OTHER_UUID}`, id: '' }, undefined, 'ffee0011'],
    ['all hostile: hash of assetId', { assetId: '../../zz', id: '../../zz' }, undefined, sha8('../../zz')],
    ['empty uuid after prefix: hash', { assetId: 'asset:', id: undefined }, undefined, sha8('asset:')],
    ['length clamped to at least 1', { assetId: 'x', id: UUID }, 0, '0'],
  ];

  it.each(cases)('%s', (_label, asset, length, expected) => {
    expect(length === undefined ? idSuffix(asset) : idSuffix(asset, length)).toBe(expected);
  });
});

describe('extensionFor', () => {
  const cases: Array<[label: string, overrides: Partial<Asset>, expected: string]> = [
    ['standardized', { fileExt: 'MP4' }, 'mp4'],
    ['standardized with a dot', { fileExt: '.webm' }, 'webm'],
    ['hostile standardized falls back to the name', { fileExt: 'mp4/../../x', name: 'a.MOV' }, 'mov'],
    ['too long standardized', { fileExt: 'abcdefghi', name: 'a' }, 'mp4'],
    [
      'from the url',
      { fileExt: undefined, name: 'no extension', url: 'https://c.test/a/b.WAV?x=1.png' },
      'wav',
    ],
    [
      'dotfile name is not an extension',
      { fileExt: undefined, name: '.mp3', url: 'https://c.test/a' },
      'mp4',
    ],
    ['image default', { fileExt: undefined, name: 'x', mediaType: 'image', url: 'https://c.test/a' }, 'png'],
    ['audio default', { fileExt: undefined, name: 'x', mediaType: 'audio', url: 'https://c.test/a' }, 'mp3'],
    ['unknown type', { fileExt: undefined, name: 'x', mediaType: '../x', url: 'https://c.test/a' }, 'bin'],
    [
      'hostile everything',
      { fileExt: '../', name: 'a./..', mediaType: undefined, url: 'https://c.test/..' },
      'bin',
    ],
  ];

  it.each(cases)('%s', (_label, overrides, expected) => {
    expect(extensionFor(makeAsset(overrides))).toBe(expected);
  });
});

describe('previewExtension', () => {
  it.each([
    ['https://c.test/p/thumb.webp?sig=abc', 'webp'],
    ['https://c.test/p/thumb.JPEG', 'jpeg'],
    ['https://c.test/p/thumb', 'jpg'],
    ['https://c.test/p/x.../..', 'jpg'],
    ['https://c.test/p/x.ab/cd', 'jpg'],
    ['not a url', 'jpg'],
  ])('%s -> %s', (url, expected) => {
    expect(previewExtension(url)).toBe(expected);
  });
});

describe('datePrefix', () => {
  it.each([
    ['2024-08-01T01:02:03.456Z', '2024-08-01'],
    ['2024-08-01T23:30:00-05:00', '2024-08-02'],
    [undefined, 'undated'],
    ['', 'undated'],
    ['not a date', 'undated'],
    ['../../2024', 'undated'],
    ['+275760-09-13T00:00:00.000Z', 'undated'],
    ['2024-08-01', '2024-08-01'],
    ['2024-08-01 23:59:59', '2024-08-01'],
    ['2024-08-01T01:02:03.456789+0200', '2024-07-31'],
    ['2024-02-29T00:00:00Z', '2024-02-29'],
    ['2023-02-29T00:00:00Z', 'undated'],
    ['2024-13-01T00:00:00Z', 'undated'],
    ['2024-08-01T25:00:00Z', 'undated'],
    ['0000-01-01T00:30:00+01:00', 'undated'],
    ['9999-12-31T23:30:00-01:00', 'undated'],
    ['2024', 'undated'],
    ['Thu, 01 Aug 2024 01:02:03 GMT', 'undated'],
    ['2024-08-01T01:02:03Z/../../x', 'undated'],
  ])('%s -> %s', (createdAt, expected) => {
    expect(datePrefix(createdAt)).toBe(expected);
  });
});

describe('mediaFolder', () => {
  it.each([
    ['video', 'video'],
    ['image', 'image'],
    ['audio', 'audio'],
    [undefined, 'other'],
    ['', 'other'],
    ['../../x', 'other'],
    ['Video', 'other'],
  ])('%s -> %s', (mediaType, expected) => {
    expect(mediaFolder(mediaType)).toBe(expected);
  });
});

describe('resolveInside', () => {
  it.each([
    ['a', '/tmp/out/a'],
    ['video/x.mp4', '/tmp/out/video/x.mp4'],
    ['a/../b', '/tmp/out/b'],
    ['..foo', '/tmp/out/..foo'],
  ])('%s resolves inside', (relative, expected) => {
    expect(resolveInside(ROOT, relative)).toBe(expected);
    expect(resolveInside(`${ROOT}/`, relative)).toBe(expected);
  });

  it.each([
    [''],
    ['.'],
    ['a/..'],
    ['..'],
    ['../'],
    ['../../etc/passwd'],
    ['a/../../x'],
    ['../out-evil/x'],
    ['/etc/x'],
    ['/tmp/out/x'],
    ['a\u0000b'],
  ])('%j is refused', (relative) => {
    expect(() => resolveInside(ROOT, relative)).toThrow(UnsafePathError);
  });

  it('is not fooled by a sibling folder sharing the prefix', () => {
    expect(() => resolveInside('/out', '../out-evil')).toThrow(UnsafePathError);
    expect(() => resolveInside('/out', '../out/../out-evil/x')).toThrow(UnsafePathError);
  });

  it('resolves a relative root against the working directory', () => {
    expect(resolveInside('out', 'a')).toBe(path.resolve('out', 'a'));
  });

  it('throws an error carrying the stable code', () => {
    try {
      resolveInside(ROOT, '../x');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UnsafePathError);
      expect((error as UnsafePathError).code).toBe('ERR_UNSAFE_PATH');
    }
  });
});
