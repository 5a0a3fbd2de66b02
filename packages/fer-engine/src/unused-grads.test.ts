// The skip of unused input gradients (src/_unused-grads.ts): on cpu and on wasm (with the native kernels when
// they load, where the backward pass also releases tensors as it goes), a training step of small paper models
// gives bit-identical loss and gradients with and without it, the first conv layer's Conv2DBackpropInput (the
// gradient of the image) no longer runs while every other layer's does, gradients that are asked for (the
// input's, or one through an input made from a variable) are still computed, and no tensor is left behind.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { builtinModels, createRegistry } from '@fer/models';
import { expectBitIdentical, expectNoLeak, gradStep, randomValues, useFastCpuFilterGradient } from '@fer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installUnusedGradientSkip, unusedGradients } from './_unused-grads.js';
import { registerNativeKernels } from './native-kernels.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

registerWasmTrainingKernels();
const native = registerNativeKernels({ threads: 2 });
installUnusedGradientSkip();

const models = createRegistry(builtinModels);
const BACKENDS = [
  { backend: 'cpu', label: 'cpu' },
  { backend: 'wasm', label: native.active ? 'wasm + native' : `wasm (native kernels not loaded: ${native.why})` },
];
let fastFilterGrad: ReturnType<typeof useFastCpuFilterGradient>;

beforeAll(() => {
  fastFilterGrad = useFastCpuFilterGradient(tf); // tfjs-backend-cpu's own is a slow scalar loop
});

afterAll(() => {
  fastFilterGrad.restore();
  unusedGradients.enabled = true;
});

/** Records the calls that reach the registered kernel `name` of `backend` (the shape each is for). */
async function withKernelCalls<T>(backend: string, names: string[], fn: () => Promise<T>): Promise<{ out: T; calls: Record<string, string[]> }> {
  const calls: Record<string, string[]> = {};
  const configs = names.map((name) => {
    const config = tf.getKernel(name, backend);
    if (!config) throw new Error(`no kernel ${name} on ${backend}`);
    calls[name] = [];
    tf.unregisterKernel(name, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const a = args.attrs as Record<string, unknown>;
        const i = args.inputs as Record<string, tf.TensorInfo>;
        calls[name]!.push(String(a['inputShape'] ?? a['filterShape'] ?? `${i['a']?.shape}|${i['b']?.shape}`));
        return config.kernelFunc(args);
      },
    });
    return config;
  });
  try {
    return { out: await fn(), calls };
  } finally {
    for (const config of configs) {
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel(config);
    }
  }
}

/** Runs `fn` with the skip off, then on; the kernel calls each time and the number of calls skipped. */
async function offAndOn<T>(backend: string, names: string[], fn: () => Promise<T>) {
  await tf.setBackend(backend);
  unusedGradients.enabled = false;
  const off = await withKernelCalls(backend, names, () => expectNoLeak(tf, fn));
  unusedGradients.enabled = true;
  const before = unusedGradients.skipped;
  const on = await withKernelCalls(backend, names, () => expectNoLeak(tf, fn));
  return { off, on, skipped: unusedGradients.skipped - before };
}

const read = async (ts: tf.Tensor[]): Promise<Float32Array[]> => Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as Float32Array)));

/** A fused conv with a bias (what tf.layers Conv2D runs in training): its input, filter, bias and a loss of it. */
function convCase() {
  const x = tf.tensor4d(randomValues(2 * 6 * 6 * 1, 9), [2, 6, 6, 1]);
  const filter = tf.tensor4d(randomValues(3 * 3 * 1 * 4, 10), [3, 3, 1, 4]);
  const bias = tf.tensor1d(randomValues(4, 11));
  const conv = (a: tf.Tensor, f: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias, strides: 1, pad: 'same' })));
  return { x, filter, bias, conv };
}

const without = (list: string[], item: string): string[] => {
  const i = list.indexOf(item);
  return i < 0 ? list : [...list.slice(0, i), ...list.slice(i + 1)];
};

