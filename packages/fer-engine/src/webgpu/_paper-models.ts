// The paper's three networks (Alizadeh & Fazel 2017), as in /work/shared/bench/torch_reference.py, built
// from standard tfjs layers for the WebGPU conformance tests. Internal and test-only: @fer/models owns the
// real zoo; this copy keeps @fer/engine's tests independent of it (libraries do not depend on each other).
import type * as tfType from '@tensorflow/tfjs';

/** Which paper model. */
export type PaperModelName = 'paper-shallow' | 'paper-deep' | 'paper-hybrid';

/** Options: image size (48 in the paper), HOG length (hybrid only), and a seed that fixes dropout masks. */
export interface PaperModelOptions {
  size?: number;
  hogLength?: number;
  dropoutSeed?: number;
}

/**
 * Builds a paper model: conv blocks (conv same-padding, batch norm, ReLU, optional 2x2 max-pool, dropout 0.25),
 * flatten, dense head, softmax over 7 classes. The hybrid concatenates a HOG vector (input `hog`) with the
 * flattened CNN features before the dense layers.
 */
export function buildPaperModel(tf: typeof tfType, name: PaperModelName, opts: PaperModelOptions = {}): tfType.LayersModel {
  const size = opts.size ?? 48;
  const seed = opts.dropoutSeed;
  const image = tf.input({ shape: [size, size, 1], name: 'image' });
  const block = (x: tfType.SymbolicTensor, filters: number, kernel: number, pool: boolean): tfType.SymbolicTensor => {
    let y = tf.layers.conv2d({ filters, kernelSize: kernel, padding: 'same' }).apply(x) as tfType.SymbolicTensor;
    y = tf.layers.batchNormalization().apply(y) as tfType.SymbolicTensor;
    y = tf.layers.reLU().apply(y) as tfType.SymbolicTensor;
    if (pool) y = tf.layers.maxPooling2d({ poolSize: 2 }).apply(y) as tfType.SymbolicTensor;
    return tf.layers.dropout({ rate: 0.25, seed }).apply(y) as tfType.SymbolicTensor;
  };
  const dense = (x: tfType.SymbolicTensor, units: number, bn: boolean, rate: number): tfType.SymbolicTensor => {
    let y = tf.layers.dense({ units }).apply(x) as tfType.SymbolicTensor;
    if (bn) y = tf.layers.batchNormalization().apply(y) as tfType.SymbolicTensor;
    y = tf.layers.reLU().apply(y) as tfType.SymbolicTensor;
    return tf.layers.dropout({ rate, seed }).apply(y) as tfType.SymbolicTensor;
  };
  const softmax = (x: tfType.SymbolicTensor) => tf.layers.dense({ units: 7, activation: 'softmax' }).apply(x) as tfType.SymbolicTensor;
  if (name === 'paper-deep') {
    let x = block(image, 64, 3, true);
    x = block(x, 128, 5, true);
    x = block(x, 512, 3, true);
    x = block(x, 512, 3, true);
    x = tf.layers.flatten().apply(x) as tfType.SymbolicTensor;
    x = dense(dense(x, 256, true, 0.25), 512, true, 0.25);
    return tf.model({ inputs: image, outputs: softmax(x), name });
  }
  let x = block(image, 32, 3, false);
  x = block(x, 64, 3, true);
  x = tf.layers.flatten().apply(x) as tfType.SymbolicTensor;
  if (name === 'paper-hybrid') {
    const hog = tf.input({ shape: [opts.hogLength ?? 1296], name: 'hog' });
    x = tf.layers.concatenate().apply([x, hog]) as tfType.SymbolicTensor;
    return tf.model({ inputs: [image, hog], outputs: softmax(dense(x, 512, false, 0.5)), name });
  }
  return tf.model({ inputs: image, outputs: softmax(dense(x, 512, false, 0.5)), name });
}
