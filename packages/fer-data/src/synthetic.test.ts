import { describe, expect, it } from 'vitest';
import { datasetStats } from './dataset.js';
import type { FerDataError } from './errors.js';
import { makeSyntheticFer } from './synthetic.js';

describe('makeSyntheticFer', () => {
  it('has the default counts, balanced classes, and says it is synthetic', () => {
    const ds = makeSyntheticFer({ seed: 1, counts: { Training: 700, PublicTest: 70, PrivateTest: 70 } });
    expect(ds).toMatchObject({ count: 840, width: 48, height: 48, synthetic: true, source: 'synthetic', skipped: 0 });
    const st = datasetStats(ds);
    expect(st.Training.perClass).toEqual([100, 100, 100, 100, 100, 100, 100]);
    expect(st.PrivateTest.total).toBe(70);
  });
  it('is deterministic for a seed and differs across seeds', () => {
    const a = makeSyntheticFer({ seed: 5, counts: { Training: 20, PublicTest: 0, PrivateTest: 0 } });
    const b = makeSyntheticFer({ seed: 5, counts: { Training: 20, PublicTest: 0, PrivateTest: 0 } });
    const c = makeSyntheticFer({ seed: 6, counts: { Training: 20, PublicTest: 0, PrivateTest: 0 } });
    expect(Buffer.from(a.pixels).equals(Buffer.from(b.pixels))).toBe(true);
    expect(Buffer.from(a.pixels).equals(Buffer.from(c.pixels))).toBe(false);
  });
  it('default size is 2100/350/350', () => {
    const ds = makeSyntheticFer();
    expect(datasetStats(ds).Training.total).toBe(2100);
    expect(ds.count).toBe(2800);
  });
  it('classes differ in their mean images (learnable) but images vary within a class', () => {
    const ds = makeSyntheticFer({ seed: 2, counts: { Training: 1400, PublicTest: 0, PrivateTest: 0 } });
    const means = Array.from({ length: 7 }, () => new Float64Array(2304));
    for (let i = 0; i < ds.count; i++) for (let p = 0; p < 2304; p++) means[ds.labels[i]][p] += ds.pixels[i * 2304 + p] / 200;
    // mouth region (rows 30-40, cols 14-34): happy vs sad differ clearly
    let diff = 0;
    for (let y = 30; y < 40; y++) for (let x = 14; x < 34; x++) diff += Math.abs(means[3][y * 48 + x] - means[4][y * 48 + x]);
    expect(diff / 200).toBeGreaterThan(2);
    // within a class, two images are not identical and have real variance
    const a = ds.pixels.subarray(0, 2304), b = ds.pixels.subarray(2304, 4608);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
  it('rejects bad options', () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as FerDataError).code; } return 'none'; };
    expect(code(() => makeSyntheticFer({ seeds: 1 } as never))).toBe('E_BAD_OPTION');
    expect(code(() => makeSyntheticFer({ counts: { Train: 5 } as never }))).toBe('E_BAD_OPTION');
    expect(code(() => makeSyntheticFer({ counts: { Training: -1 } }))).toBe('E_BAD_OPTION');
    expect(code(() => makeSyntheticFer({ classProportions: [1, 2] }))).toBe('E_BAD_OPTION');
    expect(code(() => makeSyntheticFer({ counts: { Training: 0, PublicTest: 0, PrivateTest: 0 } }))).toBe('E_BAD_OPTION');
  });
  it('a split left out of counts keeps its default', () => {
    const ds = makeSyntheticFer({ counts: { Training: 7 } });
    expect(ds.count).toBe(7 + 350 + 350);
  });
});
