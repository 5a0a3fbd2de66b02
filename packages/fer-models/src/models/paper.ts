import * as tf from '@tensorflow/tfjs';
import { hogLength } from '@fer/hog';
import { checkInt, checkOneOf, checkRange } from '../_config.js';
import { FerModelsError } from '../errors.js';
import { defineModel, type ModelDef } from '../registry.js';
import { scaleWidths } from '../recipe.js';
import { convBlock, denseBlock, imageInput, softmaxHead, type SymT } from './_layers.js';

// Alizadeh & Fazel 2017, "Convolutional Neural Networks for Facial Expression Recognition",
// arXiv 1704.06756. Layer shapes follow the paper's figures and the PyTorch peer (harness/peers/torch_models.py).

const CITE = 'Alizadeh, S. & Fazel, A. (2017). Convolutional Neural Networks for Facial Expression Recognition. arXiv:1704.06756';
const URL = 'https://arxiv.org/abs/1704.06756';

/** HOG options of the hybrid models (the keys of @fer/hog's HogOptions). */
export interface HybridHogConfig {
  orientations: number;
  pixelsPerCell: number[];
  cellsPerBlock: number[];
  blockNorm: string;
  transformSqrt: boolean;
}

/** Config of `paper-shallow`. Every key has a documented default. */
export interface PaperShallowConfig {
  /** Side of the square gray input. Default 48 (FER2013). Smaller values are for tests. */
  inputSize: number;
  /** Output classes. Default 7. */
  numClasses: number;
  /** Filters of the two 3x3 conv layers. Default [32, 64]. */
  filters: number[];
  /** Units of the hidden fully connected layer. Default 512. */
  denseUnits: number;
  /** Dropout after each conv block. Default 0.25 (the paper uses dropout but does not give the rate). */
  convDropout: number;
  /** Dropout after the hidden FC layer. Default 0.5. */
  denseDropout: number;
  /** L2 kernel penalty `l2 * sum(w^2)` on every conv/dense kernel. Default 5e-5 (= weight decay 1e-4). */
  l2: number;
  /** Batch normalization after each conv. Default true. */
  batchNorm: boolean;
  /**
   * Momentum of the batch-norm moving mean/variance (Keras convention: new = m * old + (1 - m) * batch).
   * Default 0.9, i.e. PyTorch's momentum 0.1. Keras' 0.99 leaves the moving statistics far from the batch
   * statistics after a few hundred steps, and inference then scores 2 points lower on PublicTest after
   * 62 steps (measured with the PyTorch peer: 27.7% vs 29.7%). The paper does not give it.
   */
  bnMomentum: number;
}

/** Config of `paper-deep`. */
export interface PaperDeepConfig {
  /** Side of the square gray input. Default 48; must be divisible by 16 (four 2x2 pools). */
  inputSize: number;
  numClasses: number;
  /** Filters of the four conv layers. Default [64, 128, 512, 512]. */
  filters: number[];
  /** Kernel sizes of the four conv layers. Default [3, 5, 3, 3]. */
  kernelSizes: number[];
  /** Units of the two hidden FC layers. Default [256, 512]. */
  denseUnits: number[];
  /** Dropout after each conv block. Default 0.25. */
  convDropout: number;
  /** Dropout after each hidden FC layer. Default 0.25. */
  denseDropout: number;
  /** L2 kernel penalty. Default 5e-5. */
  l2: number;
  /** BN after each conv and hidden FC layer. Default true. */
  batchNorm: boolean;
  /** Batch-norm momentum (Keras convention). Default 0.9; see {@link PaperShallowConfig.bnMomentum}. */
  bnMomentum: number;
}

/** Extra config of the hybrid (pixels + HOG) models. */
export interface HybridExtraConfig {
  /** HOG options (see @fer/hog). Default: 9 orientations, 8x8 cells, 2x2 blocks, L2-Hys -> 900 features at 48x48. */
  hog: HybridHogConfig;
  /** Units of a Dense+BN+ReLU branch the HOG vector goes through first; 0 = none (default). */
  hogUnits: number;
  /**
   * Where HOG joins the CNN: 'flatten' (default) concatenates it with the flattened conv features,
   * before the first FC layer; 'dense' concatenates it with the output of the last hidden FC layer,
   * just before the softmax.
   */
  fusion: string;
}

