import { describe, expect, it } from 'vitest';
import { countCalls, errorCodeOf, expectAllClose, expectBitIdentical, expectNormClose, maxAbsDiff, rootMeanSquare } from './compare.js';
import { randomValues } from './rng.js';
import { ustarArchive } from './tar.js';

describe('numeric comparisons', () => {
  it('maxAbsDiff finds the largest difference, where, and the reference scale; NaN equals NaN', () => {
    expect(maxAbsDiff([1, 2, NaN, 4], [1, 2.5, NaN, -6])).toEqual({ diff: 10, scale: 6, at: 3 });
    expect(() => maxAbsDiff([1], [1, 2])).toThrow(/got 1 values, the reference has 2/);
  });

  it('expectAllClose passes within rel * max(1, |ref|) and throws naming the place beyond it', () => {
    expect(() => expectAllClose([1.00005, 2], [1, 2], 'x')).not.toThrow();
    expect(() => expectAllClose([1.001, 2], [1, 2], 'x')).toThrow(/x: max \|got - reference\| = 0\.00099\d* at 0/);
  });

  it('expectNormClose bounds the 2-norm of the difference; rms covers true zeros', () => {
    expect(() => expectNormClose([1, 0.0005], [1, 0], 'g')).not.toThrow();
    expect(() => expectNormClose([1, 0.01], [1, 0], 'g')).toThrow(/g: \|\|got - reference\|\|/);
    expect(() => expectNormClose([1e-6], [0], 'bias', { rms: 1 })).not.toThrow();
    expect(() => expectNormClose([1e-6], [0], 'bias')).toThrow(/bias/);
  });

  it('expectBitIdentical tells -0 from 0 and counts the differing values', () => {
    expect(() => expectBitIdentical([0, 1, NaN], [0, 1, NaN], 'w')).not.toThrow();
    expect(() => expectBitIdentical([-0, 1, 2], [0, 1, 3], 'w')).toThrow(/w: 2 of 3 values differ in their bits; first at 0/);
  });

  it('rootMeanSquare is over every value of every array', () => {
    expect(rootMeanSquare([[3], [4, 0, 0]])).toBeCloseTo(Math.sqrt(25 / 4), 12);
    expect(rootMeanSquare([])).toBe(0);
  });
});

describe('errorCodeOf', () => {
  class PkgError extends Error {
    constructor(readonly code: 'E_BAD_OPTION' | 'E_FS') {
      super(code);
    }
  }
  it('returns the code of the package error thrown', () => {
    expect(errorCodeOf(() => { throw new PkgError('E_FS'); }, PkgError)).toBe('E_FS');
  });
  it('throws when the call returns or throws another error', () => {
    expect(() => errorCodeOf(() => 1, PkgError)).toThrow(/expected a PkgError, but the call returned/);
    expect(() => errorCodeOf(() => { throw new TypeError('boom'); }, PkgError)).toThrow(/expected a PkgError, got TypeError: boom/);
  });
});

describe('countCalls', () => {
  it('counts each function of an object, keeping `this` and results', () => {
    const obj = { n: 2, twice(x: number) { return x * this.n; }, other: () => 0, value: 5 };
    const calls = countCalls(obj);
    expect(obj.twice(3)).toBe(6);
    obj.twice(1);
    obj.other();
    expect(Object.fromEntries(calls)).toEqual({ twice: 2, other: 1 });
  });
});

describe('ustarArchive', () => {
  it('writes 512-byte headers with a valid checksum, padded contents and two zero blocks', () => {
    const data = Buffer.from(randomValues(10, 1).buffer);
    const tar = ustarArchive([['dir/', null], ['dir/a.bin', data]]);
    expect(tar.length).toBe(512 + 512 + 512 + 1024);
    for (const off of [0, 512]) {
      const h = Buffer.from(tar.subarray(off, off + 512));
      const stored = parseInt(h.toString('latin1', 148, 154), 8);
      h.fill(32, 148, 156);
      expect(h.reduce((s, b) => s + b, 0)).toBe(stored);
      expect(h.toString('latin1', 257, 262)).toBe('ustar');
    }
    expect(tar.toString('latin1', 512, 521)).toBe('dir/a.bin');
    expect(parseInt(tar.toString('latin1', 512 + 124, 512 + 135), 8)).toBe(40);
    expect(tar.subarray(1024, 1064).equals(data)).toBe(true);
    expect(tar.subarray(1536).every((b) => b === 0)).toBe(true);
  });
});
