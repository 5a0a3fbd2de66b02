// Byte-level streaming parser for the Kaggle FER2013 CSV shapes (fer2013.csv, icml_face_data.csv,
// train.csv, test.csv). It writes pixels straight into one growing Uint8Array: no strings per row,
// no split(' '), no per-row JS arrays.
import { FerDataError, type FerDataErrorCode } from './errors.js';
import { IMAGE_PIXELS, NO_LABEL, SPLITS } from './labels.js';

/** What a skipped bad row looked like (passed to `onSkip`). */
export interface BadRow {
  /** File (or image) the problem is in. */
  file: string;
  /** 1-based line number (header = line 1); 0 for images. */
  line: number;
  /** Column / field name, e.g. 'pixels'. */
  field: string;
  code: FerDataErrorCode;
  message: string;
}

export interface CsvParseOptions {
  file: string;
  onBadRow: 'throw' | 'skip';
  onSkip?: (bad: BadRow) => void;
  /** Expected uncompressed size in bytes (for sizing the pixel buffer), 0 when unknown. */
  sizeHint: number;
  numClasses: number;
  /** The header must have an `emotion` column (the train side of train.csv/test.csv). */
  requireEmotion?: boolean;
}

export interface CsvParseResult {
  count: number;
  pixels: Uint8Array;
  labels: Uint8Array; // NO_LABEL when the file has no emotion column
  splits: Uint8Array;
  hasUsage: boolean;
  hasEmotion: boolean;
  skipped: number;
  header: string[];
}

const PIX = IMAGE_PIXELS;
const MAX_HEADER = 1 << 16;
const SPLIT_BYTES = SPLITS.map((s) => Buffer.from(s.toLowerCase(), 'latin1'));

export class _CsvPixelParser {
  private o: CsvParseOptions;
  private headerBytes: number[] = [];
  private headerDone = false;
  private header: string[] = [];
  private ncols = 0;
  private colEmotion = -1;
  private colPixels = -1;
  private colUsage = -1;

  private out: Uint8Array = new Uint8Array(0);
  private cap = 0; // rows
  private labels = new Uint8Array(0);
  private splits = new Uint8Array(0);
  private count = 0;
  private skipped = 0;
  private consumed = 0; // bytes pushed
  private rowStartConsumed = 0;
  private consumedNow = 0;

  // row state
  private line = 1;
  private col = 0;
  private rowHasData = false;
  private inQuote = false;
  private pix = 0;
  private val = 0;
  private digits = 0;
  private label = 0;
  private labelDigits = 0;
  private labelEnded = false; // a space after the label's digits
  private usage = new Uint8Array(24);
  private usageLen = 0;
  private bad: BadRow | null = null;

  constructor(o: CsvParseOptions) {
    this.o = o;
  }

  /** Names the source in messages (e.g. "data.tar.gz:fer2013/fer2013.csv"); call before the first push. */
  rename(file: string): void {
    this.o = { ...this.o, file };
  }

  /** Rows accepted so far. */
  get rows(): number {
    return this.count;
  }

