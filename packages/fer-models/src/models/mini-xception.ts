import * as tf from '@tensorflow/tfjs';
import { checkInt, checkRange } from '../_config.js';
import { FerModelsError } from '../errors.js';
import { defineModel, type ModelDef } from '../registry.js';
import { scaleWidths } from '../recipe.js';
import { imageInput, l2Reg, type SymT } from './_layers.js';

/** Config of `mini-xception`. */
export interface MiniXceptionConfig {
  /** Side of the square input. Default 48. */
  inputSize: number;
  numClasses: number;
  /** Filters of the two plain 3x3 'valid' conv layers of the stem. Default 8. */
  baseFilters: number;
  /** Filters of the residual depthwise-separable modules. Default [16, 32, 64, 128]. */
  moduleFilters: number[];
  /** L2 kernel penalty. Default 0.01 (as in the authors' Keras code). */
  l2: number;
}

/** Arriaga et al.'s mini-Xception: residual depthwise-separable convolutions, no FC layer (global average pooling). */
export const miniXception: ModelDef<MiniXceptionConfig> = defineModel({
  name: 'mini-xception',
  description: 'mini-Xception of Arriaga et al.: conv stem, 4 residual separable-conv modules, conv to classes, global average pooling, softmax (~60k parameters).',
  paper: {
    cite: 'Arriaga, O., Valdenegro-Toro, M. & Plöger, P. (2017). Real-time Convolutional Neural Networks for Emotion and Gender Classification. arXiv:1710.07557',
    url: 'https://arxiv.org/abs/1710.07557',
    reported: { test: 0.66 },
  },
  inputs: { image: [48, 48, 1] },
  numClasses: 7,
  defaults: { inputSize: 48, numClasses: 7, baseFilters: 8, moduleFilters: [16, 32, 64, 128], l2: 0.01 },
  // NOTE: the authors train up to 10,000 epochs with early stopping; this recipe is the paper networks' cap (35).
  recipe: { epochs: 35 },
  scaleWidth: (c, f) => scaleWidths(c, ['baseFilters', 'moduleFilters'], f),
  build(c) {
    checkInt('mini-xception.inputSize', c.inputSize, 8, 1024);
    checkInt('mini-xception.numClasses', c.numClasses, 2, 1000);
    checkInt('mini-xception.baseFilters', c.baseFilters, 1, 4096);
    checkRange('mini-xception.l2', c.l2, 0, 1);
    if (c.moduleFilters.length < 1) throw new FerModelsError('E_BAD_OPTION', 'mini-xception.moduleFilters: got [], expected one filter count per module, e.g. [16, 32, 64, 128].');
    const reg = () => l2Reg(c.l2);
    const image = imageInput(c.inputSize);
    let x: SymT = image;
    for (const i of [1, 2]) {
      x = tf.layers.conv2d({ filters: c.baseFilters, kernelSize: 3, useBias: false, kernelRegularizer: reg(), name: `stem${i}_conv` }).apply(x) as SymT;
      x = tf.layers.batchNormalization({ name: `stem${i}_bn` }).apply(x) as SymT;
      x = tf.layers.reLU({ name: `stem${i}_relu` }).apply(x) as SymT;
    }
    c.moduleFilters.forEach((f, m) => {
      checkInt(`mini-xception.moduleFilters[${m}]`, f, 1, 4096);
      const p = `module${m + 1}`;
      let residual = tf.layers.conv2d({ filters: f, kernelSize: 1, strides: 2, padding: 'same', useBias: false, name: `${p}_res_conv` }).apply(x) as SymT;
      residual = tf.layers.batchNormalization({ name: `${p}_res_bn` }).apply(residual) as SymT;
      let y = tf.layers.separableConv2d({ filters: f, kernelSize: 3, padding: 'same', useBias: false, depthwiseRegularizer: reg(), pointwiseRegularizer: reg(), name: `${p}_sep1` }).apply(x) as SymT;
      y = tf.layers.batchNormalization({ name: `${p}_bn1` }).apply(y) as SymT;
      y = tf.layers.reLU({ name: `${p}_relu1` }).apply(y) as SymT;
      y = tf.layers.separableConv2d({ filters: f, kernelSize: 3, padding: 'same', useBias: false, depthwiseRegularizer: reg(), pointwiseRegularizer: reg(), name: `${p}_sep2` }).apply(y) as SymT;
      y = tf.layers.batchNormalization({ name: `${p}_bn2` }).apply(y) as SymT;
      y = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: `${p}_pool` }).apply(y) as SymT;
      x = tf.layers.add({ name: `${p}_add` }).apply([y, residual]) as SymT;
    });
    x = tf.layers.conv2d({ filters: c.numClasses, kernelSize: 3, padding: 'same', name: 'classifier_conv' }).apply(x) as SymT;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as SymT;
    const out = tf.layers.softmax({ name: 'predictions' }).apply(x) as SymT;
    return tf.model({ inputs: image, outputs: out, name: 'mini_xception' });
  },
});
