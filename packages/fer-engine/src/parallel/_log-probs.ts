import * as tf from '@tensorflow/tfjs';

// NOTE: kept identical to @fer/models' src/_log-probs.ts (the two packages do not depend on each
// other); packages/fer-engine/src/parallel/log-probs-parity.test.ts fails if they diverge.

/** How {@link trainingLogProbs} obtained the log-probabilities. */
export type LogProbsSource = 'logits' | 'clipped-probabilities';

/**
 * Runs `model` in training mode and returns the log-probabilities of its classes, `[n, classes]` (the caller
 * owns the tensor; intermediates are disposed, and the ops are recorded for gradients as usual).
 *
 * When the model's last layer ends in a softmax (a Dense/Conv layer with `activation: 'softmax'`, an
 * `Activation('softmax')` layer or a `Softmax` layer), the softmax is skipped for this call and the
 * log-probabilities are `logSoftmax(logits)`: the cross-entropy gradient is then `p - y` for every sample,
 * however wrong the network is. Otherwise they are `log(clip(p, 1e-7, 1))` of the model's output.
 *
 * NOTE: why not the clipped softmax output for the paper's models: `clipByValue` has a zero gradient outside
 * its range, so every sample whose true class gets a probability under 1e-7 stops contributing gradient. At
 * large steps the paper-shallow FC layer (36,864 inputs) drives its logits far apart in the first steps, most
 * samples saturate, and training sticks at the majority class with a loss near 12-16; PyTorch's
 * `CrossEntropyLoss` (log-softmax of the logits) keeps the gradient and recovers. Same forward values in the
 * normal range; different only where the clipped version had lost the gradient.
 */
export function trainingLogProbs(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[]): { logProbs: tf.Tensor; source: LogProbsSource } {
  return logProbsOf(model, inputs, true);
}

/**
 * As {@link trainingLogProbs}, in inference mode (dropout off, batch norm on its moving statistics): the
 * validation loss is then the same cross-entropy as the training loss, not one of clipped probabilities.
 */
export function evaluationLogProbs(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[]): { logProbs: tf.Tensor; source: LogProbsSource } {
  return logProbsOf(model, inputs, false);
}

function logProbsOf(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[], training: boolean): { logProbs: tf.Tensor; source: LogProbsSource } {
  const head = model.layers[model.layers.length - 1] as unknown as HeadLayer;
  const restore = skipSoftmax(head);
  if (!restore) {
    const logProbs = tf.tidy(() => tf.log(tf.clipByValue(model.apply(inputs, { training }) as tf.Tensor, 1e-7, 1)));
    return { logProbs, source: 'clipped-probabilities' };
  }
  try {
    return { logProbs: tf.tidy(() => tf.logSoftmax(model.apply(inputs, { training }) as tf.Tensor, -1)), source: 'logits' };
  } finally {
    restore();
  }
}

// --- Internal helpers ---

interface HeadLayer {
  getClassName(): string;
  activation?: { getClassName(): string; apply(x: tf.Tensor): tf.Tensor };
  call?: unknown;
}

/** An activation that returns its input, with a class name that the Dense layer does not fuse. */
const IDENTITY = { getClassName: () => 'fer-identity', apply: (x: tf.Tensor) => x };

/** Makes `head` skip its softmax and returns the function that undoes it, or null when it has none. */
function skipSoftmax(head: HeadLayer): (() => void) | null {
  if (head.activation && head.activation.getClassName() === 'softmax') {
    const saved = head.activation;
    head.activation = IDENTITY;
    return () => {
      head.activation = saved;
    };
  }
  if (head.getClassName() === 'Softmax') {
    // NOTE: an own property shadows Softmax.prototype.call for this one apply(); deleting it restores it.
    (head as { call: unknown }).call = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);
    return () => {
      delete (head as { call?: unknown }).call;
    };
  }
  return null;
}
