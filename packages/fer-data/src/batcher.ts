import type * as tfc from '@tensorflow/tfjs-core';
import { checkKeys, checkNumber } from './_config.js';
import { mixSeed, mulberry32, shuffleInPlace } from './_rng.js';
import { augment, validateAugment, type AugmentSpec } from './augment.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { NO_LABEL } from './labels.js';
import type { Normalizer } from './normalize.js';

/** One batch: NHWC float images (C = 1), labels and the row indices they came from. */
export interface Batch {
  /** size*48*48 floats, normalized, augmented. */
  x: Float32Array;
  y: Uint8Array;
  size: number;
  indices: Uint32Array;
  /** size*numClasses vote distributions when the data set has softLabels (FER+). */
  soft?: Float32Array;
  /**
   * size*48*48 floats: the augmented images on the 0-255 scale, before normalization (what `x` was
   * made from: `normalizer.apply(raw, size)` equals `x`). Only with `keepRaw: true`; e.g. to compute
   * HOG features of the exact image the network sees.
   */
  raw?: Float32Array;
}

/** Options of {@link createBatcher}. */
export interface BatcherOptions {
  dataset: FerDataset;
  /** Rows to draw from (e.g. splitIndices(ds, 'Training')). */
  indices: ArrayLike<number>;
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Applied per batch on the fly, on the 0-255 scale, before the normalizer. */
  augment?: readonly AugmentSpec[];
  normalizer: Normalizer;
  /** Sample rows with replacement, each class equally likely (epoch length stays indices.length). */
  classBalanced?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /**
   * Also give each batch `raw`: a copy of the augmented images on the 0-255 scale, taken just before
   * normalization (default false; costs one more size*48*48 Float32Array per batch).
   */
  keepRaw?: boolean;
}

/** A per-epoch batch source. */
export interface Batcher {
  readonly stepsPerEpoch: number;
  /** The batches of epoch `e`: deterministic for (seed, e), whatever was read before. */
  epoch(e: number): Iterable<Batch>;
}

/**
 * Shuffled, augmented, normalized batches, deterministic for (seed, epoch).
 * @example
 * const b = createBatcher({ dataset: ds, indices: splitIndices(ds, 'Training'), batchSize: 64, seed: 1,
 *   augment: [{ name: 'hflip' }], normalizer: fitNormalizer(ds, splitIndices(ds, 'Training'), { kind: 'mean-image' }) });
 * for (const batch of b.epoch(0)) train(batch.x, batch.y, batch.size);
 * // keepRaw: true also gives batch.raw, the augmented 0-255 images before normalization:
 * // hogBatch(batch.raw, { count: batch.size, width: 48, height: 48, ...PAPER_HOG_OPTIONS })
 */
