import { crc32, deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, MAX_IMAGE_PIXELS, readImageHeader } from './image.js';
import type { FerDataError } from './errors.js';

/**
 * A PNG whose IHDR declares w x h gray pixels, with only the first 1,000 rows of zeros in its IDAT (a real bomb
 * deflates all rows to under 1 MB; building one takes seconds, and the header is all the check reads).
 */
function pngBomb(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4), crc = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  const rows = deflateSync(Buffer.alloc((w + 1) * Math.min(h, 1000)), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

const rgba = (w: number, h: number) => new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 256));

describe('readImageHeader', () => {
  it('reads PNG and JPEG sizes from the header, null otherwise', () => {
    const png = new PNG({ width: 37, height: 21 });
    png.data.set(rgba(37, 21));
    expect(readImageHeader(PNG.sync.write(png))).toEqual({ format: 'png', width: 37, height: 21 });
    const jpg = jpeg.encode({ data: rgba(50, 31), width: 50, height: 31 }, 90).data;
    expect(readImageHeader(jpg)).toEqual({ format: 'jpeg', width: 50, height: 31 });
    expect(readImageHeader(jpg.subarray(0, 20))).toBeNull(); // cut before the frame header
    expect(readImageHeader(Buffer.from('GIF89a...'))).toBeNull();
    expect(readImageHeader(new Uint8Array(0))).toBeNull();
  });
});

describe('decodeImage', () => {
  it('decodes PNG and JPEG to RGBA', () => {
    const png = new PNG({ width: 3, height: 2 });
    png.data.set(rgba(3, 2));
    expect(decodeImage(PNG.sync.write(png))).toMatchObject({ width: 3, height: 2, channels: 4, data: rgba(3, 2) });
    const j = decodeImage(jpeg.encode({ data: rgba(16, 8), width: 16, height: 8 }, 90).data);
    expect([j.width, j.height, j.data.length]).toEqual([16, 8, 512]);
  });

  it('refuses a 30000x30000 PNG bomb of under 1 MB from its header, before decoding', () => {
    const bomb = pngBomb(30000, 30000);
    expect(bomb.length).toBeLessThan(1_000_000);
    const before = process.memoryUsage().rss;
    const e = (() => { try { decodeImage(bomb, { name: 'bomb.png' }); } catch (x) { return x as FerDataError; } })();
    expect(e?.code).toBe('E_BAD_IMAGE');
    expect(e?.message).toContain('bomb.png: PNG is 30000x30000 (900,000,000 pixels, 3.4 GiB as RGBA), expected at most 33,554,432 pixels');
    expect(e?.message).toContain('refused before decoding');
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);
  });

  it('refuses a JPEG whose frame header declares too many pixels', () => {
    const jpg = Buffer.from(jpeg.encode({ data: rgba(16, 16), width: 16, height: 16 }, 90).data);
    const h = readImageHeader(jpg)!;
    expect(h.width).toBe(16);
    // Patch the SOF0 size to 60000x60000.
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(60000, sof + 5);
    jpg.writeUInt16BE(60000, sof + 7);
    expect(() => decodeImage(jpg, { name: 'big.jpg', maxPixels: MAX_IMAGE_PIXELS })).toThrow(/big\.jpg: JPEG is 60000x60000 .* refused before decoding/);
  });

  it('decodes a valid JPEG within the pixel cap whatever jpeg-js would count (issue 22, item 11: it was "truncated or damaged")', () => {
    // jpeg-js counts ~22 bytes per pixel for a 4:4:4 colour JPEG; its limit was 10 per pixel of the cap, so a valid
    // 4096x4096 photo (half the default cap) failed. Here the same at a cap of 1,000,000 pixels with a 1000x1000 JPEG.
    const jpg = jpeg.encode({ data: rgba(1000, 1000), width: 1000, height: 1000 }, 50).data;
    const img = decodeImage(jpg, { name: 'photo.jpg', maxPixels: 1_000_000 });
    expect([img.width, img.height, img.data.length]).toEqual([1000, 1000, 4_000_000]);
  });

  it('a smaller cap applies; damaged and unknown files are E_BAD_IMAGE naming the file', () => {
    const png = new PNG({ width: 10, height: 10 });
    const buf = PNG.sync.write(png);
    expect(() => decodeImage(buf, { name: 'a.png', maxPixels: 99 })).toThrow(/a\.png: PNG is 10x10 .*expected at most 99 pixels/);
    expect(() => decodeImage(buf.subarray(0, 40), { name: 'cut.png' })).toThrow(/could not decode cut\.png \(40 bytes\) as PNG/);
    expect(() => decodeImage(Buffer.from('hello'), { name: 'x.gif' })).toThrow(/x\.gif \(5 bytes\) is neither PNG nor JPEG/);
  });
});
