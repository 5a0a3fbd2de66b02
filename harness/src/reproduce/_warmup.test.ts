import { describe, expect, it } from 'vitest';
import { perImageAt } from './_warmup.js';

describe('warm-up speed fit', () => {
  // A step costs a + b * n seconds; paper-shallow: a large per-step update (18.9M dense weights), paper-deep: a large per-image cost.
  const step = (a: number, b: number, n: number) => a + b * n;
  const shallow = { a: 0.4, b: 0.002 }, deep = { a: 0.05, b: 0.012 };
  const truth = (m: { a: number; b: number }) => (m.a + m.b * 128) / 128;

  it('one slow step on a loaded machine does not move the estimate (medians of the repeats)', () => {
    const t = { small: [step(shallow.a, shallow.b, 8), step(shallow.a, shallow.b, 8) * 3, step(shallow.a, shallow.b, 8)], large: [step(shallow.a, shallow.b, 32), step(shallow.a, shallow.b, 32), step(shallow.a, shallow.b, 32) * 1.01] };
    expect(perImageAt(t, 8, 32, 128) / truth(shallow)).toBeCloseTo(1, 1);
  });

  it('a noisy pair (the small step as slow as the large) keeps the per-step cost per batch, and the order of the models', () => {
    // load made the small steps as slow as the large ones: slope <= 0. The old fallback (large step / 32 images)
    // counted paper-shallow's per-step cost 4x at batch 128 and ranked it slower than paper-deep.
    const noisyShallow = { small: [0.47, 0.47, 0.47], large: [0.464, 0.464, 0.464] };
    const deepTimes = { small: [step(deep.a, deep.b, 8)], large: [step(deep.a, deep.b, 32)] };
    const s = perImageAt(noisyShallow, 8, 32, 128), d = perImageAt(deepTimes, 8, 32, 128);
    expect(s).toBeLessThan(0.464 / 32 / 2);
    expect(s).toBeLessThan(d);
    expect(d / truth(deep)).toBeCloseTo(1, 5);
  });
});
