import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fileBytes, fileSlice, registerMediaResolver } from '../src/simulator/content.js';

/** The simulator's files as the gallery sees them: real media of exactly the listed size, at any size. */
describe('simulated media files', () => {
  const unregister = registerMediaResolver((seed) => {
    const ext = /^media-(\w+):/.exec(seed)?.[1];
    return ext ? { ext, look: seed } : undefined;
  });

  const jpegSegment = 65_533 + 4;
  const sizes = [
    3000,
    4321,
    65_537,
    jpegSegment * 3,
    jpegSegment * 3 + 1,
    jpegSegment * 3 + 3,
    1024 * 1024 * 2 + 25,
  ];

  it('has the exact size and the same bytes in any range, for every format', () => {
    for (const ext of ['png', 'jpg', 'webp', 'mp4', 'mp3', 'wav']) {
      for (const size of sizes) {
        const seed = `media-${ext}:${size}`;
        const whole = fileBytes(seed, size);
        expect(whole.length, `${ext} ${size}`).toBe(size);
        for (const [a, b] of [
          [0, 7],
          [size - 13, size],
          [Math.floor(size / 3), Math.floor(size / 2)],
        ] as const) {
          expect(fileSlice(seed, size, a, b).equals(whole.subarray(a, b)), `${ext} ${size} ${a}-${b}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('PNG: every chunk has a valid CRC and IEND ends the file', () => {
    for (const size of sizes) {
      const b = fileBytes(`media-png:${size}`, size);
      let p = 8;
      let last = '';
      while (p < b.length) {
        const length = b.readUInt32BE(p);
        last = b.toString('latin1', p + 4, p + 8);
        expect(b.readUInt32BE(p + 8 + length), `${size} ${last} at ${p}`).toBe(
          crc32(b.subarray(p + 4, p + 8 + length)),
        );
        p += 12 + length;
      }
      expect([p, last]).toEqual([size, 'IEND']);
    }
  });

  it('JPEG: markers chain from SOI to the scan; MP4: boxes add up to the size', () => {
    for (const size of sizes) {
      const j = fileBytes(`media-jpg:${size}`, size);
      let p = 2;
      while (j[p + 1] !== 0xda) {
        expect(j[p], `${size} marker at ${p}`).toBe(0xff);
        p += 2 + j.readUInt16BE(p + 2);
      }
      expect(j.subarray(size - 2).toString('hex')).toBe('ffd9');
      // The clip itself is about 8 KB: a smaller size is filler alone.
      if (size < 10_000) continue;
      const m = fileBytes(`media-mp4:${size}`, size);
      let q = 0;
      while (q < size) q += m.readUInt32BE(q);
      expect(q).toBe(size);
    }
    unregister();
  });
});
