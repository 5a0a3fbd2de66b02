import { checkKeys } from './_config.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';

/** Normalization kinds. */
export type NormalizerKind = 'mean-image' | 'global' | 'per-image' | 'unit';

/** Serializable form of a Normalizer (store it next to a model). */
export interface NormalizerJSON {
  kind: NormalizerKind;
  width: number;
  height: number;
  /** global: training mean; mean-image: divisor is `std`. */
  mean?: number;
  std?: number;
  /** mean-image: per-pixel training mean (width*height numbers). */
  meanImage?: number[];
}

/** Maps raw 0-255 pixels to the network's input scale. */
export interface Normalizer {
  readonly kind: NormalizerKind;
  /** Normalizes `count` images (Uint8Array 0-255, or Float32Array on the 0-255 scale) into a new Float32Array. */
  apply(pixels: Uint8Array | Float32Array, count: number): Float32Array;
  /** Normalizes `count` images on the 0-255 scale in place (used after augmentation). */
  applyInPlace(x: Float32Array, count: number): Float32Array;
  toJSON(): NormalizerJSON;
}

/**
 * Fits a normalizer on the given (training) rows only:
 * - `mean-image` (the paper's): subtract the per-pixel training mean image, then divide by the global training std
 *   (`{ scale: 'none' }` keeps the mean subtraction only, divisor 255);
 * - `global`: (x - mean) / std with the training mean and std over all pixels;
 * - `per-image`: each image standardized by its own mean and std (as tf.image.per_image_standardization:
 *   std floored at 1/sqrt(pixels)); nothing is fitted;
 * - `unit`: x / 255.
 * @example
 * const norm = fitNormalizer(ds, splitIndices(ds, 'Training'), { kind: 'mean-image' });
 * const x = norm.apply(ds.pixels.subarray(0, 2304 * 8), 8);
 */
export function fitNormalizer(ds: FerDataset, indices: ArrayLike<number>, opts: { kind: NormalizerKind; scale?: 'std' | 'none' }): Normalizer {
  checkKeys('fitNormalizer', opts, ['kind', 'scale']);
  const px = ds.width * ds.height;
  const kind = opts.kind;
  if (kind === 'per-image' || kind === 'unit') return normalizerFromJSON({ kind, width: ds.width, height: ds.height });
  if (kind !== 'mean-image' && kind !== 'global') {
    throw new FerDataError('E_BAD_OPTION', `fitNormalizer: kind is ${JSON.stringify(kind)}, expected 'mean-image', 'global', 'per-image' or 'unit'.`);
  }
  if (opts.scale !== undefined && opts.scale !== 'std' && opts.scale !== 'none') {
    throw new FerDataError('E_BAD_OPTION', `fitNormalizer: scale is ${JSON.stringify(opts.scale)}, expected 'std' or 'none'.`);
  }
  if (indices.length === 0) throw new FerDataError('E_BAD_INDEX', 'fitNormalizer: got 0 indices, expected the training rows to fit on (e.g. splitIndices(ds, "Training")).');
  const sum = new Float64Array(px);
  let s1 = 0, s2 = 0;
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) throw new FerDataError('E_BAD_INDEX', `fitNormalizer: indices[${j}] is ${i}, expected a row index in [0, ${ds.count - 1}].`);
    const off = i * px;
    for (let p = 0; p < px; p++) {
      const v = ds.pixels[off + p];
      sum[p] += v;
      s2 += v * v;
    }
  }
  for (let p = 0; p < px; p++) s1 += sum[p];
  const n = indices.length * px;
  const mean = s1 / n;
  const std = Math.sqrt(Math.max(s2 / n - mean * mean, 1e-12));
  if (kind === 'global') return normalizerFromJSON({ kind, width: ds.width, height: ds.height, mean, std });
  const meanImage = Array.from(sum, (v) => v / indices.length);
  return normalizerFromJSON({ kind, width: ds.width, height: ds.height, std: opts.scale === 'none' ? 255 : std, meanImage });
}

/**
 * Rebuilds a Normalizer from `toJSON()` output (validated).
 * @example
 * const norm = normalizerFromJSON(JSON.parse(readFileSync('normalizer.json', 'utf8')));
 */