export type PaperHybridShallowConfig = PaperShallowConfig & HybridExtraConfig;
export type PaperHybridDeepConfig = PaperDeepConfig & HybridExtraConfig;

const SHALLOW_DEFAULTS: PaperShallowConfig = {
  inputSize: 48, numClasses: 7, filters: [32, 64], denseUnits: 512, convDropout: 0.25, denseDropout: 0.5, l2: 5e-5, batchNorm: true, bnMomentum: 0.9,
};
const DEEP_DEFAULTS: PaperDeepConfig = {
  inputSize: 48, numClasses: 7, filters: [64, 128, 512, 512], kernelSizes: [3, 5, 3, 3], denseUnits: [256, 512],
  convDropout: 0.25, denseDropout: 0.25, l2: 5e-5, batchNorm: true, bnMomentum: 0.9,
};
const HYBRID_EXTRA: HybridExtraConfig = {
  hog: { orientations: 9, pixelsPerCell: [8, 8], cellsPerBlock: [2, 2], blockNorm: 'L2-Hys', transformSqrt: false },
  hogUnits: 0,
  fusion: 'flatten',
};

// The paper's recipe: batch 128, 30 (shallow) / 35 (deep) epochs; optimizer, learning rate, normalizer and
// augmentation are not given, so they stay at RECIPE_DEFAULTS (Adam 1e-4, mean image, horizontal flips).
/** Command-line names of the keys the paper's validation search tunes (`--set dropout=0.3`, `units=1024`). */
const PAPER_ALIASES = { dropout: 'denseDropout', units: 'denseUnits' } as const;

const SHALLOW_REPORTED = {
  validation: 0.55, test: 0.54,
  perClass: { Angry: 0.41, Disgust: 0.32, Fear: 0.54, Happy: 0.75, Sad: 0.32, Surprise: 0.675, Neutral: 0.399 },
};
const DEEP_REPORTED = {
  validation: 0.65, test: 0.64,
  perClass: { Angry: 0.53, Disgust: 0.7, Fear: 0.46, Happy: 0.805, Sad: 0.63, Surprise: 0.625, Neutral: 0.515 },
};

function checkCommon(name: string, c: { inputSize: number; numClasses: number; l2: number; convDropout: number; denseDropout: number; bnMomentum: number }): void {
  checkRange(`${name}.bnMomentum`, c.bnMomentum, 0, 1, true);
  checkInt(`${name}.inputSize`, c.inputSize, 4, 1024);
  checkInt(`${name}.numClasses`, c.numClasses, 2, 1000);
  checkRange(`${name}.l2`, c.l2, 0, 1);
  checkRange(`${name}.convDropout`, c.convDropout, 0, 1, true);
  checkRange(`${name}.denseDropout`, c.denseDropout, 0, 1, true);
}

function shallowTrunk(name: string, c: PaperShallowConfig, image: SymT): SymT {
  checkCommon(name, c);
  if (c.filters.length !== 2) {
    throw new FerModelsError('E_BAD_OPTION', `${name}.filters: got ${c.filters.length} values, expected 2 (one per conv layer), e.g. [32, 64].`);
  }
  c.filters.forEach((f, i) => checkInt(`${name}.filters[${i}]`, f, 1, 4096));
  checkInt(`${name}.denseUnits`, c.denseUnits, 1, 1 << 16);
  if (c.inputSize % 2 !== 0) throw new FerModelsError('E_BAD_OPTION', `${name}.inputSize: got ${c.inputSize}, expected an even size (one 2x2 pool).`);
  let x = convBlock(image, { filters: c.filters[0], kernelSize: 3, l2: c.l2, batchNorm: c.batchNorm, bnMomentum: c.bnMomentum, pool: false, dropout: c.convDropout, name: 'block1' });
  x = convBlock(x, { filters: c.filters[1], kernelSize: 3, l2: c.l2, batchNorm: c.batchNorm, bnMomentum: c.bnMomentum, pool: true, dropout: c.convDropout, name: 'block2' });
  return tf.layers.flatten({ name: 'flatten' }).apply(x) as SymT;
}

