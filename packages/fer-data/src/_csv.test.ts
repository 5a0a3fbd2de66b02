import { tinyFaces, mulberry32 } from '@fer/testing';
import { describe, expect, it } from 'vitest';
import { _CsvPixelParser } from './_csv.js';
import { FerDataError } from './errors.js';

const f = tinyFaces(5, 2);
const text = ['emotion,pixels,Usage', ...Array.from({ length: 5 }, (_, i) => `${f.labels[i]},${Array.from(f.pixels.subarray(i * 2304, (i + 1) * 2304)).join(' ')},Training`)].join('\n') + '\n';
const valid = Buffer.from(text);

function parse(bytes: Uint8Array, mode: 'throw' | 'skip', chunk: number) {
  const p = new _CsvPixelParser({ file: 'fuzz.csv', onBadRow: mode, sizeHint: bytes.length, numClasses: 7 });
  for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
  return p.end();
}

describe('CSV parser under random corruption (seeded)', () => {
  it('either loads or throws a FerDataError; skip mode accounts for every data line', () => {
    const r = mulberry32(2024);
    const junk = [0x2c, 0x0a, 0x20, 0x22, 0x0d, 0x41, 0x2d, 0x39, 0x30];
    for (let t = 0; t < 300; t++) {
      const b = Array.from(valid);
      const edits = 1 + Math.floor(r() * 3);
      for (let e = 0; e < edits; e++) {
        const at = 21 + Math.floor(r() * (b.length - 21)); // keep the header
        const op = r();
        if (op < 0.4) b.splice(at, 1);
        else if (op < 0.8) b.splice(at, 0, junk[Math.floor(r() * junk.length)]);
        else b.length = at; // truncate
      }
      const bytes = Uint8Array.from(b);
      const chunk = 1 + Math.floor(r() * 5000);
      try {
        parse(bytes, 'throw', chunk);
      } catch (err) {
        expect(err).toBeInstanceOf(FerDataError);
        expect((err as Error).message).toMatch(/fuzz\.csv line \d+, field "/);
      }
      let res;
      try {
        res = parse(bytes, 'skip', chunk);
      } catch (err) {
        expect((err as FerDataError).code).toBe('E_EMPTY_INPUT'); // every row bad
        continue;
      }
      const lines = Buffer.from(bytes).toString('latin1').split('\n').slice(1).filter((l) => l.replace(/[\r \t]/g, '') !== '').length;
      expect(res.count + res.skipped).toBe(lines);
      expect(res.pixels.length).toBe(res.count * 2304);
    }
  });
});
