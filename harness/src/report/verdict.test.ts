import { describe, expect, it } from 'vitest';
import { cellValue, formatCell, verdict } from './verdict.js';

describe('verdict', () => {
  const one = (mean: number, ci: [number, number] | null) => ({ mean, std: NaN, ci, n: 1, method: 'bootstrap' as const });
  it('reproduced when the paper lies inside a CI at most 3 points wide on each side', () => {
    const v = verdict(0.64, one(0.62, [0.595, 0.645]));
    expect(v).toMatchObject({ reproduced: true, status: 'reproduced' });
    expect(v.why).toMatch(/inside our 95% CI, CI half-width 2.5 points/);
  });
  it('inconclusive when the CI is wide: the paper inside a 33-point CI, 16 points off, says nothing', () => {
    const v = verdict(0.75, one(0.59, [0.42, 0.75]));
    expect(v).toMatchObject({ reproduced: null, status: 'inconclusive' });
    expect(v.why).toMatch(/half-width is 16.5 points/);
    // within 2 points but a wide CI: still no verdict
    expect(verdict(0.64, one(0.63, [0.55, 0.71])).status).toBe('inconclusive');
    // no CI at all: no verdict either
    expect(verdict(0.54, one(0.52, null)).status).toBe('inconclusive');
  });
  it('not reproduced when the paper lies outside even a wide CI and more than 2 points off', () => {
    expect(verdict(0.64, one(0.4, [0.3, 0.5])).status).toBe('not reproduced');
  });
  it('smoke budgets and synthetic data get no verdict ("not a result")', () => {
    const v = verdict(0.64, one(0.64, [0.635, 0.645]), 0.02, 'smoke budget');
    expect(v).toMatchObject({ reproduced: null, status: 'not a result', why: 'smoke budget' });
    expect(v.delta).toBeCloseTo(0);
    expect(verdict(0.64, one(0.1, [0.05, 0.15]), 0.02, 'synthetic data').status).toBe('not a result');
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
  it('exactly 2 points (with a narrow CI) counts as reproduced; no paper number is not judged', () => {
    expect(verdict(0.54, one(0.52, [0.505, 0.535])).reproduced).toBe(true);
    expect(verdict(undefined, one(0.5, null))).toMatchObject({ reproduced: null, status: 'not comparable' });
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
