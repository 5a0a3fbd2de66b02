import * as tf from '@tensorflow/tfjs';
import { checkInt, checkRange } from '../_config.js';
import { FerModelsError } from '../errors.js';
import { defineModel, type ModelDef } from '../registry.js';
import { scaleWidths } from '../recipe.js';
import { denseBlock, imageInput, l2Reg, softmaxHead, type SymT } from './_layers.js';

/** Config of `vgg-fer`. */
export interface VggFerConfig {
  /** Side of the square input. Default 48 (the paper trains on 40x40 crops of the 48x48 faces). Multiple of 16. */
  inputSize: number;
  numClasses: number;
  /** Filters of the four stages (two 3x3 conv + BN + ReLU each, then a 2x2 max pool). Default [64, 128, 256, 512]. */
  filters: number[];
  /** Hidden FC layers. Default [4096, 4096]. */
  denseUnits: number[];
  /** Dropout after each hidden FC layer. Default 0.2. */
  dropout: number;
  /** L2 kernel penalty. Default 5e-5 (the paper uses SGD weight decay 1e-4). */
  l2: number;
}

/** Khaireddin & Chen's VGG variant for FER2013. */
export const vggFer: ModelDef<VggFerConfig> = defineModel({
  name: 'vgg-fer',
  description: 'VGG-style CNN of Khaireddin & Chen: 4 stages of 2x(conv3x3-BN-ReLU) + maxpool, FC4096-FC4096-softmax.',
  paper: {
    cite: 'Khaireddin, Y. & Chen, Z. (2021). Facial Emotion Recognition: State of the Art Performance on FER2013. arXiv:2105.03588',
    url: 'https://arxiv.org/abs/2105.03588',
    reported: { test: 0.7328 },
  },
  inputs: { image: [48, 48, 1] },
  numClasses: 7,
  defaults: { inputSize: 48, numClasses: 7, filters: [64, 128, 256, 512], denseUnits: [4096, 4096], dropout: 0.2, l2: 5e-5 },
  // NOTE: the authors train 300 epochs of SGD (Nesterov momentum, lr reduced on plateau); this recipe is the
  // paper networks' schedule cap (35 epochs, Adam 1e-4), so the zoo row compares the models on one budget.
  recipe: { epochs: 35 },
  scaleWidth: (c, f) => scaleWidths(c, ['filters', 'denseUnits'], f),
  aliases: { units: 'denseUnits' },
  build(c) {
    checkInt('vgg-fer.inputSize', c.inputSize, 16, 1024);
    if (c.inputSize % 16 !== 0) throw new FerModelsError('E_BAD_OPTION', `vgg-fer.inputSize: got ${c.inputSize}, expected a multiple of 16 (four 2x2 pools).`);
    checkInt('vgg-fer.numClasses', c.numClasses, 2, 1000);
    checkRange('vgg-fer.dropout', c.dropout, 0, 1, true);
    checkRange('vgg-fer.l2', c.l2, 0, 1);
    if (c.filters.length < 1) throw new FerModelsError('E_BAD_OPTION', 'vgg-fer.filters: got [], expected one filter count per stage, e.g. [64, 128, 256, 512].');
    const image = imageInput(c.inputSize);
    let x: SymT = image;
    c.filters.forEach((f, s) => {
      checkInt(`vgg-fer.filters[${s}]`, f, 1, 4096);
      for (const ab of ['a', 'b']) {
        x = tf.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', kernelRegularizer: l2Reg(c.l2), name: `conv${s + 1}${ab}` }).apply(x) as SymT;
        x = tf.layers.batchNormalization({ name: `bn${s + 1}${ab}` }).apply(x) as SymT;
        x = tf.layers.reLU({ name: `relu${s + 1}${ab}` }).apply(x) as SymT;
      }
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${s + 1}` }).apply(x) as SymT;
    });
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as SymT;
    c.denseUnits.forEach((u, i) => {
      checkInt(`vgg-fer.denseUnits[${i}]`, u, 1, 1 << 16);
      x = denseBlock(x, { units: u, l2: c.l2, batchNorm: false, dropout: c.dropout, name: `fc${i + 1}` });
    });
    return tf.model({ inputs: image, outputs: softmaxHead(x, c.numClasses, c.l2), name: 'vgg_fer' });
  },
});