  push(buf: Uint8Array): void {
    let i = 0;
    const n = buf.length;
    if (!this.headerDone) {
      while (i < n && !this.headerDone) {
        const c = buf[i++];
        if (c === 10) this.finishHeader();
        else {
          this.headerBytes.push(c);
          if (this.headerBytes.length === 262) this.checkNotTar();
          if (this.headerBytes.length > MAX_HEADER) {
            throw new FerDataError('E_BAD_HEADER', `${this.o.file} line 1: no line end in the first ${MAX_HEADER} bytes, expected a CSV header such as "emotion,pixels,Usage". Is this a CSV file?`);
          }
        }
      }
      this.consumed += i;
      if (!this.headerDone) return;
      this.rowStartConsumed = this.consumed;
      this.consumedNow = this.consumed;
      this.ensureRow();
    }
    const start = i;
    const colP = this.colPixels, colE = this.colEmotion, colU = this.colUsage;
    let out = this.out;
    let base = this.count * PIX;
    let col = this.col, pix = this.pix, val = this.val, digits = this.digits, inQuote = this.inQuote;
    let rowHasData = this.rowHasData;
    while (i < n) {
      if (this.bad !== null) {
        // skipping the rest of a bad row
        while (i < n && buf[i] !== 10) i++;
        if (i >= n) break;
      }
      let c = buf[i];
      if (col === colP && this.bad === null) {
        // NOTE: the hot loop: ~8000 bytes per row, 2304 numbers.
        while (i < n) {
          if (digits === 0 && pix < PIX && i + 4 < n) {
            FAST.i = i;
            FAST.pix = pix;
            _scanPixels(buf, n, out, base, FAST);
            i = FAST.i;
            pix = FAST.pix;
            if (i >= n) break;
          }
          c = buf[i];
          if (c <= 57 && c >= 48) {
            val = val * 10 + (c - 48);
            digits++;
            i++;
            continue;
          }
          if (c === 32 || c === 9 || c === 13 || c === 34) {
            if (digits !== 0) {
              if (val > 255) { this.pix = pix; this.fail('pixels', 'E_BAD_PIXELS', `value #${pix + 1} is ${val}, expected an integer 0-255`); break; }
              if (pix < PIX) out[base + pix] = val;
              pix++;
              val = 0;
              digits = 0;
            }
            if (c === 34) inQuote = !inQuote;
            rowHasData = true;
            i++;
            continue;
          }
          if (c === 10 || (c === 44 && !inQuote)) {
            if (digits !== 0) {
              if (val > 255) { this.pix = pix; this.fail('pixels', 'E_BAD_PIXELS', `value #${pix + 1} is ${val}, expected an integer 0-255`); break; }
              if (pix < PIX) out[base + pix] = val;
              pix++;
              val = 0;
              digits = 0;
            }
            break;
          }
          this.pix = pix;
          this.fail('pixels', 'E_BAD_PIXELS', `value #${pix + 1} contains the non-numeric character ${JSON.stringify(String.fromCharCode(c))}, expected integers 0-255 separated by spaces`);
          break;
        }
        if (this.bad !== null) continue;
        if (i >= n) break;
      }
      c = buf[i];
      if (c === 10) {
        i++;
        this.col = col; this.pix = pix; this.val = val; this.digits = digits; this.inQuote = inQuote; this.rowHasData = rowHasData;
        const bytesSoFar = this.consumed + (i - start);
        this.endRow(bytesSoFar);
        out = this.out;
        base = this.count * PIX;
        col = 0; pix = 0; val = 0; digits = 0; inQuote = false; rowHasData = false;
        continue;
      }
      if (c === 13) { i++; continue; }
      if (c === 34) { inQuote = !inQuote; rowHasData = true; i++; continue; }
      if (c === 44 && !inQuote) { col++; rowHasData = true; i++; continue; }
      rowHasData = true;
      if (col === colE) {
        if (c === 32 || c === 9) { if (this.labelDigits > 0) this.labelEnded = true; i++; continue; }
        if (c <= 57 && c >= 48) {
          if (this.labelEnded) {
            this.col = col;
            this.fail('emotion', 'E_BAD_LABEL', `got a space inside the value, expected one integer 0-${this.o.numClasses - 1}`);
            continue;
          }
          this.label = this.label * 10 + (c - 48); this.labelDigits++; i++; continue;
        }
        this.col = col;
        this.fail('emotion', 'E_BAD_LABEL', `got the non-numeric character ${JSON.stringify(String.fromCharCode(c))}, expected an integer 0-${this.o.numClasses - 1}`);
        continue;
      }
      if (col === colU) {
        if (c !== 32 && c !== 9) {
          if (this.usageLen < this.usage.length) this.usage[this.usageLen] = c;
          this.usageLen++;
        }
        i++;
        continue;
      }
      i++; // other column: ignore its bytes
    }
    this.consumed += n - start;
    this.col = col; this.pix = pix; this.val = val; this.digits = digits; this.inQuote = inQuote; this.rowHasData = rowHasData;
  }

