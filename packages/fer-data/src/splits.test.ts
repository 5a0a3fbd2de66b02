import { describe, expect, it } from 'vitest';
import { createDataset, subsetDataset } from './dataset.js';
import { dropTestDuplicates, findDuplicates, splitIndices, stratifiedHoldout, stratifiedKFold } from './splits.js';
import { makeSyntheticFer } from './synthetic.js';

const ds = makeSyntheticFer({ seed: 4, counts: { Training: 140, PublicTest: 28, PrivateTest: 28 } });

describe('splitIndices', () => {
  it('returns the rows of one split in order', () => {
    const t = splitIndices(ds, 'PublicTest');
    expect(t.length).toBe(28);
    expect(t[0]).toBe(140);
    expect(() => splitIndices(ds, 'Test' as never)).toThrow(/expected one of Training/);
  });
});

describe('stratified splits', () => {
  const train = splitIndices(ds, 'Training');
  it('hold-out keeps class proportions, is disjoint, seeded', () => {
    const a = stratifiedHoldout(ds.labels, train, { fraction: 0.25, seed: 1 });
    const b = stratifiedHoldout(ds.labels, train, { fraction: 0.25, seed: 1 });
    const c = stratifiedHoldout(ds.labels, train, { fraction: 0.25, seed: 2 });
    expect(a.holdout).toEqual(b.holdout);
    expect(Array.from(a.holdout)).not.toEqual(Array.from(c.holdout));
    expect(a.train.length + a.holdout.length).toBe(140);
    const per = new Array(7).fill(0);
    for (const i of a.holdout) per[ds.labels[i]]++;
    expect(per).toEqual([5, 5, 5, 5, 5, 5, 5]);
    expect(new Set([...a.train, ...a.holdout]).size).toBe(140);
  });
  it('k-fold: disjoint test folds covering everything, stratified', () => {
    const folds = stratifiedKFold(ds.labels, train, { k: 5, seed: 3 });
    expect(folds).toHaveLength(5);
    const all = folds.flatMap((f) => Array.from(f.test)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from(train));
    for (const f of folds) {
      expect(f.train.length + f.test.length).toBe(140);
      const per = new Array(7).fill(0);
      for (const i of f.test) per[ds.labels[i]]++;
      expect(per).toEqual([4, 4, 4, 4, 4, 4, 4]);
    }
    expect(() => stratifiedKFold(ds.labels, train, { k: 1 })).toThrow(/"k" is 1/);
  });
});

describe('findDuplicates / dropTestDuplicates', () => {
  // rows: 0..5 distinct; copies: 6 = copy of 0 (Training), 7 = copy of 1 (PublicTest), 8 = copy of 1 (PrivateTest), 9 = copy of 7's image, label differs
  const src = subsetDataset(ds, [0, 1, 2, 3, 4, 5, 0, 1, 1, 1]);
  const splits = Uint8Array.from([0, 0, 0, 1, 2, 2, 0, 1, 2, 1]);
  const labels = src.labels.slice();
  labels[9] = (labels[1] + 1) % 7;
  const d = createDataset({ pixels: src.pixels, labels, splits });
  it('counts groups within and across splits', () => {
    const r = findDuplicates(d);
    expect(r.groups).toBe(2);
    expect(r.rows).toBe(6);
    expect(r.extraCopies).toBe(4);
    expect(r.within.Training).toEqual({ groups: 1, rows: 2 });
    expect(r.within.PublicTest).toEqual({ groups: 1, rows: 2 });
    expect(r.across).toEqual({ 'Training-PublicTest': 1, 'Training-PrivateTest': 1, 'PublicTest-PrivateTest': 1 });
    expect(r.testInTraining).toEqual({ PublicTest: 2, PrivateTest: 1 });
    expect(r.conflictingLabels).toBe(1);
    expect(r.members).toEqual([[0, 6], [1, 7, 8, 9]]);
  });
  it('dropTestDuplicates removes only test rows seen in Training', () => {
    const clean = dropTestDuplicates(d);
    expect(clean.count).toBe(7);
    expect(clean.dropped).toEqual({ testDuplicates: 3 });
    expect(findDuplicates(clean).testInTraining).toEqual({ PublicTest: 0, PrivateTest: 0 });
  });
  it('does not merge images that differ by one byte', () => {
    const px = d.pixels.slice();
    px[6 * 2304 + 2303] ^= 1;
    expect(findDuplicates(createDataset({ pixels: px, labels, splits })).groups).toBe(1);
  });
});
