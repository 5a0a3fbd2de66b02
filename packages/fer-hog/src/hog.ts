import { createHogEngine, type HogEngine } from './_engine.js';
import { checkSize, describe, hogGeometry, resolveHogOptions, type HogGeometry, type HogOptions } from './_options.js';
import { FerHogError } from './errors.js';

/** One single-channel (gray) image, row-major: `data[row * width + col]`. */
export interface HogInputImage {
  readonly data: Uint8Array | Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Options of {@link hogBatch}: the images' layout plus {@link HogOptions}. */
export interface HogBatchOptions extends HogOptions {
  /** Number of images in `pixels`. */
  count: number;
  /** Width of every image in pixels. */
  width: number;
  /** Height of every image in pixels. */
  height: number;
  /** Only `0` (or absent) here: `hogBatch` runs on the calling thread. Use {@link hogBatchParallel} for workers. */
  workers?: 0;
  /**
   * Where to write the features: a `Float32Array` of exactly `count * hogLength(width, height, opts)` values
   * (e.g. a `subarray` of a bigger buffer). Saves allocating when the same set is featurized repeatedly.
   * Default: a new array.
   */
  out?: Float32Array;
}

/**
 * Length of the HOG feature vector of a `width` x `height` image, as `skimage.feature.hog(...).size`.
 * @example
 * hogLength(48, 48, { cellsPerBlock: [2, 2] }); // 900
 */
export function hogLength(width: number, height: number, opts?: HogOptions): number {
  return hogGeometry(width, height, resolveHogOptions(opts, 'hogLength'), 'hogLength').length;
}

/**
 * Histogram of Oriented Gradients of one gray image, equal (max abs difference <= 1e-5, in practice
 * float32 rounding) to scikit-image 0.19.3's `skimage.feature.hog(image, ..., feature_vector=True)`
 * for any image size and option set. A `Uint8Array` is read as 0..255 without scaling, as scikit-image
 * does for a uint8 array; a `Float32Array` follows scikit-image's float32 path.
 * @example
 * import { hog } from '@fer/hog';
 * const data = new Uint8Array(48 * 48).map((_, i) => (i * 7) % 256);
 * const features = hog({ data, width: 48, height: 48 }, { cellsPerBlock: [2, 2] }); // Float32Array(900)
 */
export function hog(image: HogInputImage, opts?: HogOptions): Float32Array {
  const o = resolveHogOptions(opts, 'hog');
  const { data, isFloat, g } = checkImage(image, o, 'hog');
  const out = new Float32Array(g.length);
  engine().run(data, isFloat, 0, 1, g, out, 0);
  return out;
}

/**
 * HOG of `count` images of `width` x `height` pixels stored one after another in `pixels`
 * (`count * height * width` values, e.g. `FerDataset.pixels`), into one `Float32Array` of
 * `count * hogLength(width, height, opts)` values: image `i`'s features start at `i * hogLength(...)`.
 * Runs on the calling thread with scratch buffers reused across images (and, with `out`, no allocation
 * at all); see {@link hogBatchParallel} to spread the work over worker threads.
 * @example
 * import { hogBatch, hogLength, PAPER_HOG_OPTIONS } from '@fer/hog';
 * const count = 2, pixels = new Uint8Array(count * 48 * 48).map((_, i) => (i * 13) % 256);
 * const features = hogBatch(pixels, { count, width: 48, height: 48, ...PAPER_HOG_OPTIONS });
 * features.length === count * hogLength(48, 48, PAPER_HOG_OPTIONS); // true (2 * 900)
 */
export function hogBatch(pixels: Uint8Array | Float32Array, opts: HogBatchOptions): Float32Array {
  const { data, isFloat, g, count } = checkBatch(pixels, opts, 'hogBatch', false);
  const out = opts.out ?? new Float32Array(count * g.length);
  if (!(out instanceof Float32Array) || out.length !== count * g.length) {
    throw new FerHogError(
      'E_BAD_OPTION',
      `hogBatch: out must be a Float32Array of count x hogLength = ${count} x ${g.length} = ${count * g.length} values, got ${describe(out)}. Allocate new Float32Array(${count * g.length}) or leave out undefined.`,
    );
  }
  engine().run(data, isFloat, 0, count, g, out, 0);
  return out;
}

// --- Internal helpers ---

let sharedEngine: HogEngine | undefined;

/** The engine of the calling thread (its per-orientation tables are built on first use). */
export function engine(): HogEngine {
  sharedEngine ??= createHogEngine();
  return sharedEngine;
}

export function checkImage(
  image: unknown,
  o: ReturnType<typeof resolveHogOptions>,
  where: string,
): { data: Uint8Array | Float32Array; isFloat: boolean; g: HogGeometry } {
  if (typeof image !== 'object' || image === null || !('data' in image)) {
    throw new FerHogError('E_BAD_IMAGE', `${where}: expected an image { data: Uint8Array | Float32Array, width, height }, got ${describe(image)}.`);
  }
  const { data, width, height } = image as { data: unknown; width: unknown; height: unknown };
  checkPixels(data, where, 'image.data');
  const isFloat = data instanceof Float32Array;
  checkSize(width, 'image.width', where);
  checkSize(height, 'image.height', where);
  if (data.length !== width * height) {
    throw new FerHogError(
      'E_BAD_IMAGE',
      `${where}: image.data has ${data.length} values but width x height = ${width} x ${height} = ${width * height}. Pass one gray channel, row-major, of exactly width * height values.`,
    );
  }
  const g = hogGeometry(width, height, o, where);
  if (data instanceof Float32Array && o.transformSqrt) checkNonNegative(data, 0, data.length, where);
  return { data, isFloat, g };
}

export function checkBatch(
  pixels: unknown,
  opts: unknown,
  where: string,
  allowWorkers: boolean,
): { data: Uint8Array | Float32Array; isFloat: boolean; g: HogGeometry; count: number } {
  if (typeof opts !== 'object' || opts === null) {
    throw new FerHogError('E_BAD_OPTION', `${where}: options { count, width, height, ... } are required, got ${describe(opts)}.`);
  }
  const o = resolveHogOptions(opts, where, allowWorkers ? ['count', 'width', 'height', 'workers'] : ['count', 'width', 'height', 'workers', 'out']);
  const { count, width, height, workers } = opts as Record<string, unknown>;
  if (!allowWorkers && workers !== undefined && workers !== 0) {
    throw new FerHogError('E_BAD_OPTION', `${where}: workers must be 0 or absent here (hogBatch runs on the calling thread), got ${describe(workers)}. Use hogBatchParallel(pixels, { ..., workers }) for worker threads.`);
  }
  checkPixels(pixels, where, 'pixels');
  const isFloat = pixels instanceof Float32Array;
  checkSize(count, 'count', where);
  const g = hogGeometry(width, height, o, where);
  const expected = count * g.width * g.height;
  if (pixels.length !== expected) {
    throw new FerHogError(
      'E_BAD_IMAGE',
      `${where}: pixels has ${pixels.length} values but count x height x width = ${count} x ${g.height} x ${g.width} = ${expected}. Check count, width and height.`,
    );
  }
  if (pixels instanceof Float32Array && o.transformSqrt) checkNonNegative(pixels, 0, pixels.length, where);
  return { data: pixels, isFloat, g, count };
}

/** Throws unless `data` is a Uint8Array (Uint8ClampedArray is not one) or a Float32Array. */
function checkPixels(data: unknown, where: string, name: string): asserts data is Uint8Array | Float32Array {
  if (data instanceof Float32Array || data instanceof Uint8Array) return;
  throw new FerHogError('E_BAD_IMAGE', `${where}: ${name} must be a Uint8Array (0..255) or a Float32Array, got ${describe(data)}. Convert it, e.g. Float32Array.from(values).`);
}

function checkNonNegative(data: Float32Array, from: number, to: number, where: string): void {
  for (let i = from; i < to; i++) {
    if (!(data[i] >= 0)) {
      throw new FerHogError('E_BAD_IMAGE', `${where}: transformSqrt needs pixels >= 0, but value ${i} is ${data[i]}. Use transformSqrt: false or shift the image to be non-negative.`);
    }
  }
}
