import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tinyFaces, ustarArchive } from '@fer/testing';
import { describe, expect, it } from 'vitest';
import { _CsvPixelParser } from './_csv.js';
import { datasetStats } from './dataset.js';
import { loadFer2013Csv, loadKaggleTrainTest } from './fer2013.js';
import type { FerDataError } from './errors.js';
import { loadDataset } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'fer-data-csv-'));
const faces = tinyFaces(12, 3);
const USAGES = ['Training', 'Training', 'Training', 'Training', 'Training', 'Training', 'PublicTest', 'PublicTest', 'PublicTest', 'PrivateTest', 'PrivateTest', 'PrivateTest'];
const px = (i: number) => Array.from(faces.pixels.subarray(i * 2304, (i + 1) * 2304)).join(' ');

function fer2013Text(eol = '\n', quote = false): string {
  const rows = ['emotion,pixels,Usage'];
  for (let i = 0; i < 12; i++) rows.push(`${faces.labels[i]},${quote ? `"${px(i)}"` : px(i)},${USAGES[i]}`);
  return rows.join(eol) + eol;
}
function write(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
const tarOf = ustarArchive;
async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as FerDataError).code, message: (e as Error).message };
  }
  throw new Error('expected a rejection');
}
function expectRows(ds: { pixels: Uint8Array; labels: Uint8Array; count: number }, n = 12): void {
  expect(ds.count).toBe(n);
  expect(Array.from(ds.labels)).toEqual(Array.from(faces.labels.subarray(0, n)));
  expect(Buffer.from(ds.pixels).equals(Buffer.from(faces.pixels.subarray(0, n * 2304)))).toBe(true);
}

describe('loadFer2013Csv: formats', () => {
  it('reads the Kaggle fer2013.csv shape with its Usage splits', async () => {
    const ds = await loadFer2013Csv(write('fer2013.csv', fer2013Text()));
    expectRows(ds);
    expect(Array.from(ds.splits)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(ds).toMatchObject({ width: 48, height: 48, synthetic: false, skipped: 0 });
    expect(datasetStats(ds).PublicTest.total).toBe(3);
  });
  it('reads .gz (detected by magic bytes), CRLF line ends and quoted pixels', async () => {
    expectRows(await loadFer2013Csv(write('a.csv.gz', gzipSync(fer2013Text()))));
    expectRows(await loadFer2013Csv(write('b.csv', fer2013Text('\r\n', true))));
    expectRows(await loadFer2013Csv(write('gz-without-ext', gzipSync(fer2013Text('\r\n')))));
  });
  it('reads icml_face_data.csv (header "emotion, Usage, pixels" with spaces)', async () => {
    const rows = ['emotion, Usage, pixels'];
    for (let i = 0; i < 12; i++) rows.push(`${faces.labels[i]}, ${USAGES[i]}, ${px(i)}`);
    const ds = await loadFer2013Csv(write('icml_face_data.csv', rows.join('\n')));
    expectRows(ds);
    expect(ds.splits[11]).toBe(2);
  });
  it('reads the train.csv / test.csv pair (test without labels)', async () => {
    const train = ['emotion,pixels', ...[0, 1, 2, 3].map((i) => `${faces.labels[i]},${px(i)}`)].join('\n');
    const test = ['pixels', ...[4, 5].map((i) => px(i))].join('\n');
    const t = write('train.csv', train), s = write('test.csv', test);
    const ds = await loadKaggleTrainTest(t, s);
    expect(ds.count).toBe(6);
    expect(Array.from(ds.labels)).toEqual([...Array.from(faces.labels.subarray(0, 4)), 255, 255]);
    expect(Array.from(ds.splits)).toEqual([0, 0, 0, 0, 1, 1]);
    const sub = mkdtempSync(join(dir, 'pair-'));
    writeFileSync(join(sub, 'train.csv'), train);
    writeFileSync(join(sub, 'test.csv'), test);
    expect((await loadDataset(sub)).count).toBe(6);
  });
  it("reads the CSV inside a tar archive (Kaggle's original fer2013.tar.gz), naming the entry in errors", async () => {
    const t = tarOf([['fer2013/', null], ['fer2013/._fer2013.csv', Buffer.from('mac junk')], ['fer2013/fer2013.csv', Buffer.from(fer2013Text())], ['fer2013/README', Buffer.from('readme')]]);
    expectRows(await loadFer2013Csv(write('fer2013.tar.gz', gzipSync(t))));
    expectRows(await loadFer2013Csv(write('fer2013.tar', t)));
    const broken = tarOf([['fer2013/fer2013.csv', Buffer.from(fer2013Text().replace(',Training', ',Nope'))]]);
    const e = await codeOf(loadFer2013Csv(write('broken.tar', broken)));
    expect(e.message).toContain('broken.tar:fer2013/fer2013.csv line 2, field "Usage"');
  });
  it('parses identically whatever the chunk boundaries', () => {
    const bytes = Buffer.from(fer2013Text('\r\n', true));
    for (const size of [1, 2, 3, 5, 7, 4096]) {
      const p = new _CsvPixelParser({ file: 'x', onBadRow: 'throw', sizeHint: bytes.length, numClasses: 7 });
      for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size));
      const r = p.end();
      expectRows(r);
    }
  });
  it('accepts a last row without a trailing newline and ignores blank lines', async () => {
    const text = fer2013Text().trimEnd().replace('\n', '\n\n');
    expectRows(await loadFer2013Csv(write('nonl.csv', text)));
  });
});