  end(): CsvParseResult {
    if (!this.headerDone) {
      if (this.headerBytes.length === 0 || Buffer.from(this.headerBytes).toString('latin1').trim() === '') {
        throw new FerDataError('E_EMPTY_INPUT', `${this.o.file}: the file is empty, expected a CSV with a header (e.g. "emotion,pixels,Usage") and rows. Check the path and the download.`);
      }
      this.finishHeader();
      this.ensureRow();
    }
    if (this.digits !== 0 && this.bad === null) {
      // flush a number cut by the end of the file (last row without a newline)
      if (this.val > 255) this.fail('pixels', 'E_BAD_PIXELS', `value #${this.pix + 1} is ${this.val}, expected an integer 0-255`);
      else if (this.pix < PIX) this.out[this.count * PIX + this.pix] = this.val;
      this.pix++;
      this.digits = 0;
      this.val = 0;
    }
    if (this.rowHasData || this.col > 0 || this.pix > 0 || this.labelDigits > 0) this.endRow(this.consumed);
    if (this.count === 0 && this.skipped === 0) {
      throw new FerDataError('E_EMPTY_INPUT', `${this.o.file}: got a header (${this.header.join(',')}) but no data rows, expected at least one row. Check the file is complete.`);
    }
    const count = this.count;
    // NOTE: keep a small over-allocation as a view; copy when the slack is large (memory target: <= 1.5x raw pixels).
    const pixels = this.cap > count * 1.08 + 16 ? this.out.slice(0, count * PIX) : this.out.subarray(0, count * PIX);
    return {
      count, pixels, labels: this.labels.slice(0, count), splits: this.splits.slice(0, count),
      hasUsage: this.colUsage >= 0, hasEmotion: this.colEmotion >= 0, skipped: this.skipped, header: this.header,
    };
  }

  // --- Internal helpers ---

  private checkNotTar(): void {
    // POSIX tar: "ustar" at byte 257 of the first 512-byte header.
    if (Buffer.from(this.headerBytes.slice(257, 262)).toString('latin1') === 'ustar') {
      throw new FerDataError('E_UNKNOWN_FORMAT', `${this.o.file}: is a tar archive (like Kaggle's fer2013.tar.gz), expected the CSV itself. Extract it (tar xzf ${this.o.file}) and pass fer2013/fer2013.csv.`);
    }
  }

  private finishHeader(): void {
    if (this.headerBytes.length >= 262) this.checkNotTar();
    let text = Buffer.from(this.headerBytes).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this.header = text.split(',').map((h) => h.trim().replace(/^"|"$/g, '').trim());
    this.headerDone = true;
    this.headerBytes = [];
    this.ncols = this.header.length;
    const lower = this.header.map((h) => h.toLowerCase());
    this.colEmotion = lower.indexOf('emotion');
    this.colPixels = lower.indexOf('pixels');
    this.colUsage = lower.indexOf('usage');
    const got = `got header "${text.trim().slice(0, 120)}"`;
    const where = (col: string) => `${this.o.file} line 1, field "${col.slice(0, 40)}"`;
    // Every column must be a known one: a misspelled "emotion" or "Usage" would otherwise drop every label or
    // make every row Training without a word.
    if (this.colPixels < 0 && lower.includes('image name') && lower.includes('nf')) {
      throw new FerDataError(
        'E_BAD_HEADER',
        `${this.o.file} line 1: header is "${text.trim().slice(0, 120)}", expected a "pixels" column. This looks like the FER+ label file fer2013new.csv: it has no pixels; load fer2013.csv with { ferPlus: "<path to fer2013new.csv>" }.`,
      );
    }
    const unknown = this.header.filter((_, i) => !(CSV_COLUMNS as readonly string[]).includes(lower[i]));
    if (unknown.length > 0) {
      const list = unknown.map((c) => (c === '' ? '(empty name)' : JSON.stringify(c.slice(0, 40)))).join(', ');
      const hints = unknown.map((c) => _nearest(c, CSV_COLUMN_NAMES)).map((n, i) => (n ? ` ${JSON.stringify(unknown[i].slice(0, 40))}: did you mean "${n}"?` : '')).join('');
      throw new FerDataError(
        'E_BAD_HEADER',
        `${where(unknown[0])}: unknown column${unknown.length > 1 ? 's' : ''} ${list} (${got}), expected only the columns ${CSV_SHAPES}.${hints} Fix the header.`,
      );
    }
    const dup = lower.find((h, i) => lower.indexOf(h) !== i);
    if (dup !== undefined) {
      const name = CSV_COLUMN_NAMES[CSV_COLUMNS.indexOf(dup as (typeof CSV_COLUMNS)[number])];
      throw new FerDataError('E_BAD_HEADER', `${where(name)}: column "${name}" appears twice (${got}), expected each of ${CSV_SHAPES} once. Remove the duplicate column.`);
    }
    if (this.colPixels < 0) {
      throw new FerDataError(
        'E_BAD_HEADER',
        `${this.o.file} line 1: missing column "pixels" (${got}), expected ${CSV_SHAPES}. Point the loader at the FER2013 CSV.`,
      );
    }
    if (this.colEmotion < 0 && (this.colUsage >= 0 || this.o.requireEmotion)) {
      throw new FerDataError(
        'E_BAD_HEADER',
        `${this.o.file} line 1: missing column "emotion" (${got}), expected ${this.colUsage >= 0 ? '"emotion,pixels,Usage" (a file with a Usage column is labelled)' : '"emotion,pixels" (the training file of train.csv/test.csv is labelled)'}; only the unlabelled test.csv has "pixels" alone. Fix the header.`,
      );
    }
    this.line = 2;
  }

