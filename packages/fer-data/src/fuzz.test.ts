// Seeded loader fuzz test (issue 13, "nothing silent"): a few hundred generated variants of small files in every
// format the loaders read, valid and malformed. Every valid variant must load with the content of its canonical
// form; every malformed one must be rejected with a FerDataError naming the file (and line and field for row
// errors); a mutated variant (byte flip, truncation, trailing garbage) is judged by a small independent reference
// reader (the oracles below): where that says the bytes are still a valid file, the loader must load exactly what
// it reads. Nothing may be accepted silently.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ustarArchive } from '@fer/testing';
import { mulberry32 } from './_rng.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { loadFerPlus } from './ferplus.js';
import { loadDataset } from './load.js';

const SEED = 20240613;
const PIX = 2304;
const SPLITS = ['Training', 'PublicTest', 'PrivateTest'];
const root = mkdtempSync(join(tmpdir(), 'fer-data-fuzz-'));

type Outcome = 'rejected clearly' | 'loaded (valid)' | 'accepted silently' | 'rejected unclearly' | 'rejected a valid file';
interface Content { count: number; pixels: Uint8Array; labels: Uint8Array; splits: Uint8Array; soft?: Float32Array }
interface Case {
  category: string;
  what: string;
  /** The file the variant changed: a rejection must name it. */
  file: string;
  load: () => Promise<FerDataset>;
  /** null: must be rejected; otherwise the content it must load with. */
  expected: () => Promise<Content | null>;
  /** A mutated image: without a reference decoder, loading the canonical content or a clear rejection are both fine. */
  mayReject?: boolean;
}
interface Row { label: number; pixels: Uint8Array; usage: number }
type Col = 'emotion' | 'pixels' | 'Usage';

const table = new Map<string, Record<Outcome, number>>();
const failures: string[] = [];

// --- Generators ---

const rng = mulberry32(SEED);
const int = (n: number) => Math.floor(rng() * n);
const pick = <T,>(a: readonly T[]): T => a[int(a.length)];
let caseNo = 0;
function caseDir(): string {
  const d = join(root, String(caseNo++));
  mkdirSync(d);
  return d;
}
function put(dir: string, name: string, data: string | Buffer): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  return p;
}
function makeRows(n: number, opts: { labelled?: boolean } = {}): Row[] {
  return Array.from({ length: n }, () => {
    const pixels = new Uint8Array(PIX);
    const kind = int(3); // smooth, noisy, extreme values
    for (let i = 0; i < PIX; i++) pixels[i] = kind === 0 ? (i % 48) * 5 : kind === 1 ? int(256) : pick([0, 255, 9, 10, 99, 100]);
    return { label: opts.labelled === false ? 255 : int(7), pixels, usage: int(3) };
  });
}
interface TextOpts { cols?: Col[]; names?: string[]; sep?: string; eol?: string; bom?: boolean; quote?: boolean; lastEol?: boolean }
function csvText(rows: Row[], o: TextOpts = {}): string {
  const cols = o.cols ?? ['emotion', 'pixels', 'Usage'];
  const eol = o.eol ?? '\n', sep = o.sep ?? ',';
  const lines = [(o.names ?? cols).join(sep)];
  for (const r of rows) {
    lines.push(cols.map((c) => {
      if (c === 'emotion') return String(r.label);
      if (c === 'Usage') return SPLITS[r.usage];
      const p = Array.from(r.pixels).join(' ');
      return o.quote ? `"${p}"` : p;
    }).join(sep));
  }
  return (o.bom ? '\ufeff' : '') + lines.join(eol) + (o.lastEol === false ? '' : eol);
}
function content(rows: Row[], splitOf: (r: Row, i: number) => number = (r) => r.usage): Content {
  const pixels = new Uint8Array(rows.length * PIX);
  rows.forEach((r, i) => pixels.set(r.pixels, i * PIX));
  return { count: rows.length, pixels, labels: Uint8Array.from(rows, (r) => r.label), splits: Uint8Array.from(rows, splitOf) };
}
function concat(a: Content, b: Content): Content {
  const cat = (x: Uint8Array, y: Uint8Array) => { const o = new Uint8Array(x.length + y.length); o.set(x); o.set(y, x.length); return o; };
  return { count: a.count + b.count, pixels: cat(a.pixels, b.pixels), labels: cat(a.labels, b.labels), splits: cat(a.splits, b.splits) };
}
/** A ustar archive holding one file, like Kaggle's fer2013.tar.gz. */
const tarOf = (name: string, data: Buffer): Buffer => ustarArchive([[name, data]]);
/** One random change: a bit flip or a random byte, placed in the header, near a row start, or anywhere. */
function flip(b: Buffer): { bytes: Buffer; what: string } {
  const out = Buffer.from(b);
  const where = int(3);
  let at = where === 0 ? int(Math.min(64, out.length)) : int(out.length);
  if (where === 1) {
    const nl = out.indexOf(10, at);
    if (nl >= 0) at = Math.min(out.length - 1, nl + int(4) - 1); // around a line end / label
  }
  const old = out[at];
  out[at] = rng() < 0.5 ? old ^ (1 << int(8)) : int(256);
  if (out[at] === old) out[at] = old ^ 1;
  return { bytes: out, what: `byte ${at}: 0x${old.toString(16)} -> 0x${out[at].toString(16)}` };
}
function truncate(b: Buffer, atRowBoundary: boolean): { bytes: Buffer; what: string } {
  let cut = 1 + int(b.length - 1);
  if (atRowBoundary) {
    const nl = b.indexOf(10, cut);
    if (nl >= 0 && nl + 1 < b.length) cut = nl + 1;
  }
  return { bytes: b.subarray(0, cut), what: `cut at ${cut} of ${b.length}` };
}
function garbage(): Buffer {
  const k = int(4);
  if (k === 0) return Buffer.from('\n\n');
  if (k === 1) return Buffer.from('garbage,1,2\n');
  return Buffer.from(Array.from({ length: 1 + int(40) }, () => int(256)));
}

