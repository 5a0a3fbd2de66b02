// Rows, normalization and HOG features for the jobs; shared across jobs with the same settings.
import { hogBatch } from '@fer/hog';
import type { Deps, FerDatasetLike } from './deps.js';
import { mulberry32, shuffleInPlace } from './rng.js';
import type { TrainSpec } from './spec.js';
import type { PreparedSplit } from './trainer.js';

const PX = 48 * 48;
/** Fixed seed for the row subsets, so every job (and seed) sees the same train/eval rows. */
const SUBSET_SEED = 20170421;

export interface RowSets { train: Uint32Array; val: Uint32Array; test: Uint32Array }

/** At most `limit` rows, stratified by class (seeded); `0` = all rows. Keeps the data set's order. */
export function stratifiedSubset(labels: Uint8Array, rows: Uint32Array, limit: number, seed = SUBSET_SEED): Uint32Array {
  if (limit <= 0 || limit >= rows.length) return rows;
  const byClass = new Map<number, number[]>();
  for (const r of rows) { const l = labels[r]; if (!byClass.has(l)) byClass.set(l, []); byClass.get(l)!.push(r); }
  const rand = mulberry32(seed);
  const out: number[] = [];
  for (const [, list] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    const take = Math.max(1, Math.round((list.length / rows.length) * limit));
    const arr = shuffleInPlace(Uint32Array.from(list), rand);
    out.push(...arr.subarray(0, Math.min(take, arr.length)));
  }
  return Uint32Array.from(out.sort((a, b) => a - b).slice(0, Math.max(limit, 7)));
}

export function rowSets(ds: FerDatasetLike, deps: Deps, train: TrainSpec): RowSets {
  return {
    train: stratifiedSubset(ds.labels, deps.splitIndices(ds, 'Training'), train.trainLimit),
    val: stratifiedSubset(ds.labels, deps.splitIndices(ds, 'PublicTest'), train.evalLimit),
    test: stratifiedSubset(ds.labels, deps.splitIndices(ds, 'PrivateTest'), train.evalLimit),
  };
}

export interface Normalizer { kind: string; apply(pixels: Uint8Array, count: number): Float32Array; toJSON(): unknown }

/** Normalization fitted on training rows only (mean image + global std, global, or per image). */
export function fitNormalizer(ds: FerDatasetLike, rows: Uint32Array, kind: TrainSpec['normalize']): Normalizer {
  const mean = new Float64Array(PX);
  let gsum = 0;
  for (const r of rows) for (let p = 0; p < PX; p++) { const v = ds.pixels[r * PX + p]; mean[p] += v; gsum += v; }
  for (let p = 0; p < PX; p++) mean[p] /= rows.length;
  const gmean = gsum / (rows.length * PX);
  let sq = 0;
  for (const r of rows) for (let p = 0; p < PX; p++) { const d = ds.pixels[r * PX + p] - (kind === 'mean-image' ? mean[p] : gmean); sq += d * d; }
  const std = Math.sqrt(sq / (rows.length * PX)) || 1;
  return {
    kind,
    apply(pixels, count) {
      const out = new Float32Array(count * PX);
      for (let i = 0; i < count; i++) {
        if (kind === 'per-image') {
          let s = 0, s2 = 0;
          for (let p = 0; p < PX; p++) { const v = pixels[i * PX + p]; s += v; s2 += v * v; }
          const m = s / PX, sd = Math.sqrt(Math.max(s2 / PX - m * m, 1e-6));
          for (let p = 0; p < PX; p++) out[i * PX + p] = (pixels[i * PX + p] - m) / sd;
        } else {
          for (let p = 0; p < PX; p++) out[i * PX + p] = (pixels[i * PX + p] - (kind === 'mean-image' ? mean[p] : gmean)) / std;
        }
      }
      return out;
    },
    toJSON: () => ({ kind, std, mean: kind === 'mean-image' ? 'per-pixel (not stored)' : gmean }),
  };
}

export function gather(ds: FerDatasetLike, rows: Uint32Array): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(rows.length * PX);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, j) => { pixels.set(ds.pixels.subarray(r * PX, (r + 1) * PX), j * PX); labels[j] = ds.labels[r]; });
  return { pixels, labels };
}

export function flipPixels(pixels: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < count; i++) for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) out[i * PX + y * 48 + x] = pixels[i * PX + y * 48 + 47 - x];
  return out;
}

export interface PreparedData { rows: RowSets; train: PreparedSplit; val: PreparedSplit; test: PreparedSplit; normalizer: Normalizer; rawTest: Uint8Array; rawVal: Uint8Array }

/**
 * Normalized splits, with HOG features (and HOG of flipped training faces) when `hog` options are given.
 * Cached by the caller on (rows, normalize, hog options).
 */
export function prepareData(ds: FerDatasetLike, rows: RowSets, train: TrainSpec, hog: Record<string, unknown> | undefined): PreparedData {
  const normalizer = fitNormalizer(ds, rows.train, train.normalize);
  const hogOpts = hog ? { ...hog, pixelsPerCell: hog.pixelsPerCell as [number, number], cellsPerBlock: hog.cellsPerBlock as [number, number] } : undefined;
  const one = (r: Uint32Array, flipped: boolean): PreparedSplit & { raw: Uint8Array } => {
    const g = gather(ds, r);
    const n = r.length;
    const hogOf = (px: Uint8Array) => hogBatch(px, { count: n, width: 48, height: 48, ...(hogOpts as object) });
    const h = hogOpts ? hogOf(g.pixels) : undefined;
    return {
      count: n, x: normalizer.apply(g.pixels, n), y: g.labels, raw: g.pixels,
      hog: h, hogFlipped: hogOpts && flipped ? hogOf(flipPixels(g.pixels, n)) : undefined,
      hogLength: h ? h.length / Math.max(n, 1) : 0,
    };
  };
  const t = one(rows.train, /hflip/.test(train.augment));
  const v = one(rows.val, false);
  const te = one(rows.test, false);
  return { rows, train: t, val: v, test: te, normalizer, rawTest: te.raw, rawVal: v.raw };
}
