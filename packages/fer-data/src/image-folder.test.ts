import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { crc32, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { FerDataError } from './errors.js';
import { loadImageFolder, toGray48 } from './image-folder.js';
import { loadDataset } from './load.js';

function png(w: number, h: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = f(x, y);
    const o = (y * w + x) * 4;
    p.data[o] = r; p.data[o + 1] = g; p.data[o + 2] = b; p.data[o + 3] = 255;
  }
  return PNG.sync.write(p);
}
const grad = (x: number, y: number): [number, number, number] => [(x * 5) & 255, (y * 5) & 255, 100];

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
  const put = (rel: string, data: Buffer) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
  };
  put('train/happy/Training_2.png', png(48, 48, (x) => [x * 5, x * 5, x * 5]));
  put('train/angry/Training_1.png', png(96, 96, grad)); // colour, other size
  put('test/sad/PrivateTest_9.png', png(48, 48, () => [10, 10, 10]));
  put('test/sad/PublicTest_3.png', png(24, 24, () => [200, 200, 200]));
  const raw = Buffer.alloc(48 * 48 * 4, 128);
  put('test/neutral/PublicTest_4.jpg', Buffer.from(jpeg.encode({ data: raw, width: 48, height: 48 }, 95).data));
  put('train/happy/notes.txt', Buffer.from('ignored: not an image'));
  return root;
}

