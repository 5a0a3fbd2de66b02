import { describe, expect, it } from 'vitest';
import { baselineLine, baselines, perClassBaselineLine } from './baselines.js';

describe('baselines', () => {
  it('chance is 1/7 and the majority class is the most frequent label of the split', () => {
    const b = baselines(Uint8Array.from([3, 3, 3, 0, 6, 6, 1, 3]));
    expect(b.chance).toBeCloseTo(1 / 7);
    expect(b.majority).toEqual({ cls: 'Happy', rate: 0.5 });
    expect(b.rows).toBe(8);
    expect(baselineLine([{ name: 'PublicTest', b }])).toBe('Baselines (no skill): chance 14.3% (a uniform guess over 7 classes) · always the majority class: Happy 50.0% of PublicTest (8 rows).');
    expect(perClassBaselineLine({ name: 'PrivateTest', b })).toMatch(/chance 14.3% per class.*Happy, 50.0% of PrivateTest.*100% on Happy and 0% on every other class/);
  });
  it('an empty split has no majority rate', () => {
    expect(baselines(new Uint8Array()).majority.rate).toBeNaN();
  });
});
