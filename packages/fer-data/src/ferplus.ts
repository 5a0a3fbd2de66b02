import { readFile } from 'node:fs/promises';
import { checkKeys } from './_config.js';
import { _nearest } from './_csv.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { EMOTIONS, FERPLUS_EMOTIONS, NO_LABEL, SPLITS } from './labels.js';

/** Options of {@link loadFerPlus}. */
export interface FerPlusOptions {
  /**
   * 'majority' (default, the FER+ reference rule): drop single votes as outliers, then the top class must hold
   * more than half of the remaining votes, else the row is "unknown". 'plurality': the most voted column.
   */
  mode?: 'majority' | 'plurality';
  /**
   * 'fer2013' (default): the 7 FER2013 classes in EMOTIONS order (a contempt majority counts as unknown;
   * contempt votes are left out of the distribution). 'ferplus': the 8 FER+ classes (FERPLUS_EMOTIONS).
   */
  classes?: 'fer2013' | 'ferplus';
  /** Drop rows whose label is unknown (default true); kept rows get label 255. */
  dropUnknown?: boolean;
  /** Drop "not a face" rows: NF wins or the FER+ image name is empty (default true); kept rows get label 255. */
  dropNotFace?: boolean;
}

// FER+ column order -> index in EMOTIONS (contempt has none).
const TO_FER2013 = [6, 3, 5, 4, 0, 1, 2, -1];

/**
 * Joins FER+ (`fer2013new.csv`, same row order as fer2013.csv) onto a loaded FER2013: majority-vote labels,
 * vote distributions in `softLabels`, and the FER+ options to drop "unknown" and "not a face" rows
 * (counts in `dropped`).
 * @example
 * const ds = await loadFerPlus(await loadDataset('fer2013.csv.gz'), 'fer2013new.csv');
 */