describe.each(BACKENDS)('unused input gradients on $label', ({ backend }) => {
  it.each([
    { name: 'paper-shallow', config: { inputSize: 16, filters: [2, 3], denseUnits: 4 }, convs: 2 },
    { name: 'paper-deep', config: { inputSize: 16, filters: [2, 2, 3, 3], denseUnits: [4, 5] }, convs: 4 },
  ])('$name: a training step gives the same bits, without the first conv layer\'s input gradient', async ({ name, config, convs }) => {
    const batch = 2;
    const xv = randomValues(batch * 16 * 16, 5);
    const step = async () => {
      const m = models.create(name, config, { seed: 3 });
      const out = await gradStep(tf, m, () => tf.tensor4d(xv, [batch, 16, 16, 1]), [1, 4], 7);
      m.dispose();
      return out;
    };
    const { off, on, skipped } = await offAndOn(backend, ['Conv2DBackpropInput', 'Conv2DBackpropFilter'], step);
    expect(on.out.loss).toBe(off.out.loss);
    expect(on.out.grads.length).toBe(off.out.grads.length);
    on.out.grads.forEach((g, i) => expectBitIdentical(g, off.out.grads[i]!, `gradient of ${off.out.names[i]}`));
    const image = `${batch},16,16,1`;
    expect(off.calls['Conv2DBackpropInput']).toContain(image); // tfjs computes the image's gradient
    expect(off.calls['Conv2DBackpropInput']).toHaveLength(convs);
    expect(on.calls['Conv2DBackpropInput'], 'every conv layer but the first').toEqual(without(off.calls['Conv2DBackpropInput']!, image));
    expect(on.calls['Conv2DBackpropFilter'], 'every filter gradient').toEqual(off.calls['Conv2DBackpropFilter']);
    expect(skipped).toBe(1);
  });

  it('a frozen conv layer: its filter gradient is not computed, its input gradient is', async () => {
    const xv = randomValues(2 * 16 * 16, 6);
    let frozen = '';
    const step = async () => {
      const m = models.create('paper-shallow', { inputSize: 16, filters: [2, 3], denseUnits: 4 }, { seed: 3 });
      const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
      convs[1]!.trainable = false;
      frozen = String((convs[1]!.getWeights()[0] as tf.Tensor).shape);
      const out = await gradStep(tf, m, () => tf.tensor4d(xv, [2, 16, 16, 1]), [0, 2], 7);
      m.dispose();
      return out;
    };
    const { off, on, skipped } = await offAndOn(backend, ['Conv2DBackpropInput', 'Conv2DBackpropFilter'], step);
    on.out.grads.forEach((g, i) => expectBitIdentical(g, off.out.grads[i]!, `gradient of ${off.out.names[i]}`));
    expect(on.calls['Conv2DBackpropFilter']).toEqual(without(off.calls['Conv2DBackpropFilter']!, frozen));
    expect(on.calls['Conv2DBackpropInput']).toEqual(without(off.calls['Conv2DBackpropInput']!, '2,16,16,1'));
    expect(skipped).toBe(2);
  });

  it('a Dense layer on the raw input: the BatchMatMul of its input gradient is not run', async () => {
    const xv = randomValues(4 * 12, 8);
    const step = async () => {
      const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [12], units: 8, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })] });
      const out = await gradStep(tf, m, () => tf.tensor2d(xv, [4, 12]), [0, 1, 2, 1]);
      m.dispose();
      return out;
    };
    const { off, on, skipped } = await offAndOn(backend, ['BatchMatMul'], step);
    expect(on.out.loss).toBe(off.out.loss);
    on.out.grads.forEach((g, i) => expectBitIdentical(g, off.out.grads[i]!, `gradient of ${off.out.names[i]}`));
    expect(on.calls['BatchMatMul']).toHaveLength(off.calls['BatchMatMul']!.length - 1);
    expect(skipped).toBe(1);
  });

  it('computes the gradients that are asked for: of the input, and through an input made from a variable', async () => {
    const { x, filter, bias, conv } = convCase();
    // tf.grads w.r.t. the input and the filter: both computed.
    const both = await offAndOn(backend, ['Conv2DBackpropInput'], async () => {
      const g = tf.grads(conv)([x, filter]);
      const out = await read(g);
      tf.dispose(g);
      return out;
    });
    expect(both.skipped).toBe(0);
    expect(both.on.calls['Conv2DBackpropInput']).toEqual(['2,6,6,1']);
    both.on.out.forEach((g, i) => expectBitIdentical(g, both.off.out[i]!, `gradient ${i}`));
    // A model whose input is made from a variable: the first conv layer's input gradient is on the path.
    const v = tf.variable(tf.scalar(1.5), true, 'unused-grads-input-scale');
    const xv = randomValues(2 * 16 * 16, 12);
    const scaled = await offAndOn(backend, ['Conv2DBackpropInput'], async () => {
      const m = models.create('paper-shallow', { inputSize: 16, filters: [2, 3], denseUnits: 4 }, { seed: 3 });
      const img = tf.tensor4d(xv, [2, 16, 16, 1]);
      const vars = [...m.trainableWeights.map((w) => w.read() as tf.Variable), v];
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(m.apply(tf.mul(img, v), { training: false }) as tf.Tensor)) as tf.Scalar, vars);
      const out = await read(vars.map((w) => grads[w.name]!));
      tf.dispose([value, img, ...Object.values(grads)]);
      m.dispose();
      return out;
    });
    expect(scaled.skipped).toBe(0);
    expect(scaled.on.calls['Conv2DBackpropInput']).toContain('2,16,16,1');
    expect(scaled.on.calls['Conv2DBackpropInput']).toEqual(scaled.off.calls['Conv2DBackpropInput']);
    scaled.on.out.forEach((g, i) => expectBitIdentical(g, scaled.off.out[i]!, `gradient ${i}`));
    expect(scaled.on.out.at(-1)![0]).not.toBe(0); // the input scale's gradient
    v.dispose();
    tf.dispose([x, filter, bias]);
  });

  it('tf.grad w.r.t. the input alone: the input\'s gradient computed, the filter\'s not', async () => {
    const { x, filter, bias, conv } = convCase();
    const input = await offAndOn(backend, ['Conv2DBackpropInput', 'Conv2DBackpropFilter'], async () => {
      const g = tf.grad((a: tf.Tensor) => conv(a, filter))(x);
      const out = await read([g]);
      g.dispose();
      return out;
    });
    expect(input.skipped).toBe(1);
    expect(input.on.calls['Conv2DBackpropInput']).toEqual(['2,6,6,1']);
    expect(input.on.calls['Conv2DBackpropFilter']).toEqual([]);
    expectBitIdentical(input.on.out[0]!, input.off.out[0]!, 'gradient of the input');
    tf.dispose([x, filter, bias]);
  });
});