export function normalizerFromJSON(json: NormalizerJSON): Normalizer {
  const bad = (what: string): never => {
    throw new FerDataError('E_BAD_JSON', `normalizerFromJSON: ${what}. Pass the object returned by normalizer.toJSON().`);
  };
  if (!json || typeof json !== 'object') bad(`got ${json === null ? 'null' : typeof json}, expected an object`);
  checkKeys('normalizerFromJSON', json, ['kind', 'width', 'height', 'mean', 'std', 'meanImage']);
  const { kind, width, height } = json;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) bad(`width/height are ${width}/${height}, expected positive integers`);
  const px = width * height;
  const num = (v: unknown, name: string) => (typeof v === 'number' && Number.isFinite(v) ? v : bad(`"${name}" is ${JSON.stringify(v)}, expected a finite number`));
  switch (kind) {
    case 'unit': return make(json, (x, n) => scaleShift(x, n * px, 0, 1 / 255));
    case 'per-image': return make(json, (x, n) => perImage(x, n, px));
    case 'global': {
      const mean = num(json.mean, 'mean'), std = num(json.std, 'std');
      if (std <= 0) bad(`"std" is ${std}, expected > 0`);
      return make(json, (x, n) => scaleShift(x, n * px, mean, 1 / std));
    }
    case 'mean-image': {
      const std = num(json.std, 'std');
      if (std <= 0) bad(`"std" is ${std}, expected > 0`);
      if (!Array.isArray(json.meanImage) || json.meanImage.length !== px) bad(`"meanImage" has ${Array.isArray(json.meanImage) ? json.meanImage.length : 'no'} values, expected ${px}`);
      const m = Float32Array.from(json.meanImage as number[]);
      if (m.some((v) => !Number.isFinite(v))) bad('"meanImage" has a non-finite value');
      const inv = 1 / std;
      return make(json, (x, n) => {
        for (let i = 0, o = 0; i < n; i++, o += px) for (let p = 0; p < px; p++) x[o + p] = (x[o + p] - m[p]) * inv;
        return x;
      });
    }
    default:
      return bad(`"kind" is ${JSON.stringify(kind)}, expected 'mean-image', 'global', 'per-image' or 'unit'`);
  }
}

// --- Internal helpers ---

function make(json: NormalizerJSON, inPlace: (x: Float32Array, count: number) => Float32Array): Normalizer {
  const px = json.width * json.height;
  const frozen: NormalizerJSON = JSON.parse(JSON.stringify(json));
  const check = (len: number, count: number, where: string) => {
    if (!Number.isInteger(count) || count < 0 || len < count * px) {
      throw new FerDataError('E_BAD_PIXELS', `Normalizer.${where}: got ${len} values for count ${count}, expected at least count*${px}.`);
    }
  };
  return {
    kind: json.kind,
    apply(pixels, count) {
      check(pixels.length, count, 'apply');
      const x = new Float32Array(count * px);
      for (let i = 0; i < x.length; i++) x[i] = pixels[i];
      return inPlace(x, count);
    },
    applyInPlace(x, count) {
      check(x.length, count, 'applyInPlace');
      return inPlace(x, count);
    },
    toJSON: () => JSON.parse(JSON.stringify(frozen)),
  };
}

function scaleShift(x: Float32Array, len: number, shift: number, scale: number): Float32Array {
  for (let i = 0; i < len; i++) x[i] = (x[i] - shift) * scale;
  return x;
}

function perImage(x: Float32Array, n: number, px: number): Float32Array {
  const floor = 1 / Math.sqrt(px);
  for (let i = 0, o = 0; i < n; i++, o += px) {
    let s = 0, s2 = 0;
    for (let p = 0; p < px; p++) { const v = x[o + p]; s += v; s2 += v * v; }
    const mean = s / px;
    const std = Math.max(Math.sqrt(Math.max(s2 / px - mean * mean, 0)), floor);
    for (let p = 0; p < px; p++) x[o + p] = (x[o + p] - mean) / std;
  }
  return x;
}
