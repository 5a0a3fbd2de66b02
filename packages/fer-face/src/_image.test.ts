import { describe, expect, it } from 'vitest';
import { letterboxRgb, readPixels, sampleSquare, toGray, type Pixels } from './_image.js';

const gray = (w: number, h: number, f: (x: number, y: number) => number): Pixels => {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { data, width: w, height: h, channels: 1 };
};

describe('readPixels', () => {
  it('takes RGBA by default and checks the byte count, channels and size', async () => {
    const p = await readPixels('t', { data: new Uint8ClampedArray(16), width: 2, height: 2 });
    expect(p.channels).toBe(4);
    await expect(readPixels('t', { data: new Uint8Array(12), width: 2, height: 2 })).rejects.toMatchObject({ code: 'E_BAD_IMAGE', message: expect.stringContaining('expected 16') });
    await expect(readPixels('t', { data: new Uint8Array(12), width: 2, height: 2, channels: 2 as never })).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
    await expect(readPixels('t', { data: new Uint8Array(0), width: 0, height: 0 })).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
    await expect(readPixels('t', { data: [1, 2, 3] as never, width: 1, height: 1, channels: 3 })).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
    await expect(readPixels('t', 'photo.png' as never)).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
  });
});

describe('letterboxRgb', () => {
  it('centres a wide image with black bars and maps 0-255 to [-1, 1]', () => {
    const img = gray(40, 20, () => 255);
    const { data, box } = letterboxRgb(img, 8);
    expect(box).toEqual({ scale: 5, padX: 0, padY: 10 });
    const at = (x: number, y: number) => data[(y * 8 + x) * 3];
    expect(at(0, 0)).toBe(-1); // bar
    expect(at(3, 1)).toBe(-1);
    expect(at(3, 2)).toBeCloseTo(1, 5); // image rows 0..4
    expect(at(3, 5)).toBeCloseTo(1, 5);
    expect(at(3, 6)).toBe(-1);
  });

  it('resamples only the region given, its coordinates relative to the region', () => {
    // 0 left of x = 20, 255 from there on; the region x 20-29, y 5-14 is all 255.
    const img = gray(40, 20, (x) => (x < 20 ? 0 : 255));
    const { data, box } = letterboxRgb(img, 5, { x: 20, y: 5, width: 10, height: 10 });
    expect(box).toEqual({ scale: 2, padX: 0, padY: 0 });
    for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(1, 5);
    // A region straddling the step: its left half is black.
    const half = letterboxRgb(img, 4, { x: 16, y: 0, width: 8, height: 8 }).data;
    expect([half[0], half[3], half[6], half[9]].map((v) => Math.round(v))).toEqual([-1, -1, 1, 1]);
  });

  it('area-averages when shrinking', () => {
    const img = gray(16, 16, (x) => (x % 2 ? 255 : 0)); // stripes average to 127.5
    const { data } = letterboxRgb(img, 4);
    for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(0, 5);
  });
});

describe('toGray', () => {
  it('uses the chosen luma and ignores alpha', () => {
    const img: Pixels = { data: new Uint8Array([255, 0, 0, 0, 0, 255, 0, 255]), width: 2, height: 1, channels: 4 };
    expect([...toGray(img, 'bt601')].map((v) => +v.toFixed(3))).toEqual([76.245, 149.685]);
    expect([...toGray(img, 'bt709')].map((v) => +v.toFixed(3))).toEqual([54.213, 182.376]);
  });
});

describe('sampleSquare', () => {
  const ramp = gray(48, 48, (x, y) => x * 5 + y);
  const g = toGray(ramp, 'bt601');

  it('is the identity for the whole image at scale 1 and no rotation', () => {
    const out = new Uint8Array(48 * 48);
    sampleSquare(g, 48, 48, { cx: 24, cy: 24, side: 48, angle: 0 }, 48, out, 0);
    expect(out).toEqual(ramp.data);
  });

  it('averages 2x2 blocks when the square is twice the output', () => {
    const big = gray(96, 96, (x, y) => (x % 2) * 100 + (y % 2) * 40);
    const out = new Uint8Array(48 * 48);
    sampleSquare(toGray(big, 'bt601'), 96, 96, { cx: 48, cy: 48, side: 96, angle: 0 }, 48, out, 0);
    expect(new Set(out)).toEqual(new Set([70]));
  });

  it('rotates: a quarter turn maps image columns to crop rows', () => {
    const out = new Uint8Array(48 * 48);
    sampleSquare(g, 48, 48, { cx: 24, cy: 24, side: 48, angle: Math.PI / 2 }, 48, out, 0);
    // crop (u, v) samples image (x, y) = (47 - v, u): value 5 (47 - v) + u
    expect(out[0 * 48 + 0]).toBe(5 * 47);
    expect(out[10 * 48 + 3]).toBe(5 * 37 + 3);
  });
});