function deepTrunk(name: string, c: PaperDeepConfig, image: SymT): SymT {
  checkCommon(name, c);
  if (c.filters.length !== 4 || c.kernelSizes.length !== 4) {
    throw new FerModelsError('E_BAD_OPTION', `${name}: got ${c.filters.length} filters and ${c.kernelSizes.length} kernelSizes, expected 4 of each (one per conv layer).`);
  }
  if (c.inputSize % 16 !== 0) throw new FerModelsError('E_BAD_OPTION', `${name}.inputSize: got ${c.inputSize}, expected a multiple of 16 (four 2x2 pools), e.g. 48 or 16.`);
  let x = image;
  for (let i = 0; i < 4; i++) {
    checkInt(`${name}.filters[${i}]`, c.filters[i], 1, 4096);
    checkInt(`${name}.kernelSizes[${i}]`, c.kernelSizes[i], 1, 15);
    x = convBlock(x, { filters: c.filters[i], kernelSize: c.kernelSizes[i], l2: c.l2, batchNorm: c.batchNorm, bnMomentum: c.bnMomentum, pool: true, dropout: c.convDropout, name: `block${i + 1}` });
  }
  return tf.layers.flatten({ name: 'flatten' }).apply(x) as SymT;
}

function deepHead(name: string, c: PaperDeepConfig, x: SymT): SymT {
  if (c.denseUnits.length < 1) throw new FerModelsError('E_BAD_OPTION', `${name}.denseUnits: got [], expected at least one hidden FC size, e.g. [256, 512].`);
  c.denseUnits.forEach((u, i) => {
    checkInt(`${name}.denseUnits[${i}]`, u, 1, 1 << 16);
    x = denseBlock(x, { units: u, l2: c.l2, batchNorm: c.batchNorm, bnMomentum: c.bnMomentum, dropout: c.denseDropout, name: `fc${i + 1}` });
  });
  return x;
}

function hogBranch(name: string, c: HybridExtraConfig & { inputSize: number; l2: number; batchNorm: boolean; bnMomentum: number }): { input: SymT; features: SymT } {
  checkOneOf(`${name}.fusion`, c.fusion, ['flatten', 'dense'] as const);
  checkInt(`${name}.hogUnits`, c.hogUnits, 0, 1 << 16);
  const length = hogLength(c.inputSize, c.inputSize, c.hog as never);
  const input = tf.input({ shape: [length], name: 'hog' });
  let features: SymT = input;
  if (c.hogUnits > 0) {
    features = denseBlock(input, { units: c.hogUnits, l2: c.l2, batchNorm: c.batchNorm, bnMomentum: c.bnMomentum, dropout: 0, name: 'hog_branch' });
  }
  return { input, features };
}

function concat(a: SymT, b: SymT, name: string): SymT {
  return tf.layers.concatenate({ name }).apply([a, b]) as SymT;
}

/** The paper's shallow network: two conv layers, one FC 512 layer. */
export const paperShallow: ModelDef<PaperShallowConfig> = defineModel({
  name: 'paper-shallow',
  description: 'Alizadeh & Fazel shallow CNN: conv32-conv64(pool) -> FC512 -> softmax (~18.9M parameters, 18.87M in the FC layer).',
  paper: { cite: CITE, url: URL, reported: SHALLOW_REPORTED },
  inputs: { image: [48, 48, 1] },
  numClasses: 7,
  defaults: SHALLOW_DEFAULTS,
  recipe: { epochs: 30 },
  scaleWidth: (c, f) => scaleWidths(c, ['filters', 'denseUnits'], f),
  aliases: PAPER_ALIASES,
  build(c) {
    const image = imageInput(c.inputSize);
    let x = shallowTrunk('paper-shallow', c, image);
    x = denseBlock(x, { units: c.denseUnits, l2: c.l2, batchNorm: false, dropout: c.denseDropout, name: 'fc1' });
    return tf.model({ inputs: image, outputs: softmaxHead(x, c.numClasses, c.l2), name: 'paper_shallow' });
  },
});