export function createBatcher(opts: BatcherOptions): Batcher {
  checkKeys('createBatcher', opts, ['dataset', 'indices', 'batchSize', 'seed', 'shuffle', 'augment', 'normalizer', 'classBalanced', 'dropLast', 'keepRaw']);
  const ds = opts.dataset;
  if (!ds || !(ds.pixels instanceof Uint8Array)) throw new FerDataError('E_BAD_OPTION', 'createBatcher: dataset is missing, expected a FerDataset (from loadDataset or makeSyntheticFer).');
  const batchSize = checkNumber('createBatcher', 'batchSize', opts.batchSize, 1, 1 << 20, true);
  const seed = checkNumber('createBatcher', 'seed', opts.seed, 0, 2 ** 32 - 1, true);
  if (!opts.normalizer || typeof opts.normalizer.applyInPlace !== 'function') {
    throw new FerDataError('E_BAD_OPTION', 'createBatcher: normalizer is missing, expected one from fitNormalizer() or normalizerFromJSON().');
  }
  const specs = validateAugment(opts.augment ?? []);
  const px = ds.width * ds.height;
  const k = ds.classNames.length;
  const rows = Uint32Array.from(opts.indices as ArrayLike<number>);
  if (rows.length === 0) throw new FerDataError('E_BAD_INDEX', 'createBatcher: got 0 indices, expected the rows to batch (e.g. splitIndices(ds, "Training")).');
  for (let j = 0; j < rows.length; j++) {
    if (rows[j] >= ds.count || rows[j] !== (opts.indices as ArrayLike<number>)[j]) {
      throw new FerDataError('E_BAD_INDEX', `createBatcher: indices[${j}] is ${(opts.indices as ArrayLike<number>)[j]}, expected a row index in [0, ${ds.count - 1}].`);
    }
  }
  const n = rows.length;
  const dropLast = opts.dropLast ?? false;
  const shuffle = opts.shuffle ?? true;
  const keepRaw = opts.keepRaw ?? false;
  const stepsPerEpoch = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  if (stepsPerEpoch === 0) throw new FerDataError('E_BAD_OPTION', `createBatcher: ${n} rows with batchSize ${batchSize} and dropLast give 0 batches; lower batchSize or set dropLast: false.`);
  let byClass: Uint32Array[] | null = null;
  if (opts.classBalanced) {
    const lists: number[][] = Array.from({ length: k }, () => []);
    for (const i of rows) if (ds.labels[i] !== NO_LABEL && ds.labels[i] < k) lists[ds.labels[i]].push(i);
    byClass = lists.filter((l) => l.length > 0).map((l) => Uint32Array.from(l));
    if (byClass.length === 0) throw new FerDataError('E_BAD_OPTION', 'createBatcher: classBalanced needs labelled rows, got none.');
  }

  function order(e: number): Uint32Array {
    const r = mulberry32(mixSeed(seed, e, 0x5eed));
    if (byClass) {
      const out = new Uint32Array(n);
      for (let j = 0; j < n; j++) {
        const c = byClass[Math.floor(r() * byClass.length)];
        out[j] = c[Math.floor(r() * c.length)];
      }
      return out;
    }
    const out = rows.slice();
    if (shuffle) shuffleInPlace(out, r);
    return out;
  }

  return {
    stepsPerEpoch,
    *epoch(e: number): Iterable<Batch> {
      checkNumber('batcher.epoch', 'e', e, 0, 2 ** 32 - 1, true);
      const ord = order(e);
      for (let step = 0; step < stepsPerEpoch; step++) {
        const start = step * batchSize;
        const size = Math.min(batchSize, n - start);
        const indices = ord.slice(start, start + size);
        const x = new Float32Array(size * px);
        const y = new Uint8Array(size);
        const soft = ds.softLabels ? new Float32Array(size * k) : undefined;
        for (let j = 0; j < size; j++) {
          const i = indices[j];
          const src = i * px, dst = j * px;
          for (let p = 0; p < px; p++) x[dst + p] = ds.pixels[src + p];
          y[j] = ds.labels[i];
          if (soft && ds.softLabels) soft.set(ds.softLabels.subarray(i * k, i * k + k), j * k);
        }
        if (specs.length) augment(x, size, specs, { seed: mixSeed(seed, e, step, 0xa06), width: ds.width, height: ds.height });
        const raw = keepRaw ? x.slice() : undefined;
        opts.normalizer.applyInPlace(x, size);
        const batch: Batch = { x, y, size, indices };
        if (soft) batch.soft = soft;
        if (raw) batch.raw = raw;
        yield batch;
      }
    },
  };
}

/**
 * Balanced class weights n / (numClasses * count_c) (as scikit-learn's 'balanced'); 0 for absent classes.
 * Labels >= numClasses (255 = no label) are ignored.
 * @example
 * classWeights(ds.labels) // Float32Array(7), Disgust gets the largest weight on FER2013
 */
export function classWeights(labels: Uint8Array, numClasses = 7): Float32Array {
  checkNumber('classWeights', 'numClasses', numClasses, 1, 255, true);
  const counts = new Float64Array(numClasses);
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] < numClasses) { counts[labels[i]]++; n++; }
  const out = new Float32Array(numClasses);
  for (let c = 0; c < numClasses; c++) out[c] = counts[c] > 0 ? n / (numClasses * counts[c]) : 0;
  return out;
}

/**
 * Turns a batch into tfjs tensors: x [size, h, w, 1] float32 and y one-hot [size, numClasses]
 * (rows without a label are all-zero). The caller owns (and disposes) both. Pass your tf namespace:
 * @fer/data itself never imports tfjs.
 * @example
 * import * as tf from '@tensorflow/tfjs';
 * const { x, y } = batchToTensors(tf, batch); // ... x.dispose(); y.dispose();
 */
export function batchToTensors(
  tf: Pick<typeof tfc, 'tensor4d' | 'tensor2d'>, batch: Batch, opts: { numClasses?: number; width?: number; height?: number } = {},
): { x: tfc.Tensor4D; y: tfc.Tensor2D } {
  checkKeys('batchToTensors', opts, ['numClasses', 'width', 'height']);
  const k = opts.numClasses ?? 7, w = opts.width ?? 48, h = opts.height ?? 48;
  if (batch.x.length !== batch.size * w * h) {
    throw new FerDataError('E_BAD_PIXELS', `batchToTensors: batch.x has ${batch.x.length} values for size ${batch.size}, expected ${batch.size * w * h} (${h}x${w}x1 each).`);
  }
  const oneHot = new Float32Array(batch.size * k);
  for (let j = 0; j < batch.size; j++) if (batch.y[j] < k) oneHot[j * k + batch.y[j]] = 1;
  const x = tf.tensor4d(batch.x, [batch.size, h, w, 1], 'float32');
  const y = tf.tensor2d(oneHot, [batch.size, k], 'float32');
  return { x, y };
}
