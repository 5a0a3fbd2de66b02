import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { checkKeys } from './_config.js';
import { _CsvPixelParser, type BadRow } from './_csv.js';
import { _isTarHeader, _TarCsvFilter } from './_tar.js';
import { _concatDatasets, type FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { EMOTIONS, IMAGE_SIZE, SPLITS, type SplitName } from './labels.js';

export type { BadRow } from './_csv.js';

/** Options of the CSV loaders. */
export interface CsvLoadOptions {
  /** 'throw' (default): the first bad row throws a FerDataError naming file, line and field. 'skip': skip it and count it in `skipped`. */
  onBadRow?: 'throw' | 'skip';
  /** Called for each skipped row (with onBadRow: 'skip'). */
  onSkip?: (bad: BadRow) => void;
  /**
   * Split for files without a `Usage` column. Default: from the file name: `train*.csv` -> Training;
   * `test*.csv` -> PublicTest for its first 3,589 rows and PrivateTest after (the Kaggle test.csv order), else Training.
   */
  split?: SplitName;
  /** Stops reading when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Progress, about every 8 MB of text: rows parsed, bytes read (uncompressed) and the expected total. */
  onProgress?: (p: LoadProgress) => void;
}

/** Progress of a loader (CSV: bytes; image folders: images). */
export interface LoadProgress {
  rows: number;
  done: number;
  total: number;
  unit: 'bytes' | 'images';
}

const CSV_KEYS = ['onBadRow', 'onSkip', 'split', 'signal', 'onProgress'] as const;
/** Rows in each official test split (Kaggle test.csv = PublicTest then PrivateTest). */
const OFFICIAL_TEST_ROWS = 3589;

/**
 * Loads any of the Kaggle FER2013 CSV shapes, plain or gzip-compressed (detected from the magic
 * bytes), also inside a tar archive (Kaggle's original fer2013.tar.gz: its first *.csv entry), as a stream: `fer2013.csv` (`emotion,pixels,Usage`), `icml_face_data.csv` (`emotion, Usage, pixels`),
 * `train.csv` (`emotion,pixels`) and `test.csv` (`pixels`, labels are then 255).
 * @example
 * const ds = await loadFer2013Csv('/data/fer2013.csv.gz');
 * ds.count // 35887
 */
export async function loadFer2013Csv(path: string, opts: CsvLoadOptions = {}): Promise<FerDataset> {
  checkKeys('loadFer2013Csv', opts, CSV_KEYS);
  return loadCsv(path, opts, basename(path).toLowerCase().startsWith('train'));
}

/**
 * Loads the Kaggle `train.csv` (`emotion,pixels`, all Training) + `test.csv` (`pixels`, no labels:
 * PublicTest rows then PrivateTest rows) pair as one data set.
 * @example
 * const ds = await loadKaggleTrainTest('/data/train.csv', '/data/test.csv');
 */
export async function loadKaggleTrainTest(trainPath: string, testPath: string, opts: CsvLoadOptions = {}): Promise<FerDataset> {
  checkKeys('loadKaggleTrainTest', opts, CSV_KEYS);
  const { split: _ignored, ...rest } = opts;
  const train = await loadCsv(trainPath, { ...rest, split: 'Training' }, true);
  const test = await loadFer2013Csv(testPath, rest);
  return _concatDatasets([train, test], `${trainPath}+${testPath}`);
}

// --- Internal helpers ---

async function loadCsv(path: string, opts: CsvLoadOptions, requireEmotion: boolean): Promise<FerDataset> {
  const onBadRow = opts.onBadRow ?? 'throw';
  if (onBadRow !== 'throw' && onBadRow !== 'skip') {
    throw new FerDataError('E_BAD_OPTION', `loadFer2013Csv: onBadRow is ${JSON.stringify(onBadRow)}, expected 'throw' or 'skip'.`);
  }
  if (opts.split !== undefined && !SPLITS.includes(opts.split)) {
    throw new FerDataError('E_BAD_OPTION', `loadFer2013Csv: split is ${JSON.stringify(opts.split)}, expected one of ${SPLITS.join(', ')}.`);
  }
  const { gz, sizeHint, size } = await probe(path);
  // NOTE: with .gz, skipped rows are reported once the whole stream is known to be sound: a damaged stream
  // makes bad rows of its own, and those are not the file's rows.
  const held: BadRow[] = [];
  const onSkip = opts.onSkip && (gz ? (b: BadRow) => held.push(b) : opts.onSkip);
  const parser = new _CsvPixelParser({ file: path, onBadRow, ...(onSkip ? { onSkip } : {}), sizeHint, numClasses: EMOTIONS.length, requireEmotion });
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  // NOTE: a 2 MB read-ahead lets zlib inflate the next chunks on the thread pool while this thread parses.
  const gzOptions: ZlibOptions & { highWaterMark: number } = { chunkSize: 1 << 18, highWaterMark: 1 << 21 }; // passed on to the Transform
  const source = gz ? file.pipe(createGunzip(gzOptions)) : file;
  if (gz) file.on('error', (e) => source.destroy(e));
  let read = 0;
  let nextReport = 8 << 20;
  // The first 512 bytes decide: a tar archive (Kaggle's fer2013.tar.gz) or the CSV itself.
  const st: { mode: 'undecided' | 'csv' | 'tar' } = { mode: 'undecided' };
  let head: Buffer[] = [];
  let headLen = 0;
  const tar = new _TarCsvFilter(path, (b) => parser.push(b), (name) => parser.rename(`${path}:${name}`));
  const decide = () => {
    const b = Buffer.concat(head);
    head = [];
    st.mode = _isTarHeader(b) ? 'tar' : 'csv';
    (st.mode === 'tar' ? tar : parser).push(b);
  };
  const feed = (chunk: Buffer) => {
    if (st.mode === 'csv') parser.push(chunk);
    else if (st.mode === 'tar') tar.push(chunk);
    else {
      head.push(chunk);
      headLen += chunk.length;
      if (headLen >= 512) decide();
    }
  };
  // A row error in a .gz is only reported once the rest of the stream inflates cleanly (it is drained, not
  // parsed): damaged compressed data is reported as such, never as a bad row.
  let rowError: FerDataError | null = null;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      read += chunk.length;
      if (rowError) continue;
      try {
        feed(chunk);
      } catch (e) {
        if (!gz || !(e instanceof FerDataError)) throw e;
        rowError = e;
        continue;
      }
      if (opts.onProgress && read >= nextReport) {
        nextReport = read + (8 << 20);
        opts.onProgress({ rows: parser.rows, done: read, total: Math.max(sizeHint, read), unit: 'bytes' });
      }
    }
  } catch (e) {
    file.destroy();
    source.destroy();
    if (e instanceof FerDataError || e === opts.signal?.reason) throw e;
    const err = e as NodeJS.ErrnoException;
    if (gz && (err.code === 'Z_BUF_ERROR' || err.code === 'Z_DATA_ERROR' || /unexpected end|incorrect|invalid/i.test(err.message))) {
      throw await gzipError(path, size, err, rowError);
    }
    throw new FerDataError('E_FS', `${path}: cannot read the file (${err.message}). Check the path and permissions.`, { cause: e });
  }
  if (rowError) throw rowError;
  if (st.mode === 'undecided') decide();
  if (st.mode === 'tar') tar.end();
  if (st.mode === 'tar' && tar.entry === null) {
    throw new FerDataError('E_UNKNOWN_FORMAT', `${path}: is a tar archive without a .csv file, expected one holding fer2013.csv (as Kaggle's fer2013.tar.gz). Check the archive (tar tzf ${path}).`);
  }
  const r = parser.end();
  for (const b of held) opts.onSkip?.(b);
  opts.onProgress?.({ rows: r.count, done: read, total: read, unit: 'bytes' });
  const splits = r.splits;
  if (!r.hasUsage) {
    const name = basename(path).toLowerCase();
    if (opts.split !== undefined) splits.fill(SPLITS.indexOf(opts.split));
    else if (name.startsWith('test')) {
      splits.fill(1, 0, Math.min(r.count, OFFICIAL_TEST_ROWS));
      if (r.count > OFFICIAL_TEST_ROWS) splits.fill(2, OFFICIAL_TEST_ROWS);
    } else splits.fill(0);
  }
  return {
    count: r.count, width: IMAGE_SIZE, height: IMAGE_SIZE, pixels: r.pixels, labels: r.labels, splits,
    classNames: EMOTIONS, source: path, synthetic: false, skipped: r.skipped,
  };
}

