import { mulberry32 } from '@fer/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { FerHogError, HOG_DEFAULTS, PAPER_HOG_OPTIONS, hog, hogBatch, hogBatchParallel, hogImage, hogLength } from './index.js';
import type { FerHogErrorCode, HogPicture } from './index.js';

function noise(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function codeOf(fn: () => unknown): { code: FerHogErrorCode; message: string } {
  try {
    fn();
  } catch (e) {
    expect((e as FerHogError).name).toBe('FerHogError');
    return { code: (e as FerHogError).code, message: (e as Error).message };
  }
  throw new Error('expected a FerHogError, nothing was thrown');
}

describe('hogLength', () => {
  it('counts blocks x cells per block x orientations as scikit-image does', () => {
    expect(hogLength(48, 48)).toBe(1296); // 4x4 blocks of 3x3 cells x 9
    expect(hogLength(48, 48, PAPER_HOG_OPTIONS)).toBe(900); // 5x5 blocks of 2x2 cells x 9
    // 37 rows x 50 cols, 8x8 cells -> 4 x 6 cells (partial cells ignored) -> 2 x 4 blocks of 3x3
    expect(hogLength(50, 37)).toBe(2 * 4 * 9 * 9);
    // [rows, cols] order: 48 wide, 24 high, 8x6 cells -> 3 x 8 cells -> 2 x 6 blocks of 2x3
    expect(hogLength(48, 24, { pixelsPerCell: [8, 6], cellsPerBlock: [2, 3] })).toBe(2 * 6 * 6 * 9);
  });
});

describe('hog', () => {
  it('returns zeros for a constant image and unit-norm L2 blocks for a textured one', () => {
    const flat = hog({ data: new Uint8Array(48 * 48).fill(128), width: 48, height: 48 });
    expect(flat.every((v) => v === 0)).toBe(true);
    const f = hog({ data: noise(48 * 48, 1), width: 48, height: 48 }, { ...PAPER_HOG_OPTIONS, blockNorm: 'L2' });
    for (let b = 0; b < 25; b++) {
      let s = 0;
      for (let i = 0; i < 36; i++) s += f[b * 36 + i] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it('L2-Hys = L2, clipped at 0.2, renormalized (Dalal & Triggs 2005 §6.4)', () => {
    const img = new Uint8Array(48 * 48);
    for (let i = 0; i < 48; i++) img[i * 48 + ((i * 3) % 48)] = 255; // a few strong, sparse edges
    const hys = hog({ data: img, width: 48, height: 48 }, PAPER_HOG_OPTIONS);
    const l2 = hog({ data: img, width: 48, height: 48 }, { ...PAPER_HOG_OPTIONS, blockNorm: 'L2' });
    expect(l2.some((v) => v > 0.25)).toBe(true); // the clip does something here
    for (let b = 0; b < 25; b++) {
      const clipped = Array.from(l2.subarray(b * 36, (b + 1) * 36), (v) => Math.min(v, 0.2));
      const n = Math.hypot(...clipped);
      clipped.forEach((v, i) => expect(hys[b * 36 + i]).toBeCloseTo(n > 0 ? v / n : 0, 5));
    }
  });

  it('reads a Float32Array of the same integers like the Uint8Array', () => {
    const u8 = noise(40 * 33, 2);
    const a = hog({ data: u8, width: 40, height: 33 }, { pixelsPerCell: [5, 4] });
    const b = hog({ data: Float32Array.from(u8), width: 40, height: 33 }, { pixelsPerCell: [5, 4] });
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
  });

  it('ignores the partial cells at the right and bottom border', () => {
    const a = noise(50 * 37, 3);
    const b = a.slice();
    for (let y = 0; y < 37; y++) for (let x = 0; x < 50; x++) if (y >= 33 || x >= 49) b[y * 50 + x] = 0;
    // Rows >= 33 and cols >= 49 only feed gradients of pixels outside the 4 x 6 complete cells.
    expect(hog({ data: b, width: 50, height: 37 })).toEqual(hog({ data: a, width: 50, height: 37 }));
    b[31 * 50 + 5] ^= 0xff; // inside a complete cell: the features change
    expect(hog({ data: b, width: 50, height: 37 })).not.toEqual(hog({ data: a, width: 50, height: 37 }));
  });

  it('does not change the frozen defaults', () => {
    expect(HOG_DEFAULTS).toEqual({ orientations: 9, pixelsPerCell: [8, 8], cellsPerBlock: [3, 3], blockNorm: 'L2-Hys', transformSqrt: false });
    expect(Object.isFrozen(HOG_DEFAULTS) && Object.isFrozen(PAPER_HOG_OPTIONS)).toBe(true);
  });
});

describe('hogBatch', () => {
  it('equals hog image by image, whatever the order (scratch buffers carry nothing over)', () => {
    const size = 48 * 48;
    const a = noise(size, 4);
    const b = new Uint8Array(size).fill(7);
    const c = noise(size, 5);
    const pixels = new Uint8Array(4 * size);
    [a, b, c, a].forEach((im, i) => pixels.set(im, i * size));
    const out = hogBatch(pixels, { count: 4, width: 48, height: 48, ...PAPER_HOG_OPTIONS });
    const len = hogLength(48, 48, PAPER_HOG_OPTIONS);
    expect(out.length).toBe(4 * len);
    [a, b, c, a].forEach((im, i) => {
      expect(out.subarray(i * len, (i + 1) * len)).toEqual(hog({ data: im, width: 48, height: 48 }, PAPER_HOG_OPTIONS));
    });
  });

  it('writes into a caller-provided out buffer, and checks its size', () => {
    const pixels = noise(2 * 2304, 11);
    const out = new Float32Array(3 * 900).fill(-1);
    const view = out.subarray(900);
    const res = hogBatch(pixels, { count: 2, width: 48, height: 48, ...PAPER_HOG_OPTIONS, out: view });
    expect(res).toBe(view);
    expect(out.subarray(0, 900).every((v) => v === -1)).toBe(true);
    expect(view).toEqual(hogBatch(pixels, { count: 2, width: 48, height: 48, ...PAPER_HOG_OPTIONS }));
    const e = codeOf(() => hogBatch(pixels, { count: 2, width: 48, height: 48, ...PAPER_HOG_OPTIONS, out }));
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.message).toContain('1800');
  });

  it('takes float32 batches with transformSqrt', () => {
    const r = mulberry32(6);
    const pixels = Float32Array.from({ length: 3 * 20 * 16 }, () => r() * 4);
    const opts = { orientations: 6, pixelsPerCell: [4, 4] as const, cellsPerBlock: [2, 2] as const, transformSqrt: true };
    const out = hogBatch(pixels, { count: 3, width: 16, height: 20, ...opts });
    const len = hogLength(16, 20, opts);
    expect(out.subarray(2 * len)).toEqual(hog({ data: pixels.subarray(2 * 320), width: 16, height: 20 }, opts));
  });
});

describe('validation (typed errors naming the value and what is allowed)', () => {
  const img = { data: new Uint8Array(48 * 48), width: 48, height: 48 };

  it('rejects unknown norms, listing the allowed ones', () => {
    const e = codeOf(() => hog(img, { blockNorm: 'L3' as never }));
    expect(e.code).toBe('E_UNKNOWN_NORM');
    expect(e.message).toContain('"L3"');
    expect(e.message).toContain("'L1', 'L1-sqrt', 'L2', 'L2-Hys'");
  });

  it('rejects unknown option keys and bad option values', () => {
    const unknown = codeOf(() => hog(img, { orientation: 9 } as never));
    expect(unknown.code).toBe('E_BAD_OPTION');
    expect(unknown.message).toContain('"orientation"');
    expect(unknown.message).toContain('orientations');
    for (const bad of [{ orientations: 0 }, { orientations: 2.5 }, { pixelsPerCell: [0, 8] }, { cellsPerBlock: [2] }, { transformSqrt: 'yes' }]) {
      expect(codeOf(() => hog(img, bad as never)).code).toBe('E_BAD_OPTION');
    }
    expect(codeOf(() => hogLength(48, 48, { pixelsPerCell: [8, -1] } as never)).message).toContain('[8, -1]');
  });

  it('rejects bad sizes and buffers of the wrong length or type', () => {
    for (const [w, h] of [[0, 48], [48, 1.5], [Number.NaN, 48], [-4, 48]]) {
      const e = codeOf(() => hogLength(w, h));
      expect(e.code).toBe('E_BAD_SIZE');
    }
    const short = codeOf(() => hog({ data: new Uint8Array(100), width: 48, height: 48 }));
    expect(short.code).toBe('E_BAD_IMAGE');
    expect(short.message).toContain('100');
    expect(short.message).toContain('2304');
    expect(codeOf(() => hog({ data: new Int16Array(2304) as never, width: 48, height: 48 })).code).toBe('E_BAD_IMAGE');
    expect(codeOf(() => hog(null as never)).code).toBe('E_BAD_IMAGE');
    const neg = Float32Array.from({ length: 2304 }, (_, i) => (i === 5 ? -1 : 1));
    expect(codeOf(() => hog({ data: neg, width: 48, height: 48 }, { transformSqrt: true })).code).toBe('E_BAD_IMAGE');
  });

  it('rejects cells larger than the image and blocks larger than the cell grid', () => {
    const cells = codeOf(() => hog({ data: new Uint8Array(6 * 10), width: 10, height: 6 }));
    expect(cells.code).toBe('E_CELL_TOO_LARGE');
    expect(cells.message).toContain('[8, 8]');
    const blocks = codeOf(() => hogLength(16, 48, { cellsPerBlock: [3, 3] })); // 6 x 2 cells
    expect(blocks.code).toBe('E_CELL_TOO_LARGE');
    expect(blocks.message).toContain('6 x 2 cells');
    expect(codeOf(() => hogImage({ data: new Uint8Array(4), width: 2, height: 2 })).code).toBe('E_CELL_TOO_LARGE');
  });

  it('checks hogBatch counts and points workers to hogBatchParallel', () => {
    const base = { width: 48, height: 48, count: 2 };
    const e = codeOf(() => hogBatch(new Uint8Array(2304 * 3), base));
    expect(e.code).toBe('E_BAD_IMAGE');
    expect(e.message).toContain('6912');
    expect(codeOf(() => hogBatch(new Uint8Array(0), { ...base, count: 0 })).code).toBe('E_BAD_SIZE');
    expect(codeOf(() => hogBatch(new Uint8Array(2304 * 2), { ...base, workers: 2 } as never)).message).toContain('hogBatchParallel');
    expect(codeOf(() => hogBatch(new Uint8Array(2304 * 2), { ...base, batch: 1 } as never)).code).toBe('E_BAD_OPTION');
    expect(hogBatch(new Uint8Array(2304 * 2), { ...base, workers: 0 }).length).toBe(2 * 1296);
  });
});

describe('types (checked by tsc over the test files)', () => {
  it('hogBatch returns a Float32Array, never a union with a Promise; hogBatchParallel returns a Promise', () => {
    expectTypeOf(hogBatch).returns.toEqualTypeOf<Float32Array>();
    expectTypeOf(hogBatchParallel).returns.toEqualTypeOf<Promise<Float32Array>>();
    expectTypeOf(hogImage).returns.toEqualTypeOf<HogPicture>();
    // Plain number arrays (e.g. from a JSON config) are accepted for the [rows, cols] pairs.
    const fromJson: { pixelsPerCell: number[]; cellsPerBlock: number[] } = { pixelsPerCell: [8, 8], cellsPerBlock: [2, 2] };
    expect(hogLength(48, 48, fromJson)).toBe(900);
  });
});

describe('hogBatchParallel', () => {
  it('splits the images over worker threads and returns exactly what hogBatch returns', async () => {
    const count = 7;
    const pixels = noise(count * 48 * 48, 9);
    const sync = hogBatch(pixels, { count, width: 48, height: 48, ...PAPER_HOG_OPTIONS });
    const par = await hogBatchParallel(pixels, { count, width: 48, height: 48, ...PAPER_HOG_OPTIONS, workers: 3 });
    expect(par).toEqual(sync);
    expect(pixels).toEqual(noise(count * 48 * 48, 9)); // the caller's buffer is neither detached nor changed
    const r = mulberry32(10);
    const f32 = Float32Array.from({ length: 5 * 20 * 16 }, () => r() * 3);
    const opts = { count: 5, width: 16, height: 20, pixelsPerCell: [4, 4] as const, cellsPerBlock: [2, 2] as const, transformSqrt: true };
    expect(await hogBatchParallel(f32, { ...opts, workers: 2 })).toEqual(hogBatch(f32, opts));
    expect(await hogBatchParallel(f32, { ...opts, workers: 0 })).toEqual(hogBatch(f32, opts));
  });

  it('leaves a caller-owned Node Buffer usable (its chunks are copied, not transferred)', async () => {
    const buf = Buffer.from(noise(4 * 2304, 12));
    const before = Buffer.from(buf);
    const par = await hogBatchParallel(buf, { count: 4, width: 48, height: 48, workers: 2 });
    expect(buf.byteLength).toBe(4 * 2304);
    expect(buf.equals(before)).toBe(true);
    expect(par).toEqual(hogBatch(before, { count: 4, width: 48, height: 48 }));
  });

  it('rejects a bad worker count with a typed error', async () => {
    await expect(hogBatchParallel(new Uint8Array(2304), { count: 1, width: 48, height: 48, workers: -1 })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
});
