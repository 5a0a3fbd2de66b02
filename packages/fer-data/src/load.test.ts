import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tinyFaces } from '@fer/testing';
import { describe, expect, it } from 'vitest';
import { datasetStats } from './dataset.js';
import { loadDataset } from './load.js';
import { findDuplicates } from './splits.js';

const f = tinyFaces(4, 8);
const row = (i: number, usage: string) => `${f.labels[i]},${Array.from(f.pixels.subarray(i * 2304, (i + 1) * 2304)).join(' ')},${usage}`;
// row 3 repeats image 0 in PublicTest
const text = ['emotion,pixels,Usage', row(0, 'Training'), row(1, 'Training'), row(2, 'PrivateTest'), row(0, 'PublicTest')].join('\n');

describe('loadDataset', () => {
  it('finds fer2013.csv.gz inside a folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-data-load-'));
    writeFileSync(join(dir, 'fer2013.csv.gz'), gzipSync(text));
    const ds = await loadDataset(dir);
    expect(ds.count).toBe(4);
    expect(ds.source).toBe(join(dir, 'fer2013.csv.gz'));
  });
  it('dropTestDuplicates removes test copies of training images and says how many', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-data-load-'));
    const p = join(dir, 'x.csv');
    writeFileSync(p, text);
    const ds = await loadDataset(p, { dropTestDuplicates: true });
    expect(ds.count).toBe(3);
    expect(ds.dropped).toEqual({ testDuplicates: 1 });
    expect(datasetStats(ds).PublicTest.total).toBe(0);
  });
  it('rejects bad options and paths with typed errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-data-load-'));
    const p = join(dir, 'x.csv');
    writeFileSync(p, text);
    await expect(loadDataset(p, { format: 'parquet' as never })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(loadDataset(p, { ferPlusOptions: { mode: 'majority' } })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(loadDataset(p, { skipBad: true } as never)).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(loadDataset(p, { format: 'image-folder' })).rejects.toMatchObject({ code: 'E_UNKNOWN_FORMAT' });
    await expect(loadDataset(join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'E_FS' });
    await expect(loadDataset('')).rejects.toMatchObject({ code: 'E_FS' });
    mkdirSync(join(dir, 'sub'));
    await expect(loadDataset(join(dir, 'sub'), { format: 'csv' })).rejects.toMatchObject({ code: 'E_UNKNOWN_FORMAT' });
  });
  it('reports progress and ends at the full size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-data-load-'));
    const p = join(dir, 'x.csv');
    writeFileSync(p, text);
    const seen: { rows: number; done: number; total: number }[] = [];
    await loadDataset(p, { onProgress: (e) => seen.push(e) });
    expect(seen.at(-1)).toEqual({ rows: 4, done: Buffer.byteLength(text), total: Buffer.byteLength(text), unit: 'bytes' });
  });
  it('stops when the signal is aborted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-data-load-'));
    const p = join(dir, 'x.csv');
    writeFileSync(p, text);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(loadDataset(p, { signal: ac.signal })).rejects.toThrow('stop');
  });
  const real = process.env.FER2013_PATH;
  it.skipIf(!real)('duplicate report on the real FER2013 (FER2013_PATH)', async () => {
    const ds = await loadDataset(real as string);
    const d = findDuplicates(ds, { maxGroups: 0 });
    // Byte-identical groups in the shared copy (sha256 d726b11c...); exact figures from this implementation,
    // cross-checked with a pandas groupby on the pixel strings.
    expect(d.groups).toBe(1516);
    expect(d.testInTraining).toEqual({ PublicTest: 280, PrivateTest: 288 });
    expect(d.constantImages).toBe(12);
  });
});
