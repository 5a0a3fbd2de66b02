// The one data resolution of the harness: --data, else FER2013_PATH, else synthetic; `synthetic` forces it.
import { afterEach, describe, expect, it } from 'vitest';
import { dataPath, resolveData, SYNTHETIC_DATA, SYNTHETIC_SEED } from './data.js';

const saved = process.env.FER2013_PATH;
afterEach(() => {
  if (saved === undefined) delete process.env.FER2013_PATH;
  else process.env.FER2013_PATH = saved;
});

describe('dataPath', () => {
  it('takes --data first, then FER2013_PATH; an empty --data counts as unset', () => {
    process.env.FER2013_PATH = '/data/env.csv';
    expect(dataPath('/data/given.csv')).toBe('/data/given.csv');
    expect(dataPath('')).toBe('/data/env.csv');
    expect(dataPath(undefined)).toBe('/data/env.csv');
    delete process.env.FER2013_PATH;
    expect(dataPath(undefined)).toBeUndefined();
  });

  it('--data synthetic is the synthetic set even when FER2013_PATH is set, and says so', async () => {
    process.env.FER2013_PATH = '/data/env.csv';
    expect(dataPath(SYNTHETIC_DATA)).toBeUndefined();
    const lines: string[] = [];
    const { ds, identity } = await resolveData(SYNTHETIC_DATA, (l) => lines.push(l));
    expect(ds.synthetic).toBe(true);
    expect(identity.synthetic).toBe(true);
    expect(lines.join('\n')).toContain('SYNTHETIC DATA: --data synthetic');
    expect(lines.join('\n')).toContain(`seed ${SYNTHETIC_SEED}`);
  });

  it('--ferplus with the synthetic faces is refused, not ignored', async () => {
    await expect(resolveData(SYNTHETIC_DATA, () => undefined, { ferPlus: '/data/fer2013new.csv' })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('--ferplus /data/fer2013new.csv: FER+ labels join the FER2013 rows, but --data synthetic') });
  });
});
