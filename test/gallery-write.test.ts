import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonForScript } from '../src/gallery/page.js';
import { GALLERY_NAME, writeGallery } from '../src/gallery/write.js';
import { backup } from '../src/run/backup.js';
import { readManifest } from './helpers/backup-check.js';
import { sim } from './helpers/sim.js';
import { tempDir } from './helpers/tmp.js';

describe('writeGallery', () => {
  it('leaves an up-to-date page alone (only its time would differ) and rewrites one that is out of date', async () => {
    const s = await sim({ assets: 6, hostileNames: true });
    const out = await tempDir();
    await backup({ token: s.token, baseUrl: s.url, out, previews: false });
    const page = path.join(out, GALLERY_NAME);
    const first = await writeGallery({ out });
    expect(first).toMatchObject({ assets: 6, files: 6, missing: 0, damaged: 0 });
    const written = await fs.stat(page);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeGallery({ out });
    // Not replaced: an atomic rewrite would have put a new file (a new inode) in its place.
    expect((await fs.stat(page)).ino).toBe(written.ino);
    expect((await fs.stat(page)).mtimeMs).toBe(written.mtimeMs);

    const gone = Object.values((await readManifest(out)).assets)[0]!.files[0]!.path;
    await fs.rm(path.join(out, gone));
    const after = await writeGallery({ out });
    expect(after).toMatchObject({ assets: 6, missing: 1 });
    expect((await fs.stat(page)).ino).not.toBe(written.ino);
    expect(await fs.readFile(page, 'utf8')).toContain('"state":"missing"');
  });
});

describe('jsonForScript', () => {
  it('escapes what could end or confuse a <script> block, and reads back as the same value', () => {
    const value = { name: '</script><!-- & ]]> \u2028\u2029 ü 日本', n: 1, list: ['<', '>', '&'] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
