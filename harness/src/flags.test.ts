import { describe, expect, it } from 'vitest';
import { intFlag } from './flags.js';

describe('intFlag: whole-number flags are range-checked', () => {
  it('refuses 0, -3, abc, 1.5 and an empty value for --workers, naming the flag and the range', () => {
    for (const bad of ['0', '-3', 'abc', '1.5', '']) {
      expect(() => intFlag(bad, '--workers', { min: 1 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION', message: expect.stringContaining(`--workers ${JSON.stringify(bad)}: expected a whole number >= 1`) }));
    }
    expect(intFlag('2', '--workers', { min: 1 })).toBe(2);
    expect(intFlag(undefined, '--workers', { min: 1 })).toBeUndefined();
    expect(() => intFlag('9', '--top', { min: 1, max: 7 })).toThrow(/between 1 and 7/);
  });
});
