import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllClose, expectNoLeak, randomValues } from '@fer/testing';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';

// A small conv net touching every registered kernel's gradient path: conv (same and valid, stride 1 and 2),
// batch norm from moments, relu, max pool, separable conv (depthwise), dense, softmax cross-entropy.
const SHAPES: Record<string, number[]> = {
  w1: [3, 3, 1, 6], b1: [6], gamma: [6], beta: [6], w2: [3, 3, 6, 8], dw: [3, 3, 8, 1], pw: [1, 1, 8, 8], wd: [2 * 2 * 8, 7], bd: [7],
};

function makeVars(): Record<string, tf.Variable> {
  const vars: Record<string, tf.Variable> = {};
  let seed = 1;
  for (const [name, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = randomValues(n, seed++).map((x) => x * 0.5 + (name === 'gamma' ? 1 : 0));
    vars[name] = tf.variable(tf.tensor(v, shape), true, name);
  }
  return vars;
}

function loss(v: Record<string, tf.Variable>, x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar {
  let h = tf.conv2d(x, v['w1'] as tf.Tensor4D, 1, 'same').add(v['b1']!) as tf.Tensor4D;
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  h = tf.batchNorm(h, mean, variance, v['beta'] as tf.Tensor1D, v['gamma'] as tf.Tensor1D, 1e-3) as tf.Tensor4D;
  h = tf.relu(h);
  h = tf.maxPool(h, 2, 2, 'valid'); // 6x6
  h = tf.relu(tf.conv2d(h, v['w2'] as tf.Tensor4D, 2, 'same')); // 3x3
  h = tf.separableConv2d(h, v['dw'] as tf.Tensor4D, v['pw'] as tf.Tensor4D, 1, 'valid'); // 3x3 valid -> 1x1
  h = tf.pad(h, [[0, 0], [0, 1], [0, 1], [0, 0]]); // 2x2
  const logits = tf.matMul(h.reshape([x.shape[0], -1]), v['wd'] as tf.Tensor2D).add(v['bd']!);
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

async function gradsOn(backend: 'cpu' | 'wasm'): Promise<Record<string, Float32Array>> {
  await tf.setBackend(backend);
  const vars = makeVars();
  const x = tf.tensor4d(randomValues(4 * 12 * 12, 99), [4, 12, 12, 1]);
  const y = tf.oneHot(tf.tensor1d([0, 3, 6, 2], 'int32'), 7).toFloat() as tf.Tensor2D;
  const { value, grads } = tf.variableGrads(() => loss(vars, x, y));
  const out: Record<string, Float32Array> = { loss: (await value.data()) as Float32Array };
  for (const [k, g] of Object.entries(grads)) out[k] = (await g.data()) as Float32Array;
  tf.dispose([value, x, y, ...Object.values(grads), ...Object.values(vars)]);
  return out;
}

describe('a training step on wasm', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('has the gradients cpu has (max abs error <= 1e-4 * max(1, |grad|))', async () => {
    const ref = await gradsOn('cpu');
    const got = await gradsOn('wasm');
    expect(Object.keys(got).sort()).toEqual(Object.keys(ref).sort());
    for (const k of Object.keys(ref)) {
      expectAllClose(got[k]!, ref[k]!, `gradient of ${k}`, 1e-4);
    }
  });

  it('leaks no tensors and grows no wasm memory over 100 Adam steps', async () => {
    await tf.setBackend('wasm');
    const vars = makeVars();
    const x = tf.tensor4d(randomValues(4 * 12 * 12, 98), [4, 12, 12, 1]);
    const y = tf.oneHot(tf.tensor1d([1, 2, 4, 5], 'int32'), 7).toFloat() as tf.Tensor2D;
    const opt = tf.train.adam(1e-3);
    const step = (): number => {
      const cost = opt.minimize(() => loss(vars, x, y), true, Object.values(vars))!;
      const c = cost.dataSync()[0]!;
      cost.dispose();
      return c;
    };
    for (let i = 0; i < 5; i++) step(); // warm-up: optimizer slots, XNNPACK operators
    const heap = (tf.backend() as unknown as { wasm: { HEAP8: Int8Array } }).wasm.HEAP8;
    const bytesBefore = tf.memory().numBytes;
    const heapBefore = heap.length;
    const first = step();
    let last = first;
    await expectNoLeak(tf, () => {
      for (let i = 0; i < 100; i++) last = step();
    });
    const heapAfter = (tf.backend() as unknown as { wasm: { HEAP8: Int8Array } }).wasm.HEAP8.length;
    expect(tf.memory().numBytes).toBe(bytesBefore);
    expect(heapAfter).toBe(heapBefore);
    expect(last).toBeLessThan(first); // it trains
    opt.dispose();
    tf.dispose([x, y, ...Object.values(vars)]);
  });

  it('registerWasmTrainingKernels is idempotent', async () => {
    const a = registerWasmTrainingKernels();
    const b = registerWasmTrainingKernels();
    expect(b.registered).toEqual(a.registered);
    expect(a.registered).toContain('Conv2DBackpropFilter');
  });
});
