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
  /** HOG of the training rows and of their mirror images, computed on first use by {@link trainSource}. */
  trainHog?: { plain: Float32Array; flipped?: Float32Array };
}

function gather(ds: FerDataset, rows: Uint32Array): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(rows.length * PX);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, j) => { pixels.set(ds.pixels.subarray(r * PX, (r + 1) * PX), j * PX); labels[j] = ds.labels[r]; });
  return { pixels, labels };
}

function hogOf(pixels: Uint8Array, count: number, hog: HogOptions): Float32Array {
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
  return { rows, normalizer, hog, val: split(rows.val), test: split(rows.test), trainCount: rows.train.length };
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
 * HOG for hybrids: createBatcher yields only normalized, augmented images and the row indices (no raw
 * pixels, no per-sample augmentation record, no feature hook), and HOG must be computed on the raw
 * image the network sees. So the HOG of every training row and of its mirror image are computed once,
 * and for each sample of a batch the one matching the batch image is picked: the batch row is compared
 * with the normalized original and the normalized mirror (the batcher's hflip only moves pixels, and
 * normalizes with the same code, so one of them matches exactly; for a symmetric face both match and
 * both HOGs are the same). Hybrids therefore accept only '' or 'hflip' augmentation: with shifts,
 * rotations etc. the features would not match the image, so those throw SpecError E_BAD_SPEC.
 */
export function trainSource(ds: FerDataset, data: PreparedData, train: TrainSpec, seed: number): BatchSource {
  const augment = augmentSpecs(train.augment);
  const batcher = createBatcher({ dataset: ds, indices: data.rows.train, batchSize: train.batchSize, seed, augment, normalizer: data.normalizer });
  const hog = data.hog;
  if (!hog) {
    return { stepsPerEpoch: batcher.stepsPerEpoch, *epoch(e) { for (const b of batcher.epoch(e)) yield { x: b.x, y: b.y, size: b.size, indices: b.indices }; } };
  }
  const other = augment.filter((a) => a.name !== 'hflip').map((a) => a.name);
  if (other.length) {
    throw new SpecError('E_BAD_SPEC', `train.augment is "${train.augment}": hybrid (CNN + HOG) models take HOG features of the exact training image, which the harness can give for 'hflip' only, not for ${other.join(', ')}. Use --set train.augment=hflip for the hybrid rows.`);
  }
  const n = data.rows.train.length;
  const slot = new Map<number, number>();
  data.rows.train.forEach((r, j) => slot.set(r, j));
  if (!data.trainHog || (augment.length && !data.trainHog.flipped)) {
    const { pixels } = gather(ds, data.rows.train);
    data.trainHog = { plain: data.trainHog?.plain ?? hogOf(pixels, n, hog), flipped: augment.length ? hogOf(mirror(pixels, n), n, hog) : undefined };
  }
  const plain = data.trainHog.plain;
  const flipped = augment.length ? data.trainHog.flipped : undefined;
  const len = plain.length / Math.max(1, n);
  return {
    stepsPerEpoch: batcher.stepsPerEpoch,
    *epoch(e) {
      for (const b of batcher.epoch(e)) {
        const out = new Float32Array(b.size * len);
        for (let j = 0; j < b.size; j++) {
          const row = b.indices[j];
          const k = slot.get(row)!;
          const img = b.x.subarray(j * PX, (j + 1) * PX);
          const raw = ds.pixels.subarray(row * PX, (row + 1) * PX);
          let src = plain;
          if (flipped && !same(img, data.normalizer.apply(raw, 1))) {
            if (!same(img, data.normalizer.apply(mirror(raw, 1), 1))) {
              throw new SpecError('E_HOG_MISMATCH', `epoch ${e + 1}: batch image ${j} (row ${row}) is neither the normalized row nor its mirror, so its HOG features are unknown. Is train.augment "${train.augment}" only 'hflip'?`);
            }
            src = flipped;
          }
          out.set(src.subarray(k * len, (k + 1) * len), j * len);
        }
        yield { x: b.x, hog: out, y: b.y, size: b.size, indices: b.indices };
      }
    },
  };
}

/** Horizontal mirror of `count` 48x48 images. */
export function mirror(pixels: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * PX);
  for (let i = 0; i < count; i++) for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) out[i * PX + y * 48 + x] = pixels[i * PX + y * 48 + 47 - x];
  return out;
}

function same(a: Float32Array, b: Float32Array): boolean {
  for (let p = 0; p < a.length; p++) if (Math.abs(a[p] - b[p]) > 1e-5) return false;
  return true;
}