/** The paper's deep network: four conv layers, two FC layers. */
export const paperDeep: ModelDef<PaperDeepConfig> = defineModel({
  name: 'paper-deep',
  description: 'Alizadeh & Fazel deep CNN: conv64(3)-conv128(5)-conv512(3)-conv512(3), each pooled -> FC256 -> FC512 -> softmax.',
  paper: { cite: CITE, url: URL, reported: DEEP_REPORTED },
  inputs: { image: [48, 48, 1] },
  numClasses: 7,
  defaults: DEEP_DEFAULTS,
  recipe: { epochs: 35 },
  scaleWidth: (c, f) => scaleWidths(c, ['filters', 'denseUnits'], f),
  aliases: PAPER_ALIASES,
  build(c) {
    const image = imageInput(c.inputSize);
    const x = deepHead('paper-deep', c, deepTrunk('paper-deep', c, image));
    return tf.model({ inputs: image, outputs: softmaxHead(x, c.numClasses, c.l2), name: 'paper_deep' });
  },
});

const HYBRID_NOTE = 'The paper reports the hybrid (pixels + HOG) models at about the same accuracy as raw pixels.';

/** Shallow CNN + HOG features joined before the FC layer. */
export const paperHybridShallow: ModelDef<PaperHybridShallowConfig> = defineModel({
  name: 'paper-hybrid-shallow',
  description: `paper-shallow with a second input of HOG features (default 900) concatenated with the flattened conv features. ${HYBRID_NOTE}`,
  paper: { cite: CITE, url: URL },
  inputs: { image: [48, 48, 1], hog: { length: 900, options: HYBRID_EXTRA.hog as unknown as Record<string, unknown> } },
  numClasses: 7,
  defaults: { ...SHALLOW_DEFAULTS, ...HYBRID_EXTRA },
  recipe: { epochs: 30 },
  scaleWidth: (c, f) => scaleWidths(c, ['filters', 'denseUnits', 'hogUnits'], f),
  aliases: PAPER_ALIASES,
  build(c) {
    const name = 'paper-hybrid-shallow';
    const image = imageInput(c.inputSize);
    const hog = hogBranch(name, c);
    let x = shallowTrunk(name, c, image);
    if (c.fusion === 'flatten') x = concat(x, hog.features, 'fusion');
    x = denseBlock(x, { units: c.denseUnits, l2: c.l2, batchNorm: false, dropout: c.denseDropout, name: 'fc1' });
    if (c.fusion === 'dense') x = concat(x, hog.features, 'fusion');
    return tf.model({ inputs: [image, hog.input], outputs: softmaxHead(x, c.numClasses, c.l2), name: 'paper_hybrid_shallow' });
  },
});

/** Deep CNN + HOG features joined before the FC layers. */
export const paperHybridDeep: ModelDef<PaperHybridDeepConfig> = defineModel({
  name: 'paper-hybrid-deep',
  description: `paper-deep with a second input of HOG features (default 900) concatenated with the flattened conv features (4,608). ${HYBRID_NOTE}`,
  paper: { cite: CITE, url: URL },
  inputs: { image: [48, 48, 1], hog: { length: 900, options: HYBRID_EXTRA.hog as unknown as Record<string, unknown> } },
  numClasses: 7,
  defaults: { ...DEEP_DEFAULTS, ...HYBRID_EXTRA },
  recipe: { epochs: 35 },
  scaleWidth: (c, f) => scaleWidths(c, ['filters', 'denseUnits', 'hogUnits'], f),
  aliases: PAPER_ALIASES,
  build(c) {
    const name = 'paper-hybrid-deep';
    const image = imageInput(c.inputSize);
    const hog = hogBranch(name, c);
    let x = deepTrunk(name, c, image);
    if (c.fusion === 'flatten') x = concat(x, hog.features, 'fusion');
    x = deepHead(name, c, x);
    if (c.fusion === 'dense') x = concat(x, hog.features, 'fusion');
    return tf.model({ inputs: [image, hog.input], outputs: softmaxHead(x, c.numClasses, c.l2), name: 'paper_hybrid_deep' });
  },
});