// --- Oracles: independent reference readers ---

interface CsvRules { requireEmotion: boolean; testName: boolean; forceTraining: boolean }
const KNOWN: Record<string, Col> = { emotion: 'emotion', pixels: 'pixels', usage: 'Usage' };

/** The FER2013 CSV grammar: header of known columns (any order, case-insensitive), rows of exactly those fields. */
function oracleCsv(bytes: Buffer, rules: CsvRules): Content | null {
  const nl = bytes.indexOf(10);
  if (nl < 0) return null; // header only, or empty
  let header = bytes.subarray(0, nl).toString('utf8');
  if (header.charCodeAt(0) === 0xfeff) header = header.slice(1);
  const names = header.split(',').map((h) => h.trim().replace(/^"|"$/g, '').trim().toLowerCase());
  if (names.some((n) => !(n in KNOWN)) || new Set(names).size !== names.length || !names.includes('pixels')) return null;
  if (!names.includes('emotion') && (names.includes('usage') || rules.requireEmotion)) return null;
  const rows: Row[] = [];
  for (const raw of bytes.subarray(nl + 1).toString('latin1').split('\n')) {
    if (raw.replace(/\r/g, '') === '') continue; // blank line
    const fields: string[] = [];
    let cur = '', q = false;
    for (const ch of raw) {
      if (ch === '"') q = !q;
      if (ch === ',' && !q) { fields.push(cur); cur = ''; } else cur += ch;
    }
    fields.push(cur);
    if (fields.length !== names.length) return null;
    const row: Row = { label: 255, pixels: new Uint8Array(PIX), usage: 0 };
    for (let c = 0; c < names.length; c++) {
      const f = fields[c];
      if (names[c] === 'emotion') {
        const v = f.replace(/["\r]/g, '').replace(/^[ \t]+|[ \t]+$/g, '');
        if (!/^\d+$/.test(v) || Number(v) > 6) return null;
        row.label = Number(v);
      } else if (names[c] === 'usage') {
        const v = f.replace(/["\r \t]/g, '').toLowerCase();
        const s = SPLITS.findIndex((x) => x.toLowerCase() === v);
        if (s < 0) return null;
        row.usage = s;
      } else {
        const t = f.replace(/[\t\r"]/g, ' ').trim();
        const vals = t === '' ? [] : t.split(/ +/);
        if (vals.length !== PIX || vals.some((x) => !/^\d+$/.test(x) || Number(x) > 255)) return null;
        vals.forEach((x, i) => (row.pixels[i] = Number(x)));
      }
    }
    rows.push(row);
  }
  if (rows.length === 0) return null;
  const hasUsage = names.includes('usage');
  return content(rows, (r, i) => (rules.forceTraining ? 0 : hasUsage ? r.usage : rules.testName ? (i < 3589 ? 1 : 2) : 0));
}
/** ustar: the first regular *.csv member, checksums verified, complete; null when that fails. */
function oracleTar(b: Buffer): Buffer | null {
  const cstr = (off: number, len: number) => { let e = off; while (e < off + len && b[e] !== 0) e++; return b.subarray(off, e).toString('utf8'); };
  for (let pos = 0; pos + 512 <= b.length;) {
    if (b.subarray(pos, pos + 512).every((x) => x === 0)) return null;
    let us = 0, si = 0;
    for (let j = 0; j < 512; j++) { const x = j >= 148 && j < 156 ? 32 : b[pos + j]; us += x; si += x > 127 ? x - 256 : x; }
    const sumField = cstr(pos + 148, 8).trim();
    if (!/^[0-7]+$/.test(sumField) || (parseInt(sumField, 8) !== us && parseInt(sumField, 8) !== si)) return null;
    if (b[pos + 124] & 0x80) return null; // base-256 sizes: not generated here
    const sizeField = cstr(pos + 124, 12).trim();
    if (sizeField !== '' && !/^[0-7]+$/.test(sizeField)) return null;
    const size = sizeField === '' ? 0 : parseInt(sizeField, 8);
    const name = cstr(pos, 100), prefix = cstr(pos + 345, 155);
    const full = prefix ? `${prefix}/${name}` : name;
    const base = full.slice(full.lastIndexOf('/') + 1);
    const type = b[pos + 156];
    if ((type === 0x30 || type === 0) && /\.csv$/i.test(base) && !base.startsWith('._')) {
      return pos + 512 + size <= b.length ? b.subarray(pos + 512, pos + 512 + size) : null;
    }
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return null;
}
/** What loadFer2013Csv must read from these bytes: gzip and tar unwrapped, then the CSV grammar. */
function oracleFile(bytes: Buffer, rules: CsvRules): Content | null {
  let b = bytes;
  if (b.length === 0) return null;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try { b = gunzipSync(b); } catch { return null; }
  }
  if (b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') {
    const csv = oracleTar(b);
    return csv && oracleCsv(csv, rules);
  }
  return oracleCsv(b, rules);
}
const FP_HEADER = ['Usage', 'Image name', 'neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt', 'unknown', 'NF'];
/** FER+ grammar: the exact header, one row per base row, 12 fields, the same Usage, integer votes. Returns its canonical text. */
function oracleFerPlus(bytes: Buffer, base: FerDataset): string | null {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) return null;
  const h = lines[0].split(',').map((x) => x.trim().toLowerCase());
  if (h.length !== 12 || FP_HEADER.some((x, i) => x.toLowerCase() !== h[i])) return null;
  if (lines.length - 1 !== base.count) return null;
  const out = [FP_HEADER.join(',')];
  for (let r = 0; r < base.count; r++) {
    const f = lines[r + 1].split(',');
    if (f.length !== 12 || SPLITS.indexOf(f[0].trim()) !== base.splits[r]) return null;
    if (f.slice(2).some((v) => !/^\s*\d{1,9}\s*$/.test(v))) return null;
    out.push([f[0].trim(), f[1].trim(), ...f.slice(2).map((v) => String(Number(v)))].join(','));
  }
  return out.join('\n') + '\n';
}
const fromDataset = (d: FerDataset): Content => ({ count: d.count, pixels: d.pixels, labels: d.labels, splits: d.splits, ...(d.softLabels ? { soft: d.softLabels } : {}) });

// --- Cases per format ---

const cases: Case[] = [];
const FER: CsvRules = { requireEmotion: false, testName: false, forceTraining: false };
const add = (c: Case) => cases.push(c);

function fileCase(category: string, what: string, name: string, bytes: Buffer | string, expected: Content | null | 'oracle', rules = FER): void {
  const p = put(caseDir(), name, bytes);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  add({ category, what, file: p, load: () => loadDataset(p), expected: async () => (expected === 'oracle' ? oracleFile(buf, rules) : expected) });
}

// Kaggle fer2013.csv, plain
for (let k = 0; k < 10; k++) {
  const rows = makeRows(1 + int(3));
  const want = content(rows);
  const perm = pick<Col[]>([['emotion', 'pixels', 'Usage'], ['emotion', 'Usage', 'pixels'], ['pixels', 'emotion', 'Usage'], ['Usage', 'pixels', 'emotion']]);
  const variants: [string, string][] = [
    ['LF', csvText(rows)], ['CRLF', csvText(rows, { eol: '\r\n' })], ['BOM', csvText(rows, { bom: true })],
    ['quoted pixels', csvText(rows, { quote: true })], ['no final newline', csvText(rows, { lastEol: false })],
    ['blank lines', csvText(rows).replace(/\n/g, '\n\n')], ['column order', csvText(rows, { cols: perm })],
    ['header case and spaces', csvText(rows, { names: ['Emotion ', ' PIXELS', ' usage'] })],
  ];
  const [what, text] = variants[k % variants.length];
  fileCase('csv: valid', what, 'fer2013.csv', text, want);
}
const MALFORMED_HEADERS = ['emotoin,pixels,Usage', 'emotion,pixels,Usgae', 'emotion,pixel,Usage', 'emotion,pixels', 'emotion,pixels,Usage,extra',
  'emotion,pixels,pixels', 'pixels,Usage', 'label,pixels,Usage', 'emotion;pixels;Usage', 'emotion,pixels,Usage,'];
for (const header of MALFORMED_HEADERS) {
  const rows = makeRows(2);
  const cols: Col[] = ['emotion', 'pixels', 'Usage'];
  const body = csvText(rows, { cols }).split('\n').slice(1).join('\n');
  fileCase('csv: bad header', header, 'fer2013.csv', `${header}\n${body}`, null);
}
const BAD_FIELDS: [string, (r: string[]) => void][] = [
  ['label 7', (r) => (r[0] = '7')], ['label -1', (r) => (r[0] = '-1')], ['label x', (r) => (r[0] = 'x')], ['label empty', (r) => (r[0] = '')],
  ['label 3.5', (r) => (r[0] = '3.5')], ['label "1 2"', (r) => (r[0] = '1 2')], ['label "0 3"', (r) => (r[0] = '0 3')], ['label 1e0', (r) => (r[0] = '1e0')],
  ['2303 pixels', (r) => (r[1] = r[1].split(' ').slice(1).join(' '))], ['2305 pixels', (r) => (r[1] += ' 7')], ['no pixels', (r) => (r[1] = '')],
  ['pixel 256', (r) => (r[1] = r[1].replace(/^\d+/, '256'))], ['pixel 1000', (r) => (r[1] = r[1].replace(/ \d+/, ' 1000'))],
  ['pixel -1', (r) => (r[1] = r[1].replace(/^\d+/, '-1'))], ['pixel 1.5', (r) => (r[1] = r[1].replace(/ \d+ /, ' 1.5 '))],
  ['pixel 0x1f', (r) => (r[1] = r[1].replace(/ \d+ /, ' 0x1f '))], ['pixel a', (r) => (r[1] = r[1].replace(/ \d+$/, ' a'))],
  ['Usage Validation', (r) => (r[2] = 'Validation')], ['Usage empty', (r) => (r[2] = '')], ['extra field', (r) => r.push('x')],
  ['missing field', (r) => r.pop()],
];
for (const [what, edit] of BAD_FIELDS) {
  for (const k of [0, 1]) {
    const rows = makeRows(3);
    const lines = csvText(rows).split('\n');
    const at = 1 + (k === 0 ? 0 : 1 + int(2));
    const f = lines[at].split(',');
    edit(f);
    lines[at] = f.join(',');
    fileCase('csv: bad row', `${what} on line ${at + 1}`, 'fer2013.csv', lines.join(k === 0 ? '\n' : '\r\n'), null);
  }
}
fileCase('csv: bad row', 'empty file', 'fer2013.csv', '', null);
fileCase('csv: bad row', 'header only', 'fer2013.csv', 'emotion,pixels,Usage\n', null);
for (let k = 0; k < 45; k++) {
  const { bytes, what } = flip(Buffer.from(csvText(makeRows(2), { eol: pick(['\n', '\r\n']) })));
  fileCase('csv: byte flip', what, 'fer2013.csv', bytes, 'oracle');
}
for (let k = 0; k < 12; k++) {
  const { bytes, what } = truncate(Buffer.from(csvText(makeRows(3))), k % 2 === 0);
  fileCase('csv: truncated (plain)', what, 'fer2013.csv', bytes, 'oracle');
}
for (let k = 0; k < 10; k++) {
  const g = garbage();
  fileCase('csv: trailing garbage', `+${g.length} bytes`, 'fer2013.csv', Buffer.concat([Buffer.from(csvText(makeRows(2))), g]), 'oracle');
}

// .gz
for (let k = 0; k < 6; k++) {
  const rows = makeRows(2);
  fileCase('gz: valid', `level ${k}`, k % 2 ? 'fer2013.csv.gz' : 'data', gzipSync(csvText(rows, { eol: k % 3 ? '\n' : '\r\n' }), { level: k }), content(rows));
}
for (let k = 0; k < 16; k++) {
  const gz = gzipSync(csvText(makeRows(2)));
  const cut = 1 + int(gz.length - 2);
  fileCase('gz: truncated', `cut at ${cut} of ${gz.length}`, 'fer2013.csv.gz', gz.subarray(0, cut), null);
}
for (let k = 0; k < 30; k++) {
  const { bytes, what } = flip(gzipSync(csvText(makeRows(2)), { level: k % 3 === 0 ? 0 : 6 }));
  fileCase('gz: byte flip', what, 'fer2013.csv.gz', bytes, 'oracle');
}
for (let k = 0; k < 6; k++) {
  const g = garbage();
  fileCase('gz: trailing garbage', `+${g.length} bytes`, 'fer2013.csv.gz', Buffer.concat([gzipSync(csvText(makeRows(2))), g]), 'oracle');
}

// tar and tar.gz
for (let k = 0; k < 4; k++) {
  const rows = makeRows(2);
  const t = tarOf('fer2013/fer2013.csv', Buffer.from(csvText(rows)));
  fileCase('tar: valid', k % 2 ? '.tar.gz' : '.tar', k % 2 ? 'fer2013.tar.gz' : 'fer2013.tar', k % 2 ? gzipSync(t) : t, content(rows));
}
for (let k = 0; k < 16; k++) {
  const csv = Buffer.from(csvText(makeRows(3)));
  const t = tarOf('fer2013/fer2013.csv', csv);
  // cut inside the member (at a row boundary half the time), or inside the header
  let cut = k % 4 === 3 ? 1 + int(511) : 512 + 1 + int(csv.length - 1);
  if (k % 2 === 0 && cut > 512) {
    const nl = t.indexOf(10, cut);
    if (nl > 0 && nl + 1 < 512 + csv.length) cut = nl + 1;
  }
  const gz = k % 3 === 0;
  fileCase('tar: truncated', `cut at ${cut} of ${t.length}${gz ? ', gzipped' : ''}`, gz ? 'fer2013.tar.gz' : 'fer2013.tar', gz ? gzipSync(t.subarray(0, cut)) : t.subarray(0, cut), null);
}
for (let k = 0; k < 30; k++) {
  const t = tarOf('fer2013/fer2013.csv', Buffer.from(csvText(makeRows(2))));
  // half the flips in the 512-byte header
  const { bytes, what } = k % 2 ? flip(t) : (() => { const o = Buffer.from(t); const at = int(512); o[at] ^= 1 << int(8); return { bytes: o, what: `header byte ${at}` }; })();
  fileCase('tar: byte flip', what, 'fer2013.tar', bytes, 'oracle');
}

// icml_face_data.csv ("emotion, Usage, pixels")
const ICML: TextOpts = { cols: ['emotion', 'Usage', 'pixels'], names: ['emotion', ' Usage', ' pixels'] };
for (let k = 0; k < 5; k++) {
  const rows = makeRows(2);
  const v: [string, string | Buffer][] = [['LF', csvText(rows, ICML)], ['CRLF', csvText(rows, { ...ICML, eol: '\r\n' })], ['BOM', csvText(rows, { ...ICML, bom: true })],
    ['gz', gzipSync(csvText(rows, ICML))], ['", " separators', csvText(rows, { ...ICML, sep: ', ', names: ['emotion', 'Usage', 'pixels'] })]];
  fileCase('icml: valid', v[k][0], k === 3 ? 'icml_face_data.csv.gz' : 'icml_face_data.csv', v[k][1], content(rows));
}
for (const header of ['emotion, Usgae, pixels', 'emotion, usage, pixel', 'emotion,  Usage,  pixels,', 'emotion, Usage', ' Usage, pixels']) {
  const rows = makeRows(2);
  const body = csvText(rows, ICML).split('\n').slice(1).join('\n');
  fileCase('icml: bad header', header, 'icml_face_data.csv', `${header}\n${body}`, null);
}
for (let k = 0; k < 15; k++) {
  const { bytes, what } = flip(Buffer.from(csvText(makeRows(2), ICML)));
  fileCase('icml: byte flip', what, 'icml_face_data.csv', bytes, 'oracle');
}

// train.csv + test.csv (a folder holding both)
const TRAIN: CsvRules = { requireEmotion: true, testName: false, forceTraining: true };
const TEST: CsvRules = { requireEmotion: false, testName: true, forceTraining: false };
function pairCase(category: string, what: string, train: Buffer, test: Buffer, mutated: 'train' | 'test', expected: Content | null | 'oracle'): void {
  const d = caseDir();
  const tp = put(d, 'train.csv', train), sp = put(d, 'test.csv', test);
  add({
    category, what, file: mutated === 'train' ? tp : sp, load: () => loadDataset(d),
    expected: async () => {
      if (expected !== 'oracle') return expected;
      const a = oracleFile(train, TRAIN), b = oracleFile(test, TEST);
      return a && b && concat(a, b);
    },
  });
}
const pairTexts = () => {
  const tr = makeRows(2), te = makeRows(2, { labelled: false });
  return { tr, te, train: csvText(tr, { cols: ['emotion', 'pixels'] }), test: csvText(te, { cols: ['pixels'] }) };
};
const pairWant = (tr: Row[], te: Row[]) => concat(content(tr, () => 0), content(te, (_, i) => (i < 3589 ? 1 : 2)));
for (let k = 0; k < 4; k++) {
  const { tr, te, train, test } = pairTexts();
  const crlf = (s: string) => s.replace(/\n/g, '\r\n');
  pairCase('train/test: valid', ['LF', 'CRLF', 'BOM', 'no final newline'][k], Buffer.from(k === 1 ? crlf(train) : k === 2 ? `\ufeff${train}` : k === 3 ? train.trimEnd() : train), Buffer.from(k === 1 ? crlf(test) : test), 'train', pairWant(tr, te));
}
for (const [which, header] of [['train', 'emotoin,pixels'], ['train', 'pixels'], ['train', 'emotion,pixel'], ['test', 'pixel'], ['test', 'pixels,Usgae'], ['test', 'pixels,pixels']] as const) {
  const { train, test } = pairTexts();
  const swap = (s: string) => `${header}\n${s.split('\n').slice(1).join('\n')}`;
  pairCase('train/test: bad header', `${which}: ${header}`, Buffer.from(which === 'train' ? swap(train) : train), Buffer.from(which === 'test' ? swap(test) : test), which, null);
}
for (let k = 0; k < 16; k++) {
  const { train, test } = pairTexts();
  const which = k % 2 ? 'train' : 'test';
  const { bytes, what } = flip(Buffer.from(which === 'train' ? train : test));
  pairCase('train/test: byte flip', `${which} ${what}`, which === 'train' ? bytes : Buffer.from(train), which === 'test' ? bytes : Buffer.from(test), which, 'oracle');
}

// FER+ fer2013new.csv joined onto fer2013.csv
function ferPlusRows(splits: number[]): string[] {
  return splits.map((s, i) => {
    const votes = Array.from({ length: 10 }, () => (rng() < 0.4 ? int(10) : 0));
    votes[int(8)] += 5;
    return [SPLITS[s], rng() < 0.1 ? '' : `fer${String(i).padStart(7, '0')}.png`, ...votes].join(',');
  });
}
function ferPlusCase(category: string, what: string, make: (rows: string[]) => string | Buffer, expected: 'oracle' | null | 'canonical'): void {
  const d = caseDir();
  const rows = makeRows(4);
  const fer = put(d, 'fer2013.csv', csvText(rows));
  const fpRows = ferPlusRows(rows.map((r) => r.usage));
  const bytes = make(fpRows);
  const fp = put(d, 'fer2013new.csv', bytes);
  add({
    category, what, file: fp, load: () => loadDataset(fer, { ferPlus: fp }),
    expected: async () => {
      if (expected === null) return null;
      const base = await loadDataset(fer);
      const canon = expected === 'canonical' ? [FP_HEADER.join(','), ...fpRows].join('\n') + '\n' : oracleFerPlus(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), base);
      if (canon === null) return null;
      return fromDataset(await loadFerPlus(base, put(d, 'canonical-fer2013new.csv', canon)));
    },
  });
}
const fpText = (rows: string[], header = FP_HEADER.join(','), eol = '\n') => [header, ...rows].join(eol) + eol;
for (const [what, make] of [['LF', (r: string[]) => fpText(r)], ['CRLF', (r: string[]) => fpText(r, undefined, '\r\n')], ['BOM', (r: string[]) => `\ufeff${fpText(r)}`],
  ['spaces around fields', (r: string[]) => fpText(r.map((x) => x.split(',').join(' , ')), FP_HEADER.join(' , '))]] as const) {
  ferPlusCase('ferplus: valid', what, make, 'canonical');
}
const fpBad: [string, (r: string[]) => string][] = [
  ['header Image nmae', (r) => fpText(r, FP_HEADER.join(',').replace('Image name', 'Image nmae'))],
  ['header without NF', (r) => fpText(r.map((x) => x.replace(/,\d+$/, '')), FP_HEADER.slice(0, 11).join(','))],
  ['header extra column', (r) => fpText(r.map((x) => `${x},0`), `${FP_HEADER.join(',')},extra`)],
  ['header columns swapped', (r) => fpText(r, FP_HEADER.join(',').replace('neutral,happiness', 'happiness,neutral'))],
  ['header duplicate', (r) => fpText(r, FP_HEADER.join(',').replace('fear', 'disgust'))],
  ['vote 1.', (r) => fpText([r[0].replace(/,(\d+)$/, ',$1.'), ...r.slice(1)])],
  ['vote -1', (r) => fpText([r[0].replace(/,(\d+)$/, ',-1'), ...r.slice(1)])],
  ['vote x', (r) => fpText([r[0], r[1].replace(/,(\d+),/, ',x,'), ...r.slice(2)])],
  ['vote empty', (r) => fpText([r[0].replace(/,(\d+)$/, ','), ...r.slice(1)])],
  ['one row missing', (r) => fpText(r.slice(0, -1))],
  ['one row extra', (r) => fpText([...r, r[0]])],
  ['wrong Usage', (r) => fpText([r[0].replace(/^\w+/, 'Validation'), ...r.slice(1)])],
  ['11 fields', (r) => fpText([r[0].replace(/,\d+$/, ''), ...r.slice(1)])],
  ['empty file', () => ''],
];
for (const [what, make] of fpBad) ferPlusCase('ferplus: bad', what, make, null);
for (let k = 0; k < 20; k++) {
  let what = '';
  ferPlusCase('ferplus: byte flip', 'flip', (r) => { const f = flip(Buffer.from(fpText(r))); what = f.what; return f.bytes; }, 'oracle');
  cases[cases.length - 1].what = what;
}

// image folder <root>/<split>/<class>/*.png
function pngOf(seed: number, opts: { deflateLevel?: number; filterType?: number } = {}): Buffer {
  const p = new PNG({ width: 48, height: 48 });
  for (let i = 0; i < 48 * 48; i++) {
    const v = (i * seed) & 255;
    p.data[i * 4] = v; p.data[i * 4 + 1] = v; p.data[i * 4 + 2] = v; p.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(p, opts);
}
let imageBaseline: Promise<Content> | null = null;
function imageCase(category: string, what: string, mutate: ((b: Buffer) => Buffer) | null, expected: 'canonical' | null | 'canonical or rejected'): void {
  const d = caseDir();
  put(d, 'train/happy/Training_1.png', pngOf(3));
  const target = put(d, 'test/sad/PublicTest_2.png', mutate ? mutate(pngOf(7)) : pngOf(7, { deflateLevel: 1 + int(9), filterType: int(5) }));
  if (!imageBaseline) {
    const b = caseDir();
    put(b, 'train/happy/Training_1.png', pngOf(3));
    put(b, 'test/sad/PublicTest_2.png', pngOf(7));
    imageBaseline = loadDataset(b).then(fromDataset);
  }
  const baseline = imageBaseline;
  add({ category, what, file: target, load: () => loadDataset(d), expected: async () => (expected === null ? null : baseline), mayReject: expected === 'canonical or rejected' });
}
for (let k = 0; k < 3; k++) imageCase('image folder: valid', 'png re-encoded', null, 'canonical');
for (let k = 0; k < 5; k++) imageCase('image folder: truncated', 'png cut', (b) => b.subarray(0, 1 + int(b.length - 13)), null);
for (let k = 0; k < 15; k++) imageCase('image folder: byte flip', 'png flip', (b) => flip(b).bytes, 'canonical or rejected');
imageCase('image folder: oversized', 'IHDR 20000x20000', (b) => {
  const o = Buffer.from(b);
  o.writeUInt32BE(20000, 16);
  o.writeUInt32BE(20000, 20);
  o.writeUInt32BE(crc32(o.subarray(12, 29)), 29); // a valid IHDR: only the size check can refuse it
  return o;
}, null);

// --- Running and judging ---

const ROW_CODES = new Set(['E_BAD_PIXELS', 'E_BAD_LABEL', 'E_BAD_USAGE']);
function same(a: Content, b: Content): boolean {
  const eq = (x?: ArrayLike<number>, y?: ArrayLike<number>) => (x === undefined) === (y === undefined) && (x === undefined || y === undefined || (x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => v === y[i])));
  return a.count === b.count && eq(a.pixels, b.pixels) && eq(a.labels, b.labels) && eq(a.splits, b.splits) && eq(a.soft, b.soft);
}
function clear(e: unknown, file: string): boolean {
  if (!(e instanceof FerDataError)) return false;
  if (!e.message.includes(file)) return false;
  if (ROW_CODES.has(e.code) && !/ line \d+, field "/.test(e.message)) return false;
  if ((e.code === 'E_BAD_ROW' || e.code === 'E_BAD_HEADER') && !/ line \d+/.test(e.message)) return false;
  return true;
}
async function judge(c: Case): Promise<Outcome> {
  let got: FerDataset | null = null, err: unknown = null;
  try {
    got = await c.load();
  } catch (e) {
    err = e;
  }
  const want = await c.expected();
  if (got) {
    if (want && got.skipped === 0 && same(fromDataset(got), want)) return 'loaded (valid)';
    return 'accepted silently';
  }
  if (want && !c.mayReject) return 'rejected a valid file';
  return clear(err, c.file) ? 'rejected clearly' : 'rejected unclearly';
}

describe('loader fuzz (seeded)', () => {
  afterAll(() => {
    // NOTE: no console output from tests; FER_FUZZ_TABLE=<file> writes the per-category table as JSON.
    if (process.env.FER_FUZZ_TABLE) writeFileSync(process.env.FER_FUZZ_TABLE, JSON.stringify(Object.fromEntries(table), null, 1));
  });
  it(`runs ${cases.length} generated variants: valid ones load unchanged, bad ones are rejected naming the file`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    for (const c of cases) {
      const outcome = await judge(c);
      const row = table.get(c.category) ?? { 'rejected clearly': 0, 'loaded (valid)': 0, 'accepted silently': 0, 'rejected unclearly': 0, 'rejected a valid file': 0 };
      row[outcome]++;
      table.set(c.category, row);
      if (outcome !== 'rejected clearly' && outcome !== 'loaded (valid)') failures.push(`${c.category} / ${c.what} (${c.file}): ${outcome}`);
    }
    expect(failures).toEqual([]);
    // every category is exercised, and the malformed ones are all rejected
    for (const [cat, row] of table) {
      if (cat.endsWith(': valid')) expect(row['loaded (valid)'], cat).toBeGreaterThan(0);
      if (/bad|truncated$|oversized/.test(cat) && !cat.includes('(plain)')) expect(row['loaded (valid)'], cat).toBe(0);
    }
  }, 120_000);
  it('accepts nothing silently', () => {
    let silent = 0, tried = 0;
    for (const row of table.values()) {
      silent += row['accepted silently'];
      tried += Object.values(row).reduce((a, b) => a + b, 0);
    }
    expect(tried).toBe(cases.length);
    expect(silent).toBe(0);
  });
});
