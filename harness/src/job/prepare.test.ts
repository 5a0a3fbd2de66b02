import { createBatcher, makeSyntheticFer } from '@fer/data';
import { hogBatch, PAPER_HOG_OPTIONS } from '@fer/hog';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from './spec.js';
import { augmentSpecs, prepareData, rowSets, stratifiedSubset, trainSource } from './prepare.js';

const ds = makeSyntheticFer({ seed: 3, counts: { Training: 70, PublicTest: 21, PrivateTest: 21 } });
const spec = { ...DEFAULTS.train, batchSize: 16, trainLimit: 35, evalLimit: 14 };
const hogOf = (px: Uint8Array) => hogBatch(px, { count: 1, width: 48, height: 48, ...PAPER_HOG_OPTIONS });

describe('prepare', () => {
  it('takes stratified, seeded subsets and fits the normalizer on training rows only', () => {
    const rows = rowSets(ds, spec);
    expect(rows.train.length).toBeGreaterThanOrEqual(30);
    expect(rows.train.length).toBeLessThanOrEqual(40);
    expect(rowSets(ds, spec).train).toEqual(rows.train);
    expect(stratifiedSubset(ds.labels, rows.val, 0)).toBe(rows.val);
    const data = prepareData(ds, rows, spec, undefined);
    expect(data.normalizer.toJSON().kind).toBe('mean-image');
    expect(data.val.x.length).toBe(rows.val.length * 2304);
    expect(data.val.hog).toBeUndefined();
  });

  it('maps the augment string onto @fer/data specs and rejects unknown names', () => {
    expect(augmentSpecs('hflip, shift')).toEqual([{ name: 'hflip' }, { name: 'shift' }]);
    expect(augmentSpecs('')).toEqual([]);
    expect(() => augmentSpecs('hflip,twirl')).toThrow(/twirl/);
  });

  it('gives hybrids the HOG of the image each sample shows (original or mirrored), seeded', () => {
    const data = prepareData(ds, rowSets(ds, spec), spec, PAPER_HOG_OPTIONS);
    const src = trainSource(ds, data, spec, 5);
    let flips = 0, plain = 0;
    for (const b of src.epoch(1)) {
      expect(b.hog!.length).toBe(b.size * 900);
      for (let j = 0; j < b.size; j++) {
        const img = b.x.subarray(j * 2304, (j + 1) * 2304);
        const got = b.hog!.subarray(j * 900, (j + 1) * 900);
        const row = b.indices[j];
        const raw = ds.pixels.subarray(row * 2304, (row + 1) * 2304);
        const shows = (px: Uint8Array) => data.normalizer.apply(px, 1).every((v, p) => Math.abs(v - img[p]) < 1e-5);
        const asIs = shows(raw), mirrored = shows(mirror(raw, 1));
        expect(asIs || mirrored).toBe(true);
        expect(Array.from(got)).toEqual(Array.from(hogOf(asIs ? raw : mirror(raw, 1))));
        if (asIs) plain++;
        else flips++;
      }
    }
    expect(flips).toBeGreaterThan(0);
    expect(plain).toBeGreaterThan(0);
    const again = [...trainSource(ds, data, spec, 5).epoch(1)].map((b) => Array.from(b.hog!.subarray(0, 20)));
    expect(again).toEqual([...src.epoch(1)].map((b) => Array.from(b.hog!.subarray(0, 20))));
  });

  it('gives hybrids the HOG of the augmented image for any augmentation (hflip,shift), seeded', () => {
    const hspec = { ...spec, augment: 'hflip,shift' };
    const data = prepareData(ds, rowSets(ds, hspec), hspec, PAPER_HOG_OPTIONS);
    const src = trainSource(ds, data, hspec, 5);
    // the same batches, with their raw (augmented, 0-255) images, straight from @fer/data
    const batcher = createBatcher({ dataset: ds, indices: data.rows.train, batchSize: hspec.batchSize, seed: 5, augment: augmentSpecs(hspec.augment), normalizer: data.normalizer, keepRaw: true });
    const want = [...batcher.epoch(1)];
    const got = [...src.epoch(1)];
    expect(got.length).toBe(want.length);
    let shifted = 0;
    got.forEach((b, k) => {
      const w = want[k];
      expect(b.indices).toEqual(w.indices);
      expect(b.x).toEqual(w.x);
      expect(b.hog).toEqual(hogBatch(w.raw!, { count: w.size, width: 48, height: 48, ...PAPER_HOG_OPTIONS }));
      for (let j = 0; j < b.size; j++) {
        const row = b.indices[j], raw = ds.pixels.subarray(row * 2304, (row + 1) * 2304);
        const img = w.raw!.subarray(j * 2304, (j + 1) * 2304);
        const is = (px: Uint8Array) => img.every((v, p) => v === px[p]);
        if (!is(raw) && !is(mirror(raw, 1))) shifted++;
      }
    });
    expect(shifted).toBeGreaterThan(0);
    expect([...trainSource(ds, data, hspec, 5).epoch(1)].map((b) => b.hog)).toEqual(got.map((b) => b.hog));
  });

  it('without augmentation, hybrid training HOG is that of the data set rows; eval HOG is of the raw rows', () => {
    const nspec = { ...spec, augment: '' };
    const rows = rowSets(ds, nspec);
    const data = prepareData(ds, rows, nspec, PAPER_HOG_OPTIONS);
    const rowsOf = (idx: ArrayLike<number>) => {
      const out = new Uint8Array(idx.length * 2304);
      for (let j = 0; j < idx.length; j++) out.set(ds.pixels.subarray(idx[j] * 2304, (idx[j] + 1) * 2304), j * 2304);
      return out;
    };
    const hogRows = (idx: ArrayLike<number>) => hogBatch(rowsOf(idx), { count: idx.length, width: 48, height: 48, ...PAPER_HOG_OPTIONS });
    for (const b of trainSource(ds, data, nspec, 2).epoch(0)) expect(b.hog).toEqual(hogRows(b.indices));
    expect(data.val.hog).toEqual(hogRows(rows.val));
    expect(data.test.hog).toEqual(hogRows(rows.test));
    expect(data.val.raw).toEqual(rowsOf(rows.val));
  });
});

const PX = 48 * 48;

/** Horizontal mirror of `count` 48x48 images. */
function mirror(pixels: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * PX);
  for (let i = 0; i < count; i++) for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) out[i * PX + y * 48 + x] = pixels[i * PX + y * 48 + 47 - x];
  return out;
}
