import * as tf from '@tensorflow/tfjs';
import { expectNoLeak } from '@fer/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateArrays, localStepper, trainingLogProbs } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

type Head = 'dense' | 'activation' | 'softmax-layer' | 'none';

/** A 2x2x1 image -> 3 classes; the dense bias favours class 2 by `gap`. */
function tinyModel(head: Head, gap: number): tf.LayersModel {
  const input = tf.input({ shape: [2, 2, 1] });
  const dense = tf.layers.dense({ units: 3, activation: head === 'dense' ? 'softmax' : 'linear', name: 'head_dense' });
  let y = dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
  if (head === 'activation') y = tf.layers.activation({ activation: 'softmax' }).apply(y) as tf.SymbolicTensor;
  if (head === 'softmax-layer') y = tf.layers.softmax().apply(y) as tf.SymbolicTensor;
  if (head === 'none') y = tf.layers.activation({ activation: 'sigmoid' }).apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  const init = [tf.tensor2d([[0.1, -0.2, 0.3], [0.2, 0.1, -0.1], [-0.3, 0.2, 0.1], [0.1, 0.1, 0.2]]), tf.tensor1d([0, 0, gap])];
  dense.setWeights(init);
  tf.dispose(init);
  return model;
}

describe('trainingLogProbs', () => {
  it.each(['dense', 'activation', 'softmax-layer'] as const)('equals log(softmax) for a %s softmax head, from the logits, and leaves the model as it was', async (head) => {
    const model = tinyModel(head, 2);
    const x = tf.randomNormal([5, 2, 2, 1], 0, 1, 'float32', 1);
    await expectNoLeak(tf, () => {
      const { logProbs, source } = trainingLogProbs(model, x);
      const expected = tf.tidy(() => tf.log(model.predict(x) as tf.Tensor));
      expect(source).toBe('logits');
      expect(Array.from(logProbs.dataSync())).toEqual(Array.from(expected.dataSync()).map((v) => expect.closeTo(v, 5)));
      // the softmax is back: predictions are probabilities again
      const sums = tf.tidy(() => (model.predict(x) as tf.Tensor).sum(1));
      expect(sums.dataSync().every((s) => Math.abs(s - 1) < 1e-5)).toBe(true);
      tf.dispose([logProbs, expected, sums]);
    });
    x.dispose();
    model.dispose();
  });

  it('falls back to the clipped log of the output for a head without a softmax', () => {
    const model = tinyModel('none', 0);
    const x = tf.zeros([2, 2, 2, 1]);
    const { logProbs, source } = trainingLogProbs(model, x);
    expect(source).toBe('clipped-probabilities');
    const expected = tf.tidy(() => tf.log(model.predict(x) as tf.Tensor));
    expect(logProbs.dataSync()[0]).toBeCloseTo(expected.dataSync()[0], 5);
    expected.dispose();
    tf.dispose([logProbs, x]);
    model.dispose();
  });

  it('keeps the gradient of a sample whose true class has a probability far under 1e-7 (clipping lost it)', async () => {
    // Every sample (all-zero pixels) predicts class 2 with p ~ 1 (logit gap 40: p(class 0) ~ 4e-18), labelled 0.
    // The cross-entropy gradient on the class-0 bias is p0 - 1 ~ -1, so one SGD step at lr 0.5 raises it by ~0.5.
    // With log(clip(p, 1e-7, 1)) the gradient was 0 and the bias stayed at 0: the network could not recover.
    const model = tinyModel('dense', 40);
    const stepper = await localStepper({ model, optimizer: { name: 'sgd', learningRate: 0.5 }, seed: 1 });
    const n = 8;
    const r = await stepper.step({ x: new Float32Array(n * 4), y: new Uint8Array(n), size: n }, 0.5);
    expect(r.loss).toBeCloseTo(40, 3); // -log p0 = 40 exactly, not the clip's 16.1
    const bias = model.getLayer('head_dense').getWeights()[1].dataSync();
    expect(bias[0]).toBeCloseTo(0.5, 4);
    expect(bias[2]).toBeCloseTo(40 - 0.5, 4);
    await stepper.dispose();
    model.dispose();
  });
});

describe('evaluateArrays (the validation loss)', () => {
  it('is the cross-entropy of the logits: a sample far under 1e-7 counts its full loss (about 40 here), not the clip (16.1)', async () => {
    const model = tinyModel('dense', 40);
    const set = { x: new Float32Array(2 * 4), y: Uint8Array.from([0, 2]), count: 2 };
    await expectNoLeak(tf, async () => {
      const r = await evaluateArrays(model, set);
      // sample 0: -log p0 = logsumexp(0, 0, 40) - 0 ~ 40; sample 1: ~ 2 * exp(-40) ~ 0
      expect(r.loss).toBeCloseTo(40 / 2, 3);
      expect(r.accuracy).toBe(0.5);
    });
    // a head without a softmax keeps the clipped formula
    const plain = tinyModel('none', 0);
    const r = await evaluateArrays(plain, set);
    const p = tf.tidy(() => (plain.predict(tf.zeros([1, 2, 2, 1])) as tf.Tensor).dataSync());
    expect(r.loss).toBeCloseTo((-Math.log(p[0]) - Math.log(p[2])) / 2, 4);
    model.dispose();
    plain.dispose();
  });
});
