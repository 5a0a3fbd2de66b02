import * as tf from '@tensorflow/tfjs';

// Small builders shared by the model definitions (functional API, standard tfjs layers only).

export type SymT = tf.SymbolicTensor;

export function l2Reg(l2: number): ReturnType<typeof tf.regularizers.l2> | undefined {
  return l2 > 0 ? tf.regularizers.l2({ l2 }) : undefined;
}

/** conv (same) -> [BN] -> ReLU -> [maxpool 2x2] -> [dropout]. */
export function convBlock(
  x: SymT,
  o: { filters: number; kernelSize: number; l2: number; batchNorm: boolean; bnMomentum?: number; pool: boolean; dropout: number; name: string },
): SymT {
  let y = tf.layers
    .conv2d({ filters: o.filters, kernelSize: o.kernelSize, padding: 'same', kernelRegularizer: l2Reg(o.l2), name: `${o.name}_conv` })
    .apply(x) as SymT;
  if (o.batchNorm) y = tf.layers.batchNormalization({ momentum: o.bnMomentum ?? 0.99, name: `${o.name}_bn` }).apply(y) as SymT;
  y = tf.layers.reLU({ name: `${o.name}_relu` }).apply(y) as SymT;
  if (o.pool) y = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `${o.name}_pool` }).apply(y) as SymT;
  if (o.dropout > 0) y = tf.layers.dropout({ rate: o.dropout, name: `${o.name}_drop` }).apply(y) as SymT;
  return y;
}

/** dense -> [BN] -> ReLU -> [dropout]. */
export function denseBlock(x: SymT, o: { units: number; l2: number; batchNorm: boolean; bnMomentum?: number; dropout: number; name: string }): SymT {
  let y = tf.layers.dense({ units: o.units, kernelRegularizer: l2Reg(o.l2), name: `${o.name}_dense` }).apply(x) as SymT;
  if (o.batchNorm) y = tf.layers.batchNormalization({ momentum: o.bnMomentum ?? 0.99, name: `${o.name}_bn` }).apply(y) as SymT;
  y = tf.layers.reLU({ name: `${o.name}_relu` }).apply(y) as SymT;
  if (o.dropout > 0) y = tf.layers.dropout({ rate: o.dropout, name: `${o.name}_drop` }).apply(y) as SymT;
  return y;
}

/** The softmax classifier head. */
export function softmaxHead(x: SymT, numClasses: number, l2: number): SymT {
  return tf.layers.dense({ units: numClasses, activation: 'softmax', kernelRegularizer: l2Reg(l2), name: 'predictions' }).apply(x) as SymT;
}

export function imageInput(size: number): SymT {
  return tf.input({ shape: [size, size, 1], name: 'image' });
}
