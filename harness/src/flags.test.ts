import { describe, expect, it } from 'vitest';
import { checkFlags, intFlag } from './flags.js';

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

describe('checkFlags: positional arguments', () => {
  const stats = { data: { type: 'string' }, json: { type: 'boolean' } };
  it('refuses a positional argument to a command that takes none (citty would ignore it), suggesting --data', () => {
    expect(() => checkFlags('fer data stats', ['imgs'], stats)).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('fer data stats: unexpected argument "imgs": fer data stats takes flags only. Did you mean --data imgs?') }));
    expect(() => checkFlags('fer data stats', ['--json', 'true'], stats)).toThrow(/unexpected argument "true"/);
    expect(() => checkFlags('fer x', ['y'], { json: { type: 'boolean' } })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('--data') }));
  });
  it('lets flag values, negative numbers given as values, and declared positionals through', () => {
    expect(() => checkFlags('fer data stats', ['--data', 'imgs', '--json'], stats)).not.toThrow();
    expect(() => checkFlags('fer train', ['--workers', '-3'], { workers: { type: 'string' } })).not.toThrow();
    expect(() => checkFlags('fer predict', ['a.jpg', 'b.jpg', '--json'], { 'image...': { type: 'positional' }, json: { type: 'boolean' } })).not.toThrow();
  });
});