describe('loadImageFolder', () => {
  it('reads <root>/<split>/<class>/*, splits from file-name prefixes, converts to 48x48 gray', async () => {
    const root = tree();
    const ds = await loadImageFolder(root);
    expect(ds.count).toBe(5);
    // ordered by split, class, name
    expect(Array.from(ds.splits)).toEqual([0, 0, 1, 1, 2]);
    expect(Array.from(ds.labels)).toEqual([0, 3, 4, 6, 4]);
    // BT.601 gray of (x*5/2-ish, ...) for the 96x96 colour image: area average of 2x2 blocks
    const x = 10, y = 7;
    const expected = Math.round(
      [0, 1].flatMap((dy) => [0, 1].map((dx) => 0.299 * (((2 * x + dx) * 5) & 255) + 0.587 * (((2 * y + dy) * 5) & 255) + 0.114 * 100)).reduce((a, b) => a + b) / 4,
    );
    expect(ds.pixels[y * 48 + x]).toBe(expected);
    expect(ds.pixels[2304 + 47]).toBe(235); // gray png kept as is
    expect(ds.pixels[2 * 2304 + 100]).toBe(200); // 24x24 enlarged
    expect(Math.abs(ds.pixels[3 * 2304 + 500] - 128)).toBeLessThanOrEqual(2); // jpeg
    expect(ds.pixels[4 * 2304]).toBe(10);
    expect((await loadDataset(root)).count).toBe(5); // auto-detected
  });
  it('an unreadable image throws naming its path, or is skipped and counted', async () => {
    const root = tree();
    const bad = join(root, 'train', 'fear', 'Training_7.png');
    mkdirSync(join(root, 'train', 'fear'));
    writeFileSync(bad, Buffer.from('\x89PNG broken'));
    try {
      await loadImageFolder(root);
      throw new Error('no throw');
    } catch (e) {
      expect((e as FerDataError).code).toBe('E_BAD_IMAGE');
      expect((e as Error).message).toContain(bad);
    }
    const seen: string[] = [];
    const ds = await loadDataset(root, { onBadRow: 'skip', onSkip: (b) => seen.push(b.file) });
    expect(ds.skipped).toBe(1);
    expect(ds.count).toBe(5);
    expect(seen).toEqual([bad]);
  });
  it('reads <root>/<class>/* (no split level) as Training unless a prefix says otherwise', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
    mkdirSync(join(root, 'Happy'));
    mkdirSync(join(root, '5'));
    writeFileSync(join(root, 'Happy', 'a.png'), png(48, 48, () => [1, 1, 1]));
    writeFileSync(join(root, '5', 'PublicTest_1.png'), png(48, 48, () => [2, 2, 2]));
    const ds = await loadImageFolder(root);
    expect(Array.from(ds.labels)).toEqual([3, 5]);
    expect(Array.from(ds.splits)).toEqual([0, 1]);
  });
  it('rejects unknown folders and empty trees', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
    mkdirSync(join(root, 'train', 'grumpy'), { recursive: true });
    await expect(loadImageFolder(root)).rejects.toMatchObject({ code: 'E_BAD_LABEL' });
    const empty = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
    mkdirSync(join(empty, 'train', 'happy'), { recursive: true });
    await expect(loadImageFolder(empty)).rejects.toMatchObject({ code: 'E_EMPTY_INPUT' });
    const other = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
    mkdirSync(join(other, 'stuff'));
    await expect(loadImageFolder(other)).rejects.toMatchObject({ code: 'E_UNKNOWN_FORMAT' });
  });
  it('follows symlinked class and split folders (never drops them silently); a dangling or looping link is E_FS naming it', async () => {
    const root = tree();
    const elsewhere = mkdtempSync(join(tmpdir(), 'fer-data-img-other-'));
    mkdirSync(join(elsewhere, 'disgust'));
    writeFileSync(join(elsewhere, 'disgust', 'Training_5.png'), png(48, 48, () => [3, 3, 3]));
    symlinkSync(join(elsewhere, 'disgust'), join(root, 'train', 'disgust'));
    const ds = await loadImageFolder(root);
    expect(ds.count).toBe(6);
    expect(Array.from(ds.labels).filter((l) => l === 1)).toHaveLength(1);
    // a whole split folder linked in
    const splitLinked = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
    symlinkSync(join(root, 'train'), join(splitLinked, 'train'));
    expect((await loadImageFolder(splitLinked)).count).toBe(3); // happy, angry and the linked disgust
    // a link that leads nowhere
    symlinkSync(join(elsewhere, 'no-such-folder'), join(root, 'train', 'fear'));
    await expect(loadImageFolder(root)).rejects.toMatchObject({ code: 'E_FS', message: expect.stringContaining(`${join(root, 'train', 'fear')}: a symlink that cannot be followed (ENOENT: its target does not exist)`) });
  });
  it('an image that cannot be read (a symlink loop) says so, without the decoding hint', async () => {
    const root = tree();
    symlinkSync(join(root, 'train', 'happy', 'loop.png'), join(root, 'train', 'happy', 'loop.png'));
    await expect(loadImageFolder(root)).rejects.toMatchObject({ code: 'E_BAD_IMAGE', message: expect.stringMatching(/loop\.png: cannot read the file \(ELOOP: a symlink loop/) });
    await expect(loadImageFolder(root)).rejects.not.toThrow(/onBadRow/);
  });
  it('toGray48 validates its input', () => {
    expect(() => toGray48({ data: new Uint8Array(3), width: 2, height: 2, channels: 1 }, new Uint8Array(2304))).toThrow(/expected 4/);
  });
  it('a PNG declaring more pixels than the cap is rejected from its header, before decoding', async () => {
    // A tiny file (under 100 bytes) whose IHDR says 20000x20000: decoded it would need 1.6 GB of RGBA.
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const len = Buffer.alloc(4), crc = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      crc.writeUInt32BE(crc32(body));
      return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(20000, 0);
    ihdr.writeUInt32BE(20000, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 0; // gray
    const file = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(20001 * 2))), chunk('IEND', Buffer.alloc(0))]);
    expect(file.length).toBeLessThan(200);
    const root = mkdtempSync(join(tmpdir(), 'fer-data-img-'));
    mkdirSync(join(root, 'train', 'happy'), { recursive: true });
    const big = join(root, 'train', 'happy', 'huge.png');
    writeFileSync(big, file);
    writeFileSync(join(root, 'train', 'happy', 'ok.png'), png(48, 48, grad));
    const e = await loadImageFolder(root).then(() => null, (x: FerDataError) => x);
    expect(e?.code).toBe('E_BAD_IMAGE');
    expect(e?.message).toContain(`${big}: PNG is 20000x20000 (400,000,000 pixels, 1.5 GiB as RGBA), expected at most 33,554,432 pixels`);
    const ds = await loadImageFolder(root, { onBadImage: 'skip' });
    expect(ds).toMatchObject({ count: 1, skipped: 1 });
  });
});
