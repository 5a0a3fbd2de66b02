import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, it } from 'vitest';
import { expectAllClose, expectKernelClose, mulberry32, randomValues, runKernelOn, type KernelCase } from '@fer/testing';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';

// Error bound: max |wasm - cpu| <= 1e-4 * max(1, max |cpu|) (float32 sums in a different order).
const REL = 1e-4;

const compare = (kc: KernelCase) => expectKernelClose(tf, kc, { backend: 'wasm', rel: REL });

async function setupWasm(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
}

const t = (shape: number[], seed: number) => ({ shape, values: randomValues(shape.reduce((a, b) => a * b, 1), seed) });

describe('BatchMatMul / _FusedMatMul on wasm = cpu', () => {
  beforeAll(setupWasm);
  const r = mulberry32(5);
  const n = () => 1 + Math.floor(r() * 40);
  const cases = Array.from({ length: 24 }, (_, i) => ({ i, M: n(), K: n() * (i % 3 === 0 ? 20 : 1), N: n(), tA: r() < 0.5, tB: r() < 0.5, batch: i % 5 === 4 ? 3 : 1, rank3: i % 2 === 0 }));
  it.each(cases)('%j', async ({ i, M, K, N, tA, tB, batch, rank3 }) => {
    const lead = rank3 || batch > 1 ? [batch] : [];
    const a = t([...lead, ...(tA ? [K, M] : [M, K])], 100 + i);
    const b = t([...lead, ...(tB ? [N, K] : [K, N])], 200 + i);
    await compare({ name: 'BatchMatMul', inputs: { a, b }, attrs: { transposeA: tA, transposeB: tB } });
    if (batch === 1) {
      const bias = t([N], 300 + i);
      for (const activation of ['linear', 'relu']) {
        await compare({ name: '_FusedMatMul', inputs: { a, b, bias }, attrs: { transposeA: tA, transposeB: tB, activation } });
      }
    }
  });
});

describe('BatchMatMul with a reused right operand (inference weights) on wasm = cpu', () => {
  beforeAll(setupWasm);
  it('gives the same product on the first and later calls', async () => {
    const a = t([5, 300], 1000);
    const b = t([300, 40], 1001);
    const ref = await runKernelOn(tf, 'cpu', { name: 'BatchMatMul', inputs: { a, b }, attrs: { transposeA: false, transposeB: false } });
    await tf.setBackend('wasm');
    const at = tf.tensor(a.values, a.shape);
    const bt = tf.tensor(b.values, b.shape);
    for (let i = 0; i < 3; i++) {
      const p = tf.matMul(at as tf.Tensor2D, bt as tf.Tensor2D);
      expectAllClose((await p.data()) as Float32Array, ref.values, `call ${i}`, REL);
      p.dispose();
    }
    tf.dispose([at, bt]);
  });
});

describe('Tile, Sum, Mean, Identity on wasm = cpu', () => {
  beforeAll(setupWasm);
  const shapes = [[2, 3, 4, 5], [1, 1, 1, 7], [3, 1, 2, 1], [6, 5], [4]];
  it.each(shapes.map((s, i) => [i, s] as const))('shape %i %j', async (i, shape) => {
    const x = t(shape, 400 + i);
    const reps = shape.map((_, d) => 1 + ((d + i) % 3));
    await compare({ name: 'Tile', inputs: { x }, attrs: { reps } });
    for (let k = 1; k < shape.length; k++) {
      const axis = Array.from({ length: k }, (_, d) => d);
      for (const keepDims of [false, true]) {
        await compare({ name: 'Sum', inputs: { x }, attrs: { axis, keepDims } });
        await compare({ name: 'Mean', inputs: { x }, attrs: { axis, keepDims } });
      }
    }
    // Not leading axes: the backend's own kernels (still = cpu).
    await compare({ name: 'Sum', inputs: { x }, attrs: { axis: [shape.length - 1], keepDims: false } });
    await compare({ name: 'Identity', inputs: { x }, attrs: {} });
  });
});

describe('Depthwise conv gradients on wasm = cpu', () => {
  beforeAll(setupWasm);
  const r = mulberry32(9);
  const cases = Array.from({ length: 12 }, (_, i) => {
    const fh = 1 + Math.floor(r() * 3);
    const s = i % 3 === 2 ? 1 : 1 + (i % 2);
    // NOTE: dilation 1 only: tfjs's depthwise gradient rejects dilation > 1, and cpu's kernels ignore it.
    const d = 1;
    return { i, B: 1 + Math.floor(r() * 3), H: 3 + Math.floor(r() * 7), C: 1 + Math.floor(r() * 4), M: 1 + Math.floor(r() * 2), fh, s, d, pad: i % 2 ? 'same' : 'valid' };
  });
  it.each(cases)('%j', async ({ i, B, H, C, M, fh, s, d, pad }) => {
    const { backend_util } = await import('@tensorflow/tfjs');
    const info = backend_util.computeConv2DInfo([B, H, H, C], [fh, fh, C, M], s, d, pad as 'same', undefined, true, 'channelsLast');
    const x = t([B, H, H, C], 500 + i);
    const dy = t(info.outShape, 600 + i);
    const filter = t([fh, fh, C, M], 700 + i);
    const attrs = { strides: [s, s], dilations: [d, d], pad, dimRoundingMode: undefined };
    await compare({ name: 'DepthwiseConv2dNativeBackpropFilter', inputs: { x, dy }, attrs: { ...attrs, filterShape: filter.shape } });
    await compare({ name: 'DepthwiseConv2dNativeBackpropInput', inputs: { dy, filter }, attrs: { ...attrs, inputShape: x.shape } });
  });
});

describe('MaxPoolGrad on wasm = cpu', () => {
  beforeAll(setupWasm);
  const r = mulberry32(13);
  const cases = Array.from({ length: 12 }, (_, i) => ({ i, B: 1 + Math.floor(r() * 3), H: 2 + Math.floor(r() * 9), W: 2 + Math.floor(r() * 9), C: 1 + Math.floor(r() * 5), f: 1 + Math.floor(r() * 3), s: 1 + (i % 2), pad: i % 3 === 0 ? 'same' : 'valid' }));
  it.each(cases)('%j', async ({ i, B, H, W, C, f, s, pad }) => {
    const { backend_util } = await import('@tensorflow/tfjs');
    const fh = Math.min(f, H);
    const fw = Math.min(f, W);
    const info = backend_util.computePool2DInfo([B, H, W, C], [fh, fw], s, 1, pad as 'same');
    const input = t([B, H, W, C], 800 + i);
    // Ties: a coarse grid of values makes equal maxima likely, to check the first-max rule.
    if (i % 4 === 1) for (let k = 0; k < input.values.length; k++) input.values[k] = Math.round(input.values[k]! * 2);
    const dy = t(info.outShape, 900 + i);
    const output = await runKernelOn(tf, 'cpu', { name: 'MaxPool', inputs: { x: input }, attrs: { filterSize: [fh, fw], strides: [s, s], pad } });
    await compare({ name: 'MaxPoolGrad', inputs: { dy, input, output }, attrs: { filterSize: [fh, fw], strides: [s, s], pad } });
  });
});
