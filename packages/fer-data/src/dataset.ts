import { FerDataError } from './errors.js';
import { EMOTIONS, IMAGE_PIXELS, IMAGE_SIZE, NO_LABEL, SPLITS, type SplitName } from './labels.js';

/** A compact, typed FER data set: one row per image, everything in flat typed arrays. */
export interface FerDataset {
  readonly count: number;
  /** 48 */
  readonly width: number;
  /** 48 */
  readonly height: number;
  /**
   * count*height*width bytes, row-major gray, image i at i*2304. May be a view into a slightly larger buffer
   * (the CSV loader keeps <= 8% growth slack rather than copying): use `pixels.byteOffset` / `pixels.length`,
   * not `pixels.buffer` alone.
   */
  readonly pixels: Uint8Array;
  /** 0..numClasses-1; 255 = no label (e.g. Kaggle test.csv). */
  readonly labels: Uint8Array;
  /** Index into {@link SPLITS} per row. */
  readonly splits: Uint8Array;
  /** count*numClasses vote distributions (FER+), rows sum to 1. */
  readonly softLabels?: Float32Array;
  readonly classNames: readonly string[];
  /** The path it was loaded from, or 'synthetic'. */
  readonly source: string;
  readonly synthetic: boolean;
  /** Rows skipped with { onBadRow: 'skip' } (or dropped by FER+ / duplicate options: see `dropped`). */
  readonly skipped: number;
  /** Rows removed on purpose by a loader option (FER+ unknown / not-a-face, test duplicates), by reason. */
  readonly dropped?: Readonly<Record<string, number>>;
}

/** Per split counts as printed by `fer data stats`. */
export interface SplitStats {
  total: number;
  /** One count per class; rows without a label are counted in `unlabeled`. */
  perClass: number[];
  unlabeled: number;
}

/**
 * Counts rows per split and class.
 * @example
 * datasetStats(ds).Training.perClass // [3995, 436, ...]
 */
export function datasetStats(ds: FerDataset): Record<SplitName, SplitStats> {
  const k = ds.classNames.length;
  const out = {} as Record<SplitName, SplitStats>;
  for (const s of SPLITS) out[s] = { total: 0, perClass: new Array<number>(k).fill(0), unlabeled: 0 };
  for (let i = 0; i < ds.count; i++) {
    const st = out[SPLITS[ds.splits[i]]];
    st.total++;
    const l = ds.labels[i];
    if (l < k) st.perClass[l]++;
    else st.unlabeled++;
  }
  return out;
}

/**
 * A new data set holding copies of the given rows, in the given order.
 * @example
 * const train = subsetDataset(ds, splitIndices(ds, 'Training'));
 */
export function subsetDataset(ds: FerDataset, indices: ArrayLike<number>): FerDataset {
  const n = indices.length;
  const px = ds.width * ds.height;
  const k = ds.classNames.length;
  const pixels = new Uint8Array(n * px);
  const labels = new Uint8Array(n);
  const splits = new Uint8Array(n);
  const soft = ds.softLabels ? new Float32Array(n * k) : undefined;
  for (let j = 0; j < n; j++) {
    const i = indices[j];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new FerDataError('E_BAD_INDEX', `subsetDataset: indices[${j}] is ${i}, expected an integer row index in [0, ${ds.count - 1}].`);
    }
    pixels.set(ds.pixels.subarray(i * px, (i + 1) * px), j * px);
    labels[j] = ds.labels[i];
    splits[j] = ds.splits[i];
    if (soft && ds.softLabels) soft.set(ds.softLabels.subarray(i * k, (i + 1) * k), j * k);
  }
  return {
    count: n, width: ds.width, height: ds.height, pixels, labels, splits,
    ...(soft ? { softLabels: soft } : {}),
    classNames: ds.classNames, source: ds.source, synthetic: ds.synthetic, skipped: ds.skipped,
    ...(ds.dropped ? { dropped: ds.dropped } : {}),
  };
}

/**
 * Builds a FerDataset from plain arrays (validating sizes and labels).
 * @example
 * const ds = createDataset({ pixels, labels, splits, source: 'my-faces' });
 */
export function createDataset(args: {
  pixels: Uint8Array; labels: Uint8Array; splits?: Uint8Array; softLabels?: Float32Array;
  classNames?: readonly string[]; source?: string; synthetic?: boolean; skipped?: number;
}): FerDataset {
  const classNames = args.classNames ?? EMOTIONS;
  const count = args.labels.length;
  if (args.pixels.length !== count * IMAGE_PIXELS) {
    throw new FerDataError('E_BAD_PIXELS', `createDataset: pixels has ${args.pixels.length} bytes for ${count} labels, expected ${count * IMAGE_PIXELS} (${IMAGE_SIZE}x${IMAGE_SIZE} per image).`);
  }
  for (let i = 0; i < count; i++) {
    const l = args.labels[i];
    if (l >= classNames.length && l !== NO_LABEL) {
      throw new FerDataError('E_BAD_LABEL', `createDataset: labels[${i}] is ${l}, expected 0-${classNames.length - 1} or ${NO_LABEL} (no label).`);
    }
  }
  const splits = args.splits ?? new Uint8Array(count);
  if (splits.length !== count) throw new FerDataError('E_BAD_USAGE', `createDataset: splits has ${splits.length} entries, expected ${count} (one per label).`);
  for (let i = 0; i < count; i++) {
    if (splits[i] >= SPLITS.length) throw new FerDataError('E_BAD_USAGE', `createDataset: splits[${i}] is ${splits[i]}, expected an index into ${SPLITS.join(', ')} (0-2).`);
  }
  if (args.softLabels && args.softLabels.length !== count * classNames.length) {
    throw new FerDataError('E_BAD_OPTION', `createDataset: softLabels has ${args.softLabels.length} values, expected ${count * classNames.length} (count x classes).`);
  }
  return {
    count, width: IMAGE_SIZE, height: IMAGE_SIZE, pixels: args.pixels, labels: args.labels, splits,
    ...(args.softLabels ? { softLabels: args.softLabels } : {}),
    classNames, source: args.source ?? 'memory', synthetic: args.synthetic ?? false, skipped: args.skipped ?? 0,
  };
}

// --- Internal helpers ---

/** Concatenates data sets with the same class names (internal: train.csv + test.csv). */
export function _concatDatasets(parts: FerDataset[], source: string): FerDataset {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const pixels = new Uint8Array(count * IMAGE_PIXELS);
  const labels = new Uint8Array(count);
  const splits = new Uint8Array(count);
  let o = 0;
  let skipped = 0;
  for (const p of parts) {
    pixels.set(p.pixels, o * IMAGE_PIXELS);
    labels.set(p.labels, o);
    splits.set(p.splits, o);
    o += p.count;
    skipped += p.skipped;
  }
  return { count, width: IMAGE_SIZE, height: IMAGE_SIZE, pixels, labels, splits, classNames: parts[0].classNames, source, synthetic: false, skipped };
}