describe('loadFer2013Csv: bad input', () => {
  const base = fer2013Text().split('\n');
  const bad = (row: string, line = 3) => {
    const r = base.slice();
    r[line - 1] = row;
    return r.join('\n');
  };
  it('wrong pixel count names file, line and field', async () => {
    const p = write('short.csv', bad(`0,${px(1).split(' ').slice(0, 2300).join(' ')},Training`));
    const e = await codeOf(loadFer2013Csv(p));
    expect(e.code).toBe('E_BAD_PIXELS');
    expect(e.message).toContain(`${p} line 3, field "pixels": got 2300 pixel values, expected 2304`);
  });
  it('too many pixels', async () => {
    const e = await codeOf(loadFer2013Csv(write('long.csv', bad(`0,${px(1)} 7,Training`))));
    expect(e.code).toBe('E_BAD_PIXELS');
    expect(e.message).toContain('got 2305 pixel values');
  });
  it('non-numeric and out-of-range pixel values', async () => {
    const e = await codeOf(loadFer2013Csv(write('nan.csv', bad(`0,${px(1).replace(/^(\S+ \S+) /, '$1 1x ')},Training`))));
    expect(e.code).toBe('E_BAD_PIXELS');
    expect(e.message).toMatch(/line 3, field "pixels": value #3 contains the non-numeric character "x"/);
    const f = await codeOf(loadFer2013Csv(write('big.csv', bad(`0,256 ${px(1).split(' ').slice(1).join(' ')},Training`))));
    expect(f.message).toContain('value #1 is 256, expected an integer 0-255');
  });
  it('label outside 0-6, non-numeric or empty', async () => {
    for (const [lab, want] of [['7', 'got 7'], ['-1', 'non-numeric character "-"'], ['', 'empty value']]) {
      const e = await codeOf(loadFer2013Csv(write(`lab${lab}.csv`, bad(`${lab},${px(1)},Training`, 4))));
      expect(e.code).toBe('E_BAD_LABEL');
      expect(e.message).toContain('line 4, field "emotion"');
      expect(e.message).toContain(want);
    }
  });
  it('unknown Usage', async () => {
    const e = await codeOf(loadFer2013Csv(write('usage.csv', bad(`0,${px(1)},Validation`))));
    expect(e.code).toBe('E_BAD_USAGE');
    expect(e.message).toContain('line 3, field "Usage": got "Validation", expected one of Training, PublicTest, PrivateTest');
  });
  it('wrong number of fields', async () => {
    const e = await codeOf(loadFer2013Csv(write('fields.csv', bad(`0,${px(1)}`))));
    expect(e.code).toBe('E_BAD_ROW');
    expect(e.message).toContain('line 3');
  });
  it('truncated .gz', async () => {
    const gz = gzipSync(fer2013Text());
    const e = await codeOf(loadFer2013Csv(write('trunc.csv.gz', gz.subarray(0, Math.floor(gz.length * 0.6)))));
    expect(e.code).toBe('E_TRUNCATED');
    expect(e.message).toContain('trunc.csv.gz');
  });
  it('empty file, header only, missing pixels column, missing file', async () => {
    expect((await codeOf(loadFer2013Csv(write('empty.csv', '')))).code).toBe('E_EMPTY_INPUT');
    expect((await codeOf(loadFer2013Csv(write('empty.csv.gz', gzipSync(''))))).code).toBe('E_EMPTY_INPUT');
    expect((await codeOf(loadFer2013Csv(write('header.csv', 'emotion,pixels,Usage\n')))).code).toBe('E_EMPTY_INPUT');
    const h = await codeOf(loadFer2013Csv(write('nopix.csv', 'emotion,image,Usage\n0,1 2,Training\n')));
    expect(h.code).toBe('E_BAD_HEADER');
    const fp = await codeOf(loadFer2013Csv(write('fer2013new.csv', 'Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n')));
    expect(fp.message).toContain('ferPlus');
    expect((await codeOf(loadFer2013Csv(join(dir, 'nope.csv')))).code).toBe('E_FS');
  });
  it('a binary file gets a clear error, not an unbounded header', async () => {
    const bin = Buffer.alloc(100_000, 7);
    expect((await codeOf(loadFer2013Csv(write('blob.bin', bin)))).code).toBe('E_BAD_HEADER');
  });
  it('a tar archive without a CSV is a typed error', async () => {
    const t = tarOf([['fer2013/', null], ['fer2013/README', Buffer.from('hello')]]);
    expect((await codeOf(loadFer2013Csv(write('nocsv.tar.gz', gzipSync(t))))).code).toBe('E_UNKNOWN_FORMAT');
  });
  it("onBadRow: 'skip' skips and counts every bad row, loses nothing else", async () => {
    const r = base.slice();
    r[2] = `9,${px(1)},Training`; // bad label
    r[5] = `0,${px(4)} 1,Training`; // too many
    r[8] = `0,${px(7)},Nope`; // bad usage
    const seen: number[] = [];
    const ds = await loadFer2013Csv(write('skip.csv', r.join('\n')), { onBadRow: 'skip', onSkip: (b) => seen.push(b.line) });
    expect(ds.skipped).toBe(3);
    expect(seen).toEqual([3, 6, 9]);
    expect(ds.count).toBe(9);
    expect(Array.from(ds.labels)).toEqual([0, 2, 3, 5, 6, 8, 9, 10, 11].map((i) => faces.labels[i]));
    expect(Buffer.from(ds.pixels.subarray(2304, 4608)).equals(Buffer.from(faces.pixels.subarray(2 * 2304, 3 * 2304)))).toBe(true);
  });
  it('rejects unknown options', async () => {
    expect((await codeOf(loadFer2013Csv('x', { onBadRows: 'skip' } as never))).code).toBe('E_BAD_OPTION');
  });
});

describe('real FER2013 (FER2013_PATH)', () => {
  const path = process.env.FER2013_PATH;
  it.skipIf(!path)('has the exact official counts per split and class', async () => {
    const ds = await loadDataset(path as string);
    expect(ds.count).toBe(35887);
    expect(ds.pixels.length).toBe(35887 * 2304);
    const st = datasetStats(ds);
    expect(st.Training).toEqual({ total: 28709, perClass: [3995, 436, 4097, 7215, 4830, 3171, 4965], unlabeled: 0 });
    expect(st.PublicTest).toEqual({ total: 3589, perClass: [467, 56, 496, 895, 653, 415, 607], unlabeled: 0 });
    expect(st.PrivateTest).toEqual({ total: 3589, perClass: [491, 55, 528, 879, 594, 416, 626], unlabeled: 0 });
    expect(Array.from(ds.pixels.subarray(0, 5))).toEqual([70, 80, 82, 72, 58]);
  });
  if (!path) it.skip('FER2013_PATH is unset: skipping the real-data test (pnpm test sets it to ../shared/data)', () => {});
});

describe('nothing silent (issue 13)', () => {
  const rowsOf = (header: string, cols: ('emotion' | 'pixels' | 'Usage')[], n = 3, sep = ',') =>
    [header, ...Array.from({ length: n }, (_, i) => cols.map((c) => (c === 'emotion' ? String(faces.labels[i]) : c === 'pixels' ? px(i) : USAGES[i])).join(sep))].join('\n') + '\n';
  it('a misspelled, unknown or duplicate header column is E_BAD_HEADER naming it, the expected names and the nearest one', async () => {
    const cases: [string, ('emotion' | 'pixels' | 'Usage')[], string, string | null][] = [
      ['emotoin,pixels,Usage', ['emotion', 'pixels', 'Usage'], 'emotoin', 'emotion'],
      ['emotion,pixels,Usgae', ['emotion', 'pixels', 'Usage'], 'Usgae', 'Usage'],
      ['emotion, Usgae, pixels', ['emotion', 'Usage', 'pixels'], 'Usgae', 'Usage'],
      ['emotion,pixels,Usage,comment', ['emotion', 'pixels', 'Usage', 'Usage'], 'comment', null],
      ['emotion,pixels,emotion', ['emotion', 'pixels', 'emotion'], 'emotion', null],
    ];
    for (const [header, cols, bad, near] of cases) {
      const p = write(`hdr-${cases.findIndex((c) => c[0] === header)}.csv`, rowsOf(header, cols));
      const e = await codeOf(loadFer2013Csv(p));
      expect(e.code, header).toBe('E_BAD_HEADER');
      expect(e.message).toContain(`${p} line 1, field "${bad}"`);
      expect(e.message).toContain('emotion, pixels, Usage');
      if (near) expect(e.message).toContain(`did you mean "${near}"`);
    }
  });
  it('a missing required column is E_BAD_HEADER; test.csv (pixels only) stays valid', async () => {
    const noEmotion = await codeOf(loadFer2013Csv(write('nolabel.csv', rowsOf('pixels,Usage', ['pixels', 'Usage']))));
    expect(noEmotion.code).toBe('E_BAD_HEADER');
    expect(noEmotion.message).toContain('missing column "emotion"');
    const t = write('train-nolabel.csv', rowsOf('pixels', ['pixels']));
    const s = write('test-ok.csv', rowsOf('pixels', ['pixels']));
    const train = await codeOf(loadKaggleTrainTest(t, s));
    expect(train.code).toBe('E_BAD_HEADER');
    expect(train.message).toContain(`${t} line 1`);
    expect(train.message).toContain('missing column "emotion"');
    const test = await loadFer2013Csv(s);
    expect(test.count).toBe(3);
    expect(Array.from(test.labels)).toEqual([255, 255, 255]);
    expect((await loadFer2013Csv(write('icml_face_data.csv', rowsOf('emotion, Usage, pixels', ['emotion', 'Usage', 'pixels'], 3, ', ')))).count).toBe(3);
  });
  it('a tar archive cut at a row boundary is E_TRUNCATED naming the file, member, declared and actual sizes', async () => {
    const csv = Buffer.from(fer2013Text());
    const t = tarOf([['fer2013/fer2013.csv', csv]]);
    const cut = csv.indexOf('\n', Math.floor(csv.length / 2)) + 1; // a row boundary
    for (const [name, data] of [['cut.tar', t.subarray(0, 512 + cut)], ['cut.tar.gz', gzipSync(t.subarray(0, 512 + cut))]] as const) {
      const p = write(name, data);
      const e = await codeOf(loadFer2013Csv(p));
      expect(e.code, name).toBe('E_TRUNCATED');
      expect(e.message).toContain(`${p}: tar member fer2013/fer2013.csv declares ${csv.length} bytes but the archive ends after ${cut}`);
    }
  });
  it('a tar header with a wrong checksum is E_CORRUPT', async () => {
    const t = Buffer.from(tarOf([['fer2013/fer2013.csv', Buffer.from(fer2013Text())]]));
    t[130] = 0x31; // one octal digit of the size field
    const e = await codeOf(loadFer2013Csv(write('badsum.tar', t)));
    expect(e.code).toBe('E_CORRUPT');
    expect(e.message).toContain('badsum.tar: tar header of "fer2013/fer2013.csv" at byte 0 has checksum');
  });
  it('a corrupt .gz is reported as a corrupt stream (not a bad row), also with onBadRow: skip', async () => {
    // 300 rows (2.4 MB) in stored blocks: the damaged byte reaches the parser long before zlib's CRC check.
    const text = fer2013Text() + fer2013Text().split('\n').slice(1).join('\n').repeat(24);
    const gz = Buffer.from(gzipSync(text, { level: 0 }));
    gz[10 + 5 + 3000] = 0x78; // 'x' in the pixels of row 1
    const p = write('corrupt.csv.gz', gz);
    for (const onBadRow of ['throw', 'skip'] as const) {
      const seen: number[] = [];
      const e = await codeOf(loadFer2013Csv(p, { onBadRow, onSkip: (b) => seen.push(b.line) }));
      expect(e.code, onBadRow).toBe('E_CORRUPT');
      expect(e.message).toMatch(new RegExp(`corrupt gzip stream in ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at byte \\d+ of ${gz.length}; expected .*; the file is damaged, re-download it`));
      expect(e.message).not.toContain('skip');
      expect(seen).toEqual([]);
    }
    const trunc = gzipSync(fer2013Text());
    const t = write('trunc2.csv.gz', trunc.subarray(0, trunc.length - 100));
    const e = await codeOf(loadFer2013Csv(t, { onBadRow: 'skip' }));
    expect(e.code).toBe('E_TRUNCATED');
    expect(e.message).toContain(`truncated gzip stream in ${t}`);
  });
});
