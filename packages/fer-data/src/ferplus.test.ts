import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyFaces } from '@fer/testing';
import { describe, expect, it } from 'vitest';
import { createDataset } from './dataset.js';
import { loadFerPlus } from './ferplus.js';
import { loadDataset } from './load.js';

const HEADER = 'Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF';
const f = tinyFaces(6, 4);
const base = createDataset({ pixels: f.pixels, labels: f.labels, splits: Uint8Array.from([0, 0, 0, 0, 1, 2]), source: 'fer2013.csv' });
const dir = mkdtempSync(join(tmpdir(), 'fer-data-plus-'));
const rows = [
  'Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0', // neutral 4 of (4+3+2)=9 after dropping the single vote -> no majority -> unknown
  'Training,fer0000001.png,1,8,0,0,0,0,0,0,1,0', // happiness
  'Training,,0,0,0,0,0,0,0,0,0,10', // no image: not a face
  'Training,fer0000003.png,0,0,0,0,0,0,0,6,4,0', // contempt
  'PublicTest,fer0000004.png,0,0,0,0,0,0,0,0,2,8', // NF wins: not a face
  'PrivateTest,fer0000005.png,0,0,7,0,0,0,3,0,0,0', // surprise
];
const path = join(dir, 'fer2013new.csv');
writeFileSync(path, [HEADER, ...rows].join('\n') + '\n');

describe('loadFerPlus', () => {
  it('majority labels in FER2013 order, drops unknown / not-a-face rows with counts', async () => {
    const ds = await loadFerPlus(base, path);
    expect(ds.count).toBe(2);
    expect(Array.from(ds.labels)).toEqual([3, 5]); // Happy, Surprise
    expect(Array.from(ds.splits)).toEqual([0, 2]);
    expect(ds.dropped).toEqual({ unknown: 2, notFace: 2 });
    expect(Buffer.from(ds.pixels.subarray(0, 2304)).equals(Buffer.from(f.pixels.subarray(2304, 4608)))).toBe(true);
    // vote distribution over the 7 classes (contempt excluded): row 1 = neutral 1/9, happy 8/9
    expect(ds.softLabels?.[6]).toBeCloseTo(1 / 9, 6);
    expect(ds.softLabels?.[3]).toBeCloseTo(8 / 9, 6);
    expect(ds.softLabels?.[7 + 5]).toBeCloseTo(0.7, 6);
  });
  it("keeps rows with label 255 when asked, and has the 8 FER+ classes with classes: 'ferplus'", async () => {
    const keep = await loadFerPlus(base, path, { dropUnknown: false, dropNotFace: false });
    expect(Array.from(keep.labels)).toEqual([255, 3, 255, 255, 255, 5]);
    const plus = await loadFerPlus(base, path, { classes: 'ferplus', dropUnknown: true });
    expect(plus.classNames).toHaveLength(8);
    expect(Array.from(plus.labels)).toEqual([1, 7, 2]); // Happiness, Contempt, Surprise
    const plural = await loadFerPlus(base, path, { mode: 'plurality' });
    expect(Array.from(plural.labels)).toEqual([6, 3, 5]); // neutral wins by plurality on row 0
  });
  it('loadDataset joins FER+ by row; mismatches are typed errors', async () => {
    const csv = join(dir, 'fer2013.csv');
    const splitNames = ['Training', 'Training', 'Training', 'Training', 'PublicTest', 'PrivateTest'];
    writeFileSync(csv, ['emotion,pixels,Usage', ...splitNames.map((s, i) => `${f.labels[i]},${Array.from(f.pixels.subarray(i * 2304, (i + 1) * 2304)).join(' ')},${s}`)].join('\n'));
    expect((await loadDataset(csv, { ferPlus: path })).count).toBe(2);
    const short = join(dir, 'short.csv');
    writeFileSync(short, [HEADER, ...rows.slice(0, 5)].join('\n'));
    await expect(loadFerPlus(base, short)).rejects.toMatchObject({ code: 'E_FERPLUS_MISMATCH' });
    const wrongSplit = join(dir, 'split.csv');
    writeFileSync(wrongSplit, [HEADER, ...rows.slice(0, 5), rows[5].replace('PrivateTest', 'PublicTest')].join('\n'));
    await expect(loadFerPlus(base, wrongSplit)).rejects.toMatchObject({ code: 'E_FERPLUS_MISMATCH' });
    const badVote = join(dir, 'vote.csv');
    writeFileSync(badVote, [HEADER, ...rows.slice(0, 5), rows[5].replace(',7,', ',x,')].join('\n'));
    await expect(loadFerPlus(base, badVote)).rejects.toThrow(/line 7, field "surprise"/);
    await expect(loadFerPlus(base, path, { mode: 'vote' } as never)).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
  const real = process.env.FER2013_PATH;
  const plusPath = process.env.FERPLUS_PATH ?? (real ? join(real, '..', '..', 'ferplus', 'fer2013new.csv') : '');
  it.skipIf(!real)('joins the real fer2013new.csv (FER2013_PATH)', async () => {
    const ds = await loadDataset(real as string, { ferPlus: plusPath });
    // Cross-checked with a numpy version of the FER+ reference rule (votes <= 1 zeroed, max > half the rest).
    expect(ds.count).toBe(31264);
    expect(ds.dropped).toEqual({ unknown: 4447, notFace: 176 });
    expect(ds.softLabels?.length).toBe(ds.count * 7);
  });
});

describe('loadFerPlus: header (issue 13)', () => {
  const bad = async (header: string) => {
    const p = join(dir, `hdr-${header.length}-${header.charCodeAt(8)}.csv`);
    writeFileSync(p, [header, ...rows].join('\n') + '\n');
    try {
      await loadFerPlus(base, p);
    } catch (e) {
      return { p, code: (e as { code: string }).code, message: (e as Error).message };
    }
    throw new Error('expected a rejection');
  };
  it('names a misspelled column and suggests the expected one', async () => {
    const e = await bad(HEADER.replace('Image name', 'Image nmae'));
    expect(e.code).toBe('E_BAD_HEADER');
    expect(e.message).toContain(`${e.p} line 1, field "Image nmae"`);
    expect(e.message).toContain('did you mean "Image name"');
  });
  it('names a missing column and an extra one', async () => {
    const missing = await bad(HEADER.replace(',NF', ''));
    expect(missing.code).toBe('E_BAD_HEADER');
    expect(missing.message).toContain('missing column "NF"');
    const extra = await bad(`${HEADER},notes`);
    expect(extra.code).toBe('E_BAD_HEADER');
    expect(extra.message).toContain('field "notes"');
  });
  it('a header of 100,000 extra columns gives a short message naming the first few', async () => {
    const cols = Array.from({ length: 100_000 }, (_, i) => `extra${i}`).join(',');
    const e = await bad(`${HEADER},${cols}`);
    expect(e.code).toBe('E_BAD_HEADER');
    expect(e.message).toContain('unknown columns "extra0", "extra1", "extra2", "extra3", "extra4" and 99995 more');
    expect(e.message.length).toBeLessThan(2000);
  });
});
