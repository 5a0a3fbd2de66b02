import { describe, expect, it } from 'vitest';
import { cellValue, formatCell, verdict } from './verdict.js';

describe('verdict', () => {
  const one = (mean: number, ci: [number, number] | null) => ({ mean, std: NaN, ci, n: 1, method: 'bootstrap' as const });
  it('reproduced when the paper lies inside our CI', () => {
    expect(verdict(0.64, one(0.6, [0.58, 0.645])).reproduced).toBe(true);
  });
  it('reproduced when within 2 points even outside the CI', () => {
    const v = verdict(0.64, one(0.621, [0.62, 0.622]));
    expect(v.reproduced).toBe(true);
    expect(v.delta).toBeCloseTo(-0.019);
  });
  it('not reproduced when outside both', () => {
    const v = verdict(0.64, one(0.5, [0.48, 0.52]));
    expect(v.reproduced).toBe(false);
    expect(v.why).toMatch(/off by -14.0 points/);
  });
  it('exactly 2 points counts as reproduced; no paper number is not judged', () => {
    expect(verdict(0.54, one(0.52, null)).reproduced).toBe(true);
    expect(verdict(undefined, one(0.5, null)).reproduced).toBeNull();
  });
  it('summarises seeds with a t interval and formats cells', () => {
    const c = cellValue([0.61, 0.63, 0.65]);
    expect(c.mean).toBeCloseTo(0.63);
    expect(c.std).toBeCloseTo(0.02);
    expect(c.ci![0]).toBeCloseTo(0.5803, 3);
    expect(c.method).toBe('seeds');
    expect(formatCell(c)).toBe('63.0 ± 2.0 [58.0, 68.0]');
    expect(cellValue([0.5], () => [0.4, 0.6]).ci).toEqual([0.4, 0.6]);
    expect(formatCell(cellValue([]))).toBe('—');
  });
});
