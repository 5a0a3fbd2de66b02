import * as tf from '@tensorflow/tfjs';
import { hogBatch } from '@fer/hog';
import { normalizerFor } from './_normalize.js';
import { FerModelsError } from './errors.js';
import type { LoadedModel } from './save-load.js';

/** Options of {@link predict}. */
export interface PredictOptions {
  /** Images per forward pass. Default 256. */
  batchSize?: number;
  /** Precomputed HOG features (count * hogLength) for hybrid models; computed with @fer/hog otherwise. */
  hog?: Float32Array;
}

/** Class probabilities (count * numClasses, row-major) and the argmax label of each image. */
export interface Prediction {
  probabilities: Float32Array;
  labels: Uint8Array;
  numClasses: number;
}

/**
 * Predicts raw gray images (count * h * w bytes, 0-255, row-major, at the model's input size, 48x48 for
 * the built-ins). Applies the saved normalizer, and HOG for hybrid models. Leaves no tensors behind.
 * @example
 * const loaded = await loadModel('out/model');
 * const { probabilities, labels } = await predict(loaded, pixels, 2);
 */
export async function predict(loaded: LoadedModel, pixels: Uint8Array, count: number, opts: PredictOptions = {}): Promise<Prediction> {
  const { model, meta } = loaded;
  const [h, w] = meta.inputSize;
  const size = h * w;
  if (!Number.isInteger(count) || count < 0 || pixels.length !== count * size) {
    throw new FerModelsError('E_BAD_INPUT', `predict: got ${pixels.length} pixels for count ${count}, expected count * ${h} * ${w} = ${count * size} raw gray bytes. Resize images to ${w}x${h} first.`);
  }
  const x = normalizerFor(meta.normalizer)(pixels, count);
  const hybrid = model.inputs.length > 1;
  let hog: Float32Array | undefined;
  let hogLen = 0;
  if (hybrid) {
    hogLen = model.inputs[1].shape[1] ?? 0;
    hog = opts.hog ?? hogBatch(pixels, { count, width: w, height: h, ...(meta.hog ?? {}) } as never);
    if (hog.length !== count * hogLen) {
      throw new FerModelsError('E_BAD_INPUT', `predict: got ${hog.length} HOG values, expected count * ${hogLen} = ${count * hogLen}. Compute them with the HOG options in fer.json.`);
    }
  }
  const numClasses = model.outputs[0].shape[1] ?? 0;
  const probabilities = new Float32Array(count * numClasses);
  const batch = opts.batchSize ?? 256;
  for (let s = 0; s < count; s += batch) {
    const n = Math.min(batch, count - s);
    const out = tf.tidy(() => {
      const xs = tf.tensor4d(x.subarray(s * size, (s + n) * size), [n, h, w, 1]);
      const input = hybrid ? [xs, tf.tensor2d(hog!.subarray(s * hogLen, (s + n) * hogLen), [n, hogLen])] : xs;
      return model.predict(input) as tf.Tensor;
    });
    try {
      probabilities.set((await out.data()) as Float32Array, s * numClasses);
    } finally {
      out.dispose();
    }
  }
  const bad = probabilities.findIndex((p) => !Number.isFinite(p));
  if (bad >= 0) {
    throw new FerModelsError('E_BAD_INPUT', `predict: the model gave ${probabilities[bad]} for image ${Math.floor(bad / numClasses)}, class ${bad % numClasses}; expected finite probabilities. Its weights or the normalizer in fer.json hold NaN/Infinity: load it with loadModel (which checks the weights) or re-train it.`);
  }
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (probabilities[i * numClasses + k] > probabilities[i * numClasses + best]) best = k;
    labels[i] = best;
  }
  return { probabilities, labels, numClasses };
}
