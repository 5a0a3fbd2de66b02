import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkKeys } from './_config.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { loadFer2013Csv, loadKaggleTrainTest, type BadRow, type LoadProgress } from './fer2013.js';
import { loadFerPlus, type FerPlusOptions } from './ferplus.js';
import { loadImageFolder } from './image-folder.js';
import type { SplitName } from './labels.js';
import { dropTestDuplicates } from './splits.js';

/** Formats {@link loadDataset} understands. */
export type DatasetFormat = 'auto' | 'csv' | 'kaggle-train-test' | 'image-folder';

/** Options of {@link loadDataset}. */
export interface LoadOptions {
  /** Default 'auto': a .csv/.csv.gz file is read by its header; a folder holding fer2013.csv(.gz),
   * icml_face_data.csv or train.csv + test.csv loads those; any other folder is an image folder. */
  format?: DatasetFormat;
  /** 'throw' (default) or 'skip' bad rows / unreadable images (the count is returned in `skipped`). */
  onBadRow?: 'throw' | 'skip';
  onSkip?: (bad: BadRow) => void;
  /** Split for CSVs without a Usage column (see loadFer2013Csv). */
  split?: SplitName;
  /** Path to FER+ `fer2013new.csv`: join its labels and vote distributions by row. */
  ferPlus?: string;
  /** FER+ options (with `ferPlus`). */
  ferPlusOptions?: FerPlusOptions;
  /** Drop PublicTest/PrivateTest rows whose image also appears in Training (count in `dropped.testDuplicates`). */
  dropTestDuplicates?: boolean;
  signal?: AbortSignal;
  /** Loading progress (CSV: bytes; image folders: images). */
  onProgress?: (p: LoadProgress) => void;
}

const LOAD_KEYS = ['format', 'onBadRow', 'onSkip', 'split', 'ferPlus', 'ferPlusOptions', 'dropTestDuplicates', 'signal', 'onProgress'] as const;

/**
 * Loads FER2013 in any common shape (auto-detected): Kaggle fer2013.csv (plain or .gz), icml_face_data.csv,
 * the train.csv/test.csv pair, an image folder <root>/<split>/<class>/*.png|jpg, optionally joined with FER+.
 * @example
 * const ds = await loadDataset(process.env.FER2013_PATH ?? 'fer2013.csv.gz');
 * const plus = await loadDataset('fer2013.csv.gz', { ferPlus: 'fer2013new.csv' });
 */
export async function loadDataset(path: string, opts: LoadOptions = {}): Promise<FerDataset> {
  checkKeys('loadDataset', opts, LOAD_KEYS);
  if (typeof path !== 'string' || path === '') throw new FerDataError('E_FS', `loadDataset: path is ${JSON.stringify(path)}, expected a file or folder path (flag --data or FER2013_PATH).`);
  const format = opts.format ?? 'auto';
  if (!['auto', 'csv', 'kaggle-train-test', 'image-folder'].includes(format)) {
    throw new FerDataError('E_BAD_OPTION', `loadDataset: format is ${JSON.stringify(format)}, expected 'auto', 'csv', 'kaggle-train-test' or 'image-folder'.`);
  }
  if (opts.ferPlusOptions && !opts.ferPlus) throw new FerDataError('E_BAD_OPTION', 'loadDataset: ferPlusOptions given without ferPlus, expected { ferPlus: "<path to fer2013new.csv>", ferPlusOptions }.');
  const csvOpts = {
    ...(opts.onBadRow ? { onBadRow: opts.onBadRow } : {}),
    ...(opts.onSkip ? { onSkip: opts.onSkip } : {}),
    ...(opts.split ? { split: opts.split } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new FerDataError('E_FS', `loadDataset: cannot read ${path} (${(e as Error).message}). Expected a FER2013 CSV (.csv/.csv.gz) or a folder; check the path (--data or FER2013_PATH).`, { cause: e });
  }
  let ds: FerDataset;
  if (st.isDirectory()) {
    const names = await readdir(path);
    const has = (n: string) => names.includes(n);
    const csv = ['fer2013.csv.gz', 'fer2013.csv', 'fer2013.tar.gz', 'fer2013.tar', 'icml_face_data.csv.gz', 'icml_face_data.csv'].find(has);
    if ((format === 'auto' || format === 'kaggle-train-test') && has('train.csv') && has('test.csv') && !(format === 'auto' && csv)) {
      ds = await loadKaggleTrainTest(join(path, 'train.csv'), join(path, 'test.csv'), csvOpts);
    } else if ((format === 'auto' || format === 'csv') && csv) {
      ds = await loadFer2013Csv(join(path, csv), csvOpts);
    } else if (format === 'auto' || format === 'image-folder') {
      ds = await loadImageFolder(path, {
        ...(opts.onBadRow ? { onBadImage: opts.onBadRow } : {}),
        ...(opts.onSkip ? { onSkip: opts.onSkip } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
    } else {
      throw new FerDataError('E_UNKNOWN_FORMAT', `loadDataset: ${path} is a folder without ${format === 'csv' ? 'fer2013.csv(.gz) or icml_face_data.csv' : 'train.csv and test.csv'}. Expected format '${format}'; use format 'auto' or point at the file.`);
    }
  } else {
    if (format === 'image-folder' || format === 'kaggle-train-test') {
      throw new FerDataError('E_UNKNOWN_FORMAT', `loadDataset: ${path} is a file, format '${format}' expects a folder. Use format 'auto' or 'csv'.`);
    }
    ds = await loadFer2013Csv(path, csvOpts);
  }
  if (opts.ferPlus) ds = await loadFerPlus(ds, opts.ferPlus, opts.ferPlusOptions ?? {});
  if (opts.dropTestDuplicates) ds = dropTestDuplicates(ds);
  return ds;
}
