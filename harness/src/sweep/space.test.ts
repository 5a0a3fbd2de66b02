import { describe, expect, it } from 'vitest';
import { distinctSampler, gridSets, parseSpace, randomSampler, spaceSize } from './space.js';

describe('parseSpace', () => {
  it('reads log, uniform, int and choice axes, and the older ;-separated form', () => {
    expect(parseSpace(['lr=log:1e-5..1e-3', 'l2=1e-6..1e-3', 'depth=int:1..4', 'units=256,512,1024', 'optimizer=adam,sgd', 'cw=balanced'])).toEqual([
      { key: 'lr', kind: 'log', lo: 1e-5, hi: 1e-3 },
      { key: 'l2', kind: 'uniform', lo: 1e-6, hi: 1e-3 },
      { key: 'depth', kind: 'int', lo: 1, hi: 4 },
      { key: 'units', kind: 'choice', values: ['256', '512', '1024'] },
      { key: 'optimizer', kind: 'choice', values: ['adam', 'sgd'] },
      { key: 'cw', kind: 'choice', values: ['balanced'] },
    ]);
    expect(parseSpace(['lr=log:1e-5:1e-3;dropout=0.2:0.6;units=choice:[256,512],[512,512];k=int:1:3'])).toEqual([
      { key: 'lr', kind: 'log', lo: 1e-5, hi: 1e-3 },
      { key: 'dropout', kind: 'uniform', lo: 0.2, hi: 0.6 },
      { key: 'units', kind: 'choice', values: ['[256,512]', '[512,512]'] },
      { key: 'k', kind: 'int', lo: 1, hi: 3 },
    ]);
  });

  it('rejects bad specs with what was expected', () => {
    expect(() => parseSpace(['lr'])).toThrow(/--space "lr": expected key=spec/);
    expect(() => parseSpace(['lr=log:0..1e-3'])).toThrow(/a log range needs positive ends/);
    expect(() => parseSpace(['lr=1e-3..1e-5'])).toThrow(/low end 0.001 is above the high end 0.00001|low end 0.001 is above the high end 1e-5/);
    expect(() => parseSpace(['k=int:1.5..3'])).toThrow(/integer ends/);
    expect(() => parseSpace(['lr=a..b'])).toThrow(/must be numbers/);
    expect(() => parseSpace(['lr=1e-4,1e-3', 'lr=1e-5'])).toThrow(/given twice/);
  });
});

describe('samplers', () => {
  it('draws seeded values inside the ranges, the same for the same seed', () => {
    const axes = parseSpace(['lr=log:1e-5..1e-3', 'dropout=0.2..0.6', 'k=int:1..4', 'units=256,512,1024']);
    const a = randomSampler(axes, 7), b = randomSampler(axes, 7), c = randomSampler(axes, 8);
    const draws = Array.from({ length: 200 }, (_, i) => a(i));
    expect(Array.from({ length: 200 }, (_, i) => b(i))).toEqual(draws);
    expect(c(0)).not.toEqual(draws[0]);
    const num = (s: string) => Number(s.split('=')[1]);
    const lrs = draws.map((d) => num(d[0]));
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(1e-5);
    expect(Math.max(...lrs)).toBeLessThanOrEqual(1e-3);
    // log-uniform: about half the draws below the geometric middle 1e-4
    expect(lrs.filter((x) => x < 1e-4).length).toBeGreaterThan(70);
    expect(lrs.filter((x) => x < 1e-4).length).toBeLessThan(130);
    expect(new Set(draws.map((d) => num(d[2])))).toEqual(new Set([1, 2, 3, 4]));
    expect(new Set(draws.map((d) => d[3]))).toEqual(new Set(['units=256', 'units=512', 'units=1024']));
    // draw i does not depend on the order it is asked for
    const late = randomSampler(axes, 7);
    expect(late(5)).toEqual(draws[5]);
  });

  it('skips repeated draws and ends when a finite space is used up', () => {
    const axes = parseSpace(['units=256,512', 'optimizer=adam,sgd']);
    expect(spaceSize(axes)).toBe(4);
    const d = distinctSampler(randomSampler(axes, 1), spaceSize(axes));
    const got = [0, 1, 2, 3].map((i) => d(i)!.join(' '));
    expect(new Set(got).size).toBe(4);
    expect(d(4)).toBeNull();
    expect(spaceSize(parseSpace(['lr=log:1e-5..1e-3']))).toBe(Infinity);
  });

  it('expands a grid, first key slowest', () => {
    expect(gridSets(['lr=1e-4,3e-4;l2=1e-4,1e-3'])).toEqual([['lr=1e-4', 'l2=1e-4'], ['lr=1e-4', 'l2=1e-3'], ['lr=3e-4', 'l2=1e-4'], ['lr=3e-4', 'l2=1e-3']]);
    expect(gridSets(['units=[256,512],[512,512]'])).toEqual([['units=[256,512]'], ['units=[512,512]']]);
    expect(() => gridSets(['lr'])).toThrow(/expected key=v1,v2/);
  });
});
