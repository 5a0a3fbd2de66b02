// An example of a user's own model for the `fer` CLI: this file registers `my-net` next to the built-in
// models. Any command picks it up with `--config examples/my-model/fer.config.mjs`, or without the flag when
// run in this folder (`cd examples/my-model && pnpm fer train --model my-net --out runs/my-net`).
//
// The default export is a function of the harness's own tfjs and helpers, so the model is built with the
// same tfjs instance that trains it. A plain object `{ models: [...] }` whose models import `@fer/models`
// and `@tensorflow/tfjs` from your project's node_modules works too.

/** @param {import('../../harness/src/project.ts').FerConfigHelpers} fer */
export default ({ tf, defineModel, scaleWidths }) => ({
  models: [
    defineModel({
      name: 'my-net',
      description: 'A small all-convolutional net: two conv-BN-ReLU-pool blocks, global average pooling, dropout, softmax.',
      paper: { cite: 'none' },
      inputs: { image: [48, 48, 1] },
      numClasses: 7,
      // Every tunable, with its default.
      defaults: { inputSize: 48, numClasses: 7, filters: [16, 32], dropout: 0.25 },
      // How it trains by default (unset keys: @fer/models RECIPE_DEFAULTS: batch 128, Adam, mean-image, hflip).
      recipe: { epochs: 10, learningRate: 1e-3 },
      // Small budgets (the reproduction's smoke budget) shrink the widths through this.
      scaleWidth: (c, f) => scaleWidths(c, ['filters'], f),
      build(c) {
        const image = tf.input({ shape: [c.inputSize, c.inputSize, 1], name: 'image' });
        let x = image;
        c.filters.forEach((filters, i) => {
          x = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, name: `conv${i + 1}` }).apply(x);
          x = tf.layers.batchNormalization({ name: `bn${i + 1}` }).apply(x);
          x = tf.layers.activation({ activation: 'relu', name: `relu${i + 1}` }).apply(x);
          x = tf.layers.maxPooling2d({ poolSize: 2, name: `pool${i + 1}` }).apply(x);
        });
        x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x);
        x = tf.layers.dropout({ rate: c.dropout, name: 'dropout' }).apply(x);
        const out = tf.layers.dense({ units: c.numClasses, activation: 'softmax', name: 'softmax' }).apply(x);
        return tf.model({ inputs: image, outputs: out, name: 'my_net' });
      },
    }),
  ],
});