export async function loadFerPlus(base: FerDataset, ferPlusPath: string, opts: FerPlusOptions = {}): Promise<FerDataset> {
  checkKeys('loadFerPlus', opts, ['mode', 'classes', 'dropUnknown', 'dropNotFace']);
  const mode = opts.mode ?? 'majority';
  const classes = opts.classes ?? 'fer2013';
  if (mode !== 'majority' && mode !== 'plurality') throw new FerDataError('E_BAD_OPTION', `loadFerPlus: mode is ${JSON.stringify(mode)}, expected 'majority' or 'plurality'.`);
  if (classes !== 'fer2013' && classes !== 'ferplus') throw new FerDataError('E_BAD_OPTION', `loadFerPlus: classes is ${JSON.stringify(classes)}, expected 'fer2013' or 'ferplus'.`);
  const dropUnknown = opts.dropUnknown ?? true, dropNotFace = opts.dropNotFace ?? true;
  let text: string;
  try {
    text = await readFile(ferPlusPath, 'utf8');
  } catch (e) {
    throw new FerDataError('E_FS', `loadFerPlus: cannot read ${ferPlusPath} (${(e as Error).message}). Expected the FER+ fer2013new.csv.`, { cause: e });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 byte order mark
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new FerDataError('E_EMPTY_INPUT', `${ferPlusPath}: the file is empty, expected the FER+ CSV (Usage,Image name,neutral,...,NF).`);
  checkHeader(ferPlusPath, lines[0]);
  const n = lines.length - 1;
  if (n !== base.count) {
    throw new FerDataError('E_FERPLUS_MISMATCH', `${ferPlusPath}: got ${n} rows, expected ${base.count} (one per row of ${base.source}, same order). Join FER+ with the complete, unfiltered fer2013.csv.`);
  }
  const k = classes === 'ferplus' ? FERPLUS_EMOTIONS.length : EMOTIONS.length;
  const labels = new Uint8Array(n);
  const soft = new Float32Array(n * k);
  const keep = new Uint8Array(n);
  let unknown = 0, notFace = 0;
  const votes = new Float64Array(10);
  for (let r = 0; r < n; r++) {
    const line = r + 2;
    const f = lines[r + 1].split(',');
    if (f.length !== 12) throw new FerDataError('E_BAD_ROW', `${ferPlusPath} line ${line}: got ${f.length} fields, expected 12 (Usage, Image name, 10 vote counts).`);
    const usage = SPLITS.indexOf(f[0].trim() as (typeof SPLITS)[number]);
    if (usage < 0) throw new FerDataError('E_BAD_USAGE', `${ferPlusPath} line ${line}, field "Usage": got ${JSON.stringify(f[0])}, expected one of ${SPLITS.join(', ')}.`);
    if (usage !== base.splits[r]) {
      throw new FerDataError('E_FERPLUS_MISMATCH', `${ferPlusPath} line ${line}: Usage is ${f[0]} but row ${r} of ${base.source} is ${SPLITS[base.splits[r]]}; expected the same row order as fer2013.csv.`);
    }
    for (let c = 0; c < 10; c++) {
      // NOTE: digits only: Number() would also take "1.", "0x3" or "1e1".
      const v = /^\s*\d{1,9}\s*$/.test(f[c + 2]) ? Number(f[c + 2]) : NaN;
      if (!Number.isInteger(v)) {
        throw new FerDataError('E_BAD_LABEL', `${ferPlusPath} line ${line}, field "${FERPLUS_COLUMNS[c + 2]}": got ${JSON.stringify(f[c + 2])}, expected a non-negative integer vote count.`);
      }
      votes[c] = v;
    }
    // Vote distribution over the chosen classes (raw votes).
    let tot = 0;
    for (let c = 0; c < 8; c++) {
      const to = classes === 'ferplus' ? c : TO_FER2013[c];
      if (to >= 0) { soft[r * k + to] = votes[c]; tot += votes[c]; }
    }
    if (tot > 0) for (let c = 0; c < k; c++) soft[r * k + c] /= tot;
    const win = f[1].trim() === '' ? 9 : winner(votes, mode);
    let label = NO_LABEL;
    let isUnknown = false, isNotFace = false;
    if (win === 9) isNotFace = true;
    else if (win < 0 || win === 8) isUnknown = true;
    else {
      const to = classes === 'ferplus' ? win : TO_FER2013[win];
      if (to < 0) isUnknown = true;
      else label = to;
    }
    if (isNotFace) notFace++;
    if (isUnknown) unknown++;
    labels[r] = label;
    keep[r] = (isNotFace && dropNotFace) || (isUnknown && dropUnknown) ? 0 : 1;
  }
  let m = 0;
  for (let r = 0; r < n; r++) m += keep[r];
  const px = base.width * base.height;
  const pixels = new Uint8Array(m * px), outLabels = new Uint8Array(m), splits = new Uint8Array(m), outSoft = new Float32Array(m * k);
  for (let r = 0, j = 0; r < n; r++) {
    if (!keep[r]) continue;
    pixels.set(base.pixels.subarray(r * px, r * px + px), j * px);
    outLabels[j] = labels[r];
    splits[j] = base.splits[r];
    outSoft.set(soft.subarray(r * k, r * k + k), j * k);
    j++;
  }
  return {
    count: m, width: base.width, height: base.height, pixels, labels: outLabels, splits, softLabels: outSoft,
    classNames: classes === 'ferplus' ? FERPLUS_EMOTIONS : EMOTIONS,
    source: `${base.source}+${ferPlusPath}`, synthetic: base.synthetic, skipped: base.skipped,
    dropped: { ...(base.dropped ?? {}), ...(dropUnknown ? { unknown } : {}), ...(dropNotFace ? { notFace } : {}) },
  };
}

// --- Internal helpers ---

const FERPLUS_COLUMNS = ['Usage', 'Image name', 'neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt', 'unknown', 'NF'];

/** The FER+ header must be exactly FERPLUS_COLUMNS (case-insensitive, trimmed): names what differs. */
function checkHeader(file: string, line: string): void {
  const got = line.split(',').map((h) => h.trim());
  const lower = got.map((h) => h.toLowerCase());
  if (lower.length === FERPLUS_COLUMNS.length && FERPLUS_COLUMNS.every((h, i) => lower[i] === h.toLowerCase())) return;
  const expected = `expected "${FERPLUS_COLUMNS.join(',')}"`;
  const head = `got header "${line.slice(0, 120)}"`;
  const known = FERPLUS_COLUMNS.map((h) => h.toLowerCase());
  // NOTE: a header of 100k columns once made a 990 KB message: name the first few only.
  const allUnknown = got.filter((_, i) => !known.includes(lower[i]));
  const more = allUnknown.length > 5 ? ` and ${allUnknown.length - 5} more` : '';
  const unknown = allUnknown.slice(0, 5);
  const missing = FERPLUS_COLUMNS.filter((h) => !lower.includes(h.toLowerCase()));
  let what: string, field: string;
  if (unknown.length > 0) {
    field = unknown[0];
    const near = unknown.map((u) => [u, _nearest(u, missing.length > 0 ? missing : FERPLUS_COLUMNS)] as const);
    what = `unknown column${allUnknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(', ')}` +
      more + near.map(([u, n]) => (n ? ` (${JSON.stringify(u.slice(0, 40))}: did you mean "${n}"?)` : '')).join('') +
      (missing.length > 0 ? `, missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}` : '');
  } else if (missing.length > 0) {
    field = missing[0];
    what = `missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`;
  } else {
    const i = lower.findIndex((h, j) => h !== known[j] || lower.indexOf(h) !== j);
    field = got[i] ?? 'header';
    what = lower.indexOf(lower[i]) !== i ? `column "${got[i]}" appears twice` : `column ${i + 1} is "${got[i]}" where "${FERPLUS_COLUMNS[i]}" belongs (the columns are in another order)`;
  }
  throw new FerDataError('E_BAD_HEADER', `${file} line 1, field "${field.slice(0, 40)}": ${what} (${head}), ${expected} (the FER+ fer2013new.csv). Fix the header.`);
}

/** Winning column (0-9) or -1 for no majority. FER+ reference (microsoft/FERPlus ferplus.py _process_data). */
function winner(votes: Float64Array, mode: 'majority' | 'plurality'): number {
  let best = -1, bestV = -1, sum = 0;
  for (let c = 0; c < 10; c++) {
    const v = mode === 'majority' && votes[c] <= 1 ? 0 : votes[c]; // single votes are outliers
    sum += v;
    if (v > bestV) { bestV = v; best = c; }
  }
  if (bestV <= 0) return -1;
  if (mode === 'majority' && !(bestV > 0.5 * sum)) return -1;
  return best;
}
