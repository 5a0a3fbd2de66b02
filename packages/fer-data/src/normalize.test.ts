import { describe, expect, it } from 'vitest';
import { createDataset } from './dataset.js';
import { fitNormalizer, normalizerFromJSON } from './normalize.js';

// 3 images: two "training" (constant 10 and 30) and one test image (constant 200) that must not influence fitting.
const px = new Uint8Array(3 * 2304);
px.fill(10, 0, 2304);
px.fill(30, 2304, 4608);
px.fill(200, 4608);
px[5] = 50; // pixel 5 of image 0
const ds = createDataset({ pixels: px, labels: Uint8Array.from([0, 1, 2]), splits: Uint8Array.from([0, 0, 1]) });

describe('normalizers', () => {
  it('global: (x - mean) / std on training rows only', () => {
    const n = fitNormalizer(ds, [0, 1], { kind: 'global' });
    const j = n.toJSON();
    expect(j.mean).toBeCloseTo((10 * 2303 + 50 + 30 * 2304) / 4608, 9);
    const x = n.apply(px.subarray(0, 2304), 1);
    expect(x[0]).toBeCloseTo((10 - j.mean!) / j.std!, 5);
  });
  it("mean-image (the paper's): subtract the per-pixel training mean", () => {
    const n = fitNormalizer(ds, [0, 1], { kind: 'mean-image', scale: 'none' });
    const j = n.toJSON();
    expect(j.meanImage![0]).toBe(20);
    expect(j.meanImage![5]).toBe(40);
    const x = n.apply(px.subarray(4608), 1);
    expect(x[0]).toBeCloseTo(180 / 255, 6);
    expect(x[5]).toBeCloseTo(160 / 255, 6);
    const s = fitNormalizer(ds, [0, 1], { kind: 'mean-image' });
    expect(s.apply(px.subarray(4608), 1)[0]).toBeCloseTo(180 / s.toJSON().std!, 5);
  });
  it('per-image standardization and unit scaling', () => {
    const n = fitNormalizer(ds, [0], { kind: 'per-image' });
    const x = n.apply(px, 3);
    let m = 0;
    for (let i = 0; i < 2304; i++) m += x[i];
    expect(Math.abs(m / 2304)).toBeLessThan(1e-5);
    expect(x[4608]).toBe(0); // constant image: std floored, no NaN
    expect(fitNormalizer(ds, [0], { kind: 'unit' }).apply(px, 1)[5]).toBeCloseTo(50 / 255, 6);
  });
  it('round-trips through JSON and rejects bad JSON', () => {
    for (const kind of ['mean-image', 'global', 'per-image', 'unit'] as const) {
      const n = fitNormalizer(ds, [0, 1], { kind });
      const back = normalizerFromJSON(JSON.parse(JSON.stringify(n.toJSON())));
      expect(back.apply(px, 3)).toEqual(n.apply(px, 3));
    }
    expect(() => normalizerFromJSON({ kind: 'global', width: 48, height: 48, mean: 1, std: 0 })).toThrow(/"std" is 0/);
    expect(() => normalizerFromJSON({ kind: 'mean-image', width: 48, height: 48, std: 1, meanImage: [1, 2] })).toThrow(/expected 2304/);
    expect(() => normalizerFromJSON({ kind: 'zca' } as never)).toThrow();
    expect(() => fitNormalizer(ds, [], { kind: 'global' })).toThrow(/got 0 indices/);
    expect(() => fitNormalizer(ds, [0], { kind: 'global', foo: 1 } as never)).toThrow(/unknown option "foo"/);
  });
});