  private ensureRow(): void {
    if (this.count < this.cap) return;
    // Predict the final row count from the bytes per row so far and the expected total size.
    const rows = this.count;
    let next = Math.max(256, Math.ceil(rows * 1.25));
    if (rows >= 64 && this.o.sizeHint > 0) {
      const perRow = (this.consumedNow - this.rowStartConsumed) / (rows + this.skipped);
      const remaining = Math.max(0, this.o.sizeHint - this.consumedNow);
      const predicted = Math.ceil(rows + (remaining / perRow) * 1.03 + 32);
      next = Math.max(rows + 32, predicted);
    }
    const out = new Uint8Array(next * PIX);
    out.set(this.out.subarray(0, rows * PIX));
    const labels = new Uint8Array(next);
    labels.set(this.labels.subarray(0, rows));
    const splits = new Uint8Array(next);
    splits.set(this.splits.subarray(0, rows));
    this.out = out;
    this.labels = labels;
    this.splits = splits;
    this.cap = next;
  }

  private fail(field: string, code: FerDataErrorCode, what: string, line = this.line): void {
    const message = `${this.o.file} line ${line}, field "${field}": ${what}. Fix the row, or pass { onBadRow: 'skip' } to skip bad rows (the count skipped is returned).`;
    if (this.o.onBadRow === 'throw') throw new FerDataError(code, message);
    this.bad = { file: this.o.file, line, field, code, message };
  }