/** The typed error for a gzip stream that zlib refused: truncated (it ends early) or corrupt (with the byte where). */
async function gzipError(path: string, size: number, err: NodeJS.ErrnoException, rowError: FerDataError | null): Promise<FerDataError> {
  const cause = rowError ? new AggregateError([err, rowError], err.message) : err;
  if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
    return new FerDataError(
      'E_TRUNCATED',
      `truncated gzip stream in ${path}: it ends at byte ${size} before the end of the compressed data (zlib: "${err.message}"); expected a complete .gz file; the file is damaged, re-download it (and check its sha256).`,
      { cause },
    );
  }
  const at = await locateGzipError(path);
  return new FerDataError(
    'E_CORRUPT',
    `corrupt gzip stream in ${path} at byte ${at} of ${size}; expected valid gzip (deflate) data with a matching CRC-32, zlib says "${err.message}"; the file is damaged, re-download it (and check its sha256).`,
    { cause },
  );
}

/** Compressed byte offset (to within 4 KB) where zlib first fails on `path`: inflates again in small pieces. */
async function locateGzipError(path: string): Promise<number> {
  const gunzip = createGunzip({ chunkSize: 4096 });
  const file = createReadStream(path, { highWaterMark: 4096 });
  let fed = 0;
  return new Promise((resolve) => {
    const done = () => {
      file.destroy();
      gunzip.destroy();
      resolve(Math.min(fed, gunzip.bytesWritten + 4096));
    };
    gunzip.on('error', done);
    gunzip.on('end', done);
    file.on('error', done);
    gunzip.on('data', () => {});
    file.on('data', (c) => { fed += c.length; });
    file.pipe(gunzip);
  });
}

async function probe(path: string): Promise<{ gz: boolean; sizeHint: number; size: number }> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FerDataError('E_FS', `${path}: is not a file, expected a FER2013 CSV (.csv or .csv.gz).`);
    size = st.size;
  } catch (e) {
    if (e instanceof FerDataError) throw e;
    throw new FerDataError('E_FS', `${path}: cannot read the file (${(e as Error).message}). Check the path (flag --data or FER2013_PATH).`, { cause: e });
  }
  if (size === 0) throw new FerDataError('E_EMPTY_INPUT', `${path}: the file is empty (0 bytes), expected a FER2013 CSV. Check the download.`);
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    const gz = head[0] === 0x1f && head[1] === 0x8b;
    if (!gz) return { gz, sizeHint: size, size };
    // gzip trailer: ISIZE = uncompressed size mod 2^32 (RFC 1952 §2.3.1).
    const tail = Buffer.alloc(4);
    if (size >= 22) await fh.read(tail, 0, 4, size - 4);
    const isize = tail.readUInt32LE(0);
    return { gz, sizeHint: isize > size ? isize : size * 3, size };
  } finally {
    await fh.close();
  }
}
