// Stand-in builders for the zoo, used only while @fer/models' builtinModels has not landed.
// Layer sizes follow the papers' descriptions; `scale` shrinks every width (smoke budget).
import * as tf from '@tensorflow/tfjs';

type Builder = (scale: number, hogSize: number) => tf.LayersModel;

const w = (n: number, scale: number) => Math.max(2, Math.round(n * scale));

function imageInput() {
  return tf.input({ shape: [48, 48, 1], name: 'image' });
}

function convBlock(x: tf.SymbolicTensor, filters: number, kernel: number, bn: boolean, name: string): tf.SymbolicTensor {
  let y = tf.layers.conv2d({ filters, kernelSize: kernel, padding: 'same', activation: bn ? 'linear' : 'relu', name: `${name}_conv`, useBias: !bn }).apply(x) as tf.SymbolicTensor;
  if (bn) {
    y = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(y) as tf.SymbolicTensor;
  }
  return y;
}

const pool = (x: tf.SymbolicTensor, name: string) => tf.layers.maxPooling2d({ poolSize: 2, name }).apply(x) as tf.SymbolicTensor;
const dense = (x: tf.SymbolicTensor, units: number, name: string, activation: 'relu' | 'softmax' = 'relu') => tf.layers.dense({ units, activation, name }).apply(x) as tf.SymbolicTensor;
const drop = (x: tf.SymbolicTensor, rate: number, name: string) => tf.layers.dropout({ rate, name }).apply(x) as tf.SymbolicTensor;

// Alizadeh & Fazel 2017, shallow: two conv layers + one hidden FC layer.
function shallowTrunk(x: tf.SymbolicTensor, s: number): tf.SymbolicTensor {
  let y = convBlock(x, w(32, s), 5, false, 'c1');
  y = pool(y, 'p1');
  y = convBlock(y, w(64, s), 5, false, 'c2');
  y = pool(y, 'p2');
  return tf.layers.flatten({ name: 'flat' }).apply(y) as tf.SymbolicTensor;
}

// Alizadeh & Fazel 2017, deep: four conv layers (with batch norm) + two FC layers.
function deepTrunk(x: tf.SymbolicTensor, s: number): tf.SymbolicTensor {
  let y = convBlock(x, w(64, s), 5, true, 'c1');
  y = pool(y, 'p1');
  y = convBlock(y, w(128, s), 3, true, 'c2');
  y = pool(y, 'p2');
  y = convBlock(y, w(256, s), 3, true, 'c3');
  y = pool(y, 'p3');
  y = convBlock(y, w(256, s), 3, true, 'c4');
  y = pool(y, 'p4');
  return tf.layers.flatten({ name: 'flat' }).apply(y) as tf.SymbolicTensor;
}

function head(x: tf.SymbolicTensor, units: number[], s: number): tf.SymbolicTensor {
  let y = x;
  units.forEach((u, i) => { y = drop(dense(y, w(u, s), `fc${i + 1}`), 0.5, `drop${i + 1}`); });
  return dense(y, 7, 'logits_softmax', 'softmax');
}

function hybrid(trunk: (x: tf.SymbolicTensor, s: number) => tf.SymbolicTensor, units: number[]): Builder {
  return (s, hogSize) => {
    const image = imageInput();
    const hogIn = tf.input({ shape: [hogSize], name: 'hog' });
    const h = dense(hogIn, w(128, s), 'hog_fc');
    const merged = tf.layers.concatenate({ name: 'merge' }).apply([trunk(image, s), h]) as tf.SymbolicTensor;
    return tf.model({ inputs: [image, hogIn], outputs: head(merged, units, s) });
  };
}

export const FALLBACK_MODELS: Record<string, Builder> = {
  'paper-shallow': (s) => { const image = imageInput(); return tf.model({ inputs: image, outputs: head(shallowTrunk(image, s), [256], s) }); },
  'paper-deep': (s) => { const image = imageInput(); return tf.model({ inputs: image, outputs: head(deepTrunk(image, s), [512, 256], s) }); },
  'paper-hybrid-shallow': hybrid(shallowTrunk, [256]),
  'paper-hybrid-deep': hybrid(deepTrunk, [512, 256]),
  // Khaireddin & Chen 2021: VGG-style, 4 stages of 2 convs + BN, two FC 4096 (1024 here).
  'vgg-fer': (s) => {
    const image = imageInput();
    let y: tf.SymbolicTensor = image;
    [64, 128, 256, 512].forEach((f, i) => {
      y = convBlock(y, w(f, s), 3, true, `b${i + 1}a`);
      y = convBlock(y, w(f, s), 3, true, `b${i + 1}b`);
      y = pool(y, `p${i + 1}`);
    });
    y = tf.layers.flatten({ name: 'flat' }).apply(y) as tf.SymbolicTensor;
    return tf.model({ inputs: image, outputs: head(y, [1024, 1024], s) });
  },
  // Arriaga et al. 2017 mini-Xception: residual depthwise-separable modules, global average pooling.
  'mini-xception': (s) => {
    const image = imageInput();
    let y = convBlock(image, w(8, s), 3, true, 'stem1');
    y = convBlock(y, w(8, s), 3, true, 'stem2');
    [16, 32, 64, 128].forEach((f, i) => {
      const n = w(f, s);
      let r = tf.layers.conv2d({ filters: n, kernelSize: 1, strides: 2, padding: 'same', useBias: false, name: `m${i}_res` }).apply(y) as tf.SymbolicTensor;
      r = tf.layers.batchNormalization({ name: `m${i}_res_bn` }).apply(r) as tf.SymbolicTensor;
      let z = tf.layers.separableConv2d({ filters: n, kernelSize: 3, padding: 'same', useBias: false, name: `m${i}_sep1` }).apply(y) as tf.SymbolicTensor;
      z = tf.layers.batchNormalization({ name: `m${i}_bn1` }).apply(z) as tf.SymbolicTensor;
      z = tf.layers.activation({ activation: 'relu', name: `m${i}_relu` }).apply(z) as tf.SymbolicTensor;
      z = tf.layers.separableConv2d({ filters: n, kernelSize: 3, padding: 'same', useBias: false, name: `m${i}_sep2` }).apply(z) as tf.SymbolicTensor;
      z = tf.layers.batchNormalization({ name: `m${i}_bn2` }).apply(z) as tf.SymbolicTensor;
      z = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: `m${i}_pool` }).apply(z) as tf.SymbolicTensor;
      y = tf.layers.add({ name: `m${i}_add` }).apply([z, r]) as tf.SymbolicTensor;
    });
    y = tf.layers.conv2d({ filters: 7, kernelSize: 3, padding: 'same', name: 'head_conv' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.activation({ activation: 'softmax', name: 'softmax' }).apply(y) as tf.SymbolicTensor;
    return tf.model({ inputs: image, outputs: y });
  },
};
