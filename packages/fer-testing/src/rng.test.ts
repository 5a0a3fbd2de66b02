import { describe, expect, it } from 'vitest';
import { mulberry32, seededInts } from './rng.js';

describe('mulberry32', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = mulberry32(42), b = mulberry32(42), c = mulberry32(43);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
  it('seededInts stays in range', () => {
    const v = seededInts(1000, 7, 3);
    expect(Math.min(...v)).toBe(0);
    expect(Math.max(...v)).toBe(6);
  });
});
