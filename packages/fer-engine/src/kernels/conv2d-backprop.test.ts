import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectKernelClose, mulberry32, randomValues, type KernelCase } from '@fer/testing';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';

// Error bound: max |wasm - cpu| <= 1e-4 * max(1, max |cpu|) (float32 sums in a different order).
const REL = 1e-4;

interface ConvCase { B: number; H: number; W: number; Ci: number; Co: number; fh: number; fw: number; s: number; pad: 'same' | 'valid' | number[][] }

function randomCases(seed: number, n: number): ConvCase[] {
  const r = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const cases: ConvCase[] = [];
  for (let i = 0; i < n; i++) {
    const fh = pick([1, 2, 3, 5]);
    const fw = pick([1, 3, 4]);
    const H = fh + Math.floor(r() * 9);
    const W = fw + Math.floor(r() * 9);
    const pad = pick<ConvCase['pad']>(['same', 'valid', [[0, 0], [1, 0], [0, 2], [0, 0]]]);
    cases.push({ B: 1 + Math.floor(r() * 4), H, W, Ci: 1 + Math.floor(r() * 6), Co: 1 + Math.floor(r() * 7), fh, fw, s: pick([1, 2]), pad });
  }
  return cases;
}

function outShape(c: ConvCase): number[] {
  return tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.Ci], [c.fh, c.fw, c.Ci, c.Co], c.s, 1, c.pad as 'same', undefined, false, 'channelsLast').outShape;
}

const compare = (kc: KernelCase) => expectKernelClose(tf, kc, { backend: 'wasm', rel: REL });

async function setupWasm(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
}

describe('Conv2D gradients on wasm = cpu', () => {
  beforeAll(setupWasm);

  const cases = randomCases(7, 40);
  it.each(cases.map((c, i) => [i, c] as const))('case %i %j', async (i, c) => {
    const dyShape = outShape(c);
    const common = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const x = { shape: [c.B, c.H, c.W, c.Ci], values: randomValues(c.B * c.H * c.W * c.Ci, 11 + i) };
    const dy = { shape: dyShape, values: randomValues(dyShape.reduce((a, b) => a * b, 1), 23 + i) };
    const filter = { shape: [c.fh, c.fw, c.Ci, c.Co], values: randomValues(c.fh * c.fw * c.Ci * c.Co, 31 + i) };
    await compare({ name: 'Conv2DBackpropFilter', inputs: { x, dy }, attrs: { ...common, filterShape: filter.shape } });
    await compare({ name: 'Conv2DBackpropInput', inputs: { dy, filter }, attrs: { ...common, inputShape: x.shape } });
  });

  it('handles paper-like layer shapes (batch 2, fewer channels)', async () => {
    for (const [H, Ci, Co, f] of [[48, 1, 8, 3], [24, 16, 32, 5], [6, 64, 64, 3]] as const) {
      const B = 2;
      const x = { shape: [B, H, H, Ci], values: randomValues(B * H * H * Ci, H) };
      const dy = { shape: [B, H, H, Co], values: randomValues(B * H * H * Co, H + 1) };
      const filter = { shape: [f, f, Ci, Co], values: randomValues(f * f * Ci * Co, H + 2) };
      const common = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
      await compare({ name: 'Conv2DBackpropFilter', inputs: { x, dy }, attrs: { ...common, filterShape: filter.shape } });
      await compare({ name: 'Conv2DBackpropInput', inputs: { dy, filter }, attrs: { ...common, inputShape: x.shape } });
    }
  });
});

describe('Conv2D gradients on wasm: bad attributes', () => {
  beforeAll(setupWasm);
  it.each(['Conv2DBackpropFilter', 'Conv2DBackpropInput'])('%s with dataFormat NCHW throws E_WASM_DATA_FORMAT naming the kernel', async (name) => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 2]);
    const dy = tf.zeros([1, 4, 4, 3]);
    const filter = tf.zeros([3, 3, 2, 3]);
    const common = { strides: 1, pad: 'same', dataFormat: 'NCHW', dimRoundingMode: undefined };
    const call = name === 'Conv2DBackpropFilter'
      ? () => tf.engine().runKernel(name, { x, dy }, { ...common, filterShape: [3, 3, 2, 3] } as never)
      : () => tf.engine().runKernel(name, { dy, filter }, { ...common, inputShape: [1, 4, 4, 2] } as never);
    expect(call).toThrow(expect.objectContaining({ code: 'E_WASM_DATA_FORMAT', message: expect.stringContaining(`${name} on wasm got dataFormat "NCHW"`) }));
    tf.dispose([x, dy, filter]);
  });
});
