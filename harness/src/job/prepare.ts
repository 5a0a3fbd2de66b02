// Rows, normalization, batches and HOG features for the jobs, all from @fer/data and @fer/hog.
// Row sets and the eval splits are shared across jobs with the same settings (cached by run.ts).
import {
  createBatcher, fitNormalizer, splitIndices, stratifiedHoldout, validateAugment,
  type AugmentSpec, type FerDataset, type Normalizer,
} from '@fer/data';
import { hogBatch, type HogOptions } from '@fer/hog';
import type { TrainSource, TrainStepBatch } from '@fer/models';
import { SpecError, type TrainSpec } from './spec.js';

const PX = 48 * 48;
/** Fixed seed for the row subsets, so every job (and seed) sees the same train/eval rows. */
const SUBSET_SEED = 20170421;

export interface RowSets { train: Uint32Array; val: Uint32Array; test: Uint32Array }

/**
 * About `limit` rows, stratified by class (@fer/data `stratifiedHoldout`, seeded), sorted; `0` = all rows.
 * @example
 * stratifiedSubset(ds.labels, splitIndices(ds, 'Training'), 480) // ~480 rows, class proportions kept
 */
export function stratifiedSubset(labels: Uint8Array, rows: Uint32Array, limit: number, seed = SUBSET_SEED): Uint32Array {
  if (limit <= 0 || limit >= rows.length) return rows;
  return stratifiedHoldout(labels, rows, { fraction: limit / rows.length, seed }).holdout;
}

export function rowSets(ds: FerDataset, train: TrainSpec): RowSets {
  return {
    train: stratifiedSubset(ds.labels, splitIndices(ds, 'Training'), train.trainLimit),
    val: stratifiedSubset(ds.labels, splitIndices(ds, 'PublicTest'), train.evalLimit),
    test: stratifiedSubset(ds.labels, splitIndices(ds, 'PrivateTest'), train.evalLimit),
  };
}

/**
 * The harness's `augment` string ('hflip', 'hflip,shift', ...) as @fer/data AugmentSpecs, each with the
 * package's defaults (hflip p 0.5; shift up to 4 px). Unknown names throw SpecError E_BAD_SPEC.
 * @example
 * augmentSpecs('hflip,shift') // [{ name: 'hflip' }, { name: 'shift' }]
 */
export function augmentSpecs(augment: string): AugmentSpec[] {
  const specs = augment.split(',').map((s) => s.trim()).filter(Boolean).map((name) => ({ name }) as AugmentSpec);
  try {
    validateAugment(specs);
  } catch (e) {
    throw new SpecError('E_BAD_SPEC', `train.augment is "${augment}": ${(e as Error).message}`);
  }
  return specs;
}

/** A split ready for the network: normalized pixels, the raw ones, labels and HOG rows if needed. */
export interface PreparedSplit {
  count: number;
  /** count*48*48, normalized with the training rows' normalizer. */
  x: Float32Array;
  /** count*48*48 raw gray bytes (for pictures and @fer/models `predict`). */
  raw: Uint8Array;
  y: Uint8Array;
  hog?: Float32Array;
}

export interface PreparedData {
  rows: RowSets;
  normalizer: Normalizer;
  /** HOG options of a hybrid model (@fer/hog), undefined for image-only models. */
  hog?: HogOptions;
  val: PreparedSplit;
  test: PreparedSplit;
  trainCount: number;
  /** Labels of the training rows (for class weights). */
  trainLabels: Uint8Array;
}

/** Raw pixels and labels of data set rows `rows`. */
export function gather(ds: FerDataset, rows: ArrayLike<number>): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(rows.length * PX);
  const labels = new Uint8Array(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    pixels.set(ds.pixels.subarray(r * PX, (r + 1) * PX), j * PX);
    labels[j] = ds.labels[r];
  }
  return { pixels, labels };
}

function hogOf(pixels: Uint8Array | Float32Array, count: number, hog: HogOptions): Float32Array {
  return hogBatch(pixels, { count, width: 48, height: 48, ...hog });
}

/**
 * The normalizer (@fer/data `fitNormalizer`, fitted on the training rows only) and the normalized
 * validation (PublicTest) and test (PrivateTest) rows, with HOG features when `hog` is given.
 */
export function prepareData(ds: FerDataset, rows: RowSets, train: TrainSpec, hog: HogOptions | undefined): PreparedData {
  const normalizer = fitNormalizer(ds, rows.train, { kind: train.normalize });
  const split = (r: Uint32Array): PreparedSplit => {
    const g = gather(ds, r);
    return { count: r.length, x: normalizer.apply(g.pixels, r.length), raw: g.pixels, y: g.labels, hog: hog ? hogOf(g.pixels, r.length, hog) : undefined };
  };
  return { rows, normalizer, hog, val: split(rows.val), test: split(rows.test), trainCount: rows.train.length, trainLabels: Uint8Array.from(rows.train, (r) => ds.labels[r]) };
}

/** A training batch, with the data set rows it holds. */
export type SourceBatch = TrainStepBatch & { indices: Uint32Array };

/** A @fer/models TrainSource whose batches also name their rows. */
export interface BatchSource extends TrainSource {
  epoch(e: number): Iterable<SourceBatch>;
}

/**
 * Training batches for @fer/models `train()`: @fer/data `createBatcher` (seeded shuffle per epoch,
 * augmentation on the 0-255 scale, then the normalizer), plus HOG features for hybrid models.
 *
 * HOG for hybrids: the batcher runs with `keepRaw`, so each batch also carries the augmented images on
 * the 0-255 scale before normalization, and the batch's HOG is @fer/hog `hogBatch` of those (with the
 * same options as the validation and test HOG): the features always describe the exact image the
 * network sees, whatever the augmentation (hflip, shift, rotation, ...). Without augmentation they equal
 * the HOG of the data set rows. Nothing random is added: the batches are those of the image-only models.
 */
export function trainSource(ds: FerDataset, data: PreparedData, train: TrainSpec, seed: number): BatchSource {
  const augment = augmentSpecs(train.augment);
  const hog = data.hog;
  const batcher = createBatcher({ dataset: ds, indices: data.rows.train, batchSize: train.batchSize, seed, augment, normalizer: data.normalizer, classBalanced: train.classBalanced, keepRaw: Boolean(hog) });
  return {
    stepsPerEpoch: batcher.stepsPerEpoch,
    *epoch(e) {
      for (const b of batcher.epoch(e)) {
        if (!hog) yield { x: b.x, y: b.y, size: b.size, indices: b.indices };
        else yield { x: b.x, hog: hogOf(b.raw!, b.size, hog), y: b.y, size: b.size, indices: b.indices };
      }
    },
  };
}