  private endRow(bytesSoFar: number): void {
    const line = this.line;
    this.line++;
    const wasBad = this.bad;
    const hadData = this.rowHasData || this.col > 0 || this.pix > 0 || this.labelDigits > 0;
    const col = this.col, pix = this.pix, label = this.label, labelDigits = this.labelDigits, usageLen = this.usageLen;
    this.col = 0; this.pix = 0; this.val = 0; this.digits = 0; this.inQuote = false; this.rowHasData = false;
    this.label = 0; this.labelDigits = 0; this.labelEnded = false; this.usageLen = 0; this.bad = null;
    this.consumedNow = bytesSoFar;
    if (wasBad) { this.skip(wasBad); return; }
    if (!hadData) return; // blank line
    if (col !== this.ncols - 1) {
      this.fail(this.header[Math.min(col, this.ncols - 1)] ?? 'row', 'E_BAD_ROW', `got ${col + 1} fields, expected ${this.ncols} (${this.header.join(',')})`, line);
      return this.takeBad();
    }
    if (pix !== PIX) {
      this.fail('pixels', 'E_BAD_PIXELS', `got ${pix} pixel values, expected ${PIX} (48x48)`, line);
      return this.takeBad();
    }
    let lab = NO_LABEL;
    if (this.colEmotion >= 0) {
      if (labelDigits === 0 || label >= this.o.numClasses) {
        this.fail('emotion', 'E_BAD_LABEL', labelDigits === 0 ? `got an empty value, expected an integer 0-${this.o.numClasses - 1}` : `got ${label}, expected an integer 0-${this.o.numClasses - 1}`, line);
        return this.takeBad();
      }
      lab = label;
    }
    let split = 0;
    if (this.colUsage >= 0) {
      split = this.matchUsage(usageLen);
      if (split < 0) {
        const got = Buffer.from(this.usage.subarray(0, Math.min(usageLen, this.usage.length))).toString('latin1');
        this.fail('Usage', 'E_BAD_USAGE', `got ${JSON.stringify(got)}, expected one of ${SPLITS.join(', ')}`, line);
        return this.takeBad();
      }
    }
    this.labels[this.count] = lab;
    this.splits[this.count] = split;
    this.count++;
    this.ensureRow();
  }

  private takeBad(): void {
    const b = this.bad;
    this.bad = null;
    if (b) this.skip(b);
  }

  private skip(b: BadRow): void {
    this.skipped++;
    this.o.onSkip?.(b);
  }

  private matchUsage(len: number): number {
    for (let s = 0; s < SPLIT_BYTES.length; s++) {
      const ref = SPLIT_BYTES[s];
      if (ref.length !== len) continue;
      let ok = true;
      for (let j = 0; j < len; j++) {
        if ((this.usage[j] | 0x20) !== ref[j]) { ok = false; break; }
      }
      if (ok) return s;
    }
    return -1;
  }
}

/** The columns of the FER2013 CSV shapes, lower case (the header is matched case-insensitively, trimmed). */
const CSV_COLUMNS = ['emotion', 'pixels', 'usage'] as const;
const CSV_COLUMN_NAMES = ['emotion', 'pixels', 'Usage'];
const CSV_SHAPES = 'emotion, pixels, Usage (fer2013.csv "emotion,pixels,Usage", icml_face_data.csv "emotion, Usage, pixels", train.csv "emotion,pixels", test.csv "pixels")';

/**
 * The expected name nearest to `got` (case-insensitive Levenshtein distance), or null when none is close
 * (more than a third of the longer name, at least 2, differs).
 */
export function _nearest(got: string, names: readonly string[]): string | null {
  const a = got.toLowerCase();
  let best: string | null = null, bestD = Infinity;
  for (const name of names) {
    const b = name.toLowerCase();
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    const d = prev[b.length];
    if (d < bestD) { bestD = d; best = name; }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(Math.max(a.length, best.length) / 3)) ? best : null;
}

const FAST = { i: 0, pix: 0 };

/**
 * Fast path over well-formed pixel text: 1-3 digit numbers <= 255 separated by single spaces.
 * Stops (without consuming) at anything else, which the byte-wise path then handles or reports.
 */
function _scanPixels(buf: Uint8Array, n: number, out: Uint8Array, base: number, st: { i: number; pix: number }): void {
  let i = st.i;
  let pix = st.pix;
  const end = n - 4;
  while (i < end && pix < PIX) {
    let c = buf[i];
    if (c > 57 || c < 48) break;
    let v = c - 48;
    let j = i + 1;
    c = buf[j];
    if (c <= 57 && c >= 48) {
      v = v * 10 + (c - 48);
      c = buf[++j];
      if (c <= 57 && c >= 48) {
        v = v * 10 + (c - 48);
        c = buf[++j];
        if (v > 255 || (c <= 57 && c >= 48)) break;
      }
    }
    if (c === 32) {
      out[base + pix] = v;
      pix++;
      i = j + 1;
      continue;
    }
    if (c === 44 || c === 10 || c === 13 || c === 34) {
      out[base + pix] = v;
      pix++;
      i = j;
    }
    break;
  }
  st.i = i;
  st.pix = pix;
}
