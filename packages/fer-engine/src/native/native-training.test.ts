// Training with the native kernels on 'wasm' against tfjs-backend-cpu: a full training step of the paper
// models (loss and every gradient, dropout and batch norm in training mode), the fused optimizer updates
// and the native dropout mask (bit-identical to tfjs'), the Sum/Mean gradients (bit-identical), the fused
// FusedBatchNorm gradient (1e-4), and no tensor, byte or wasm-heap growth over 30 Adam steps. Skipped,
// saying why, when the addon does not load (native-kernels.test.ts fails on that under CI or
// FER_NATIVE_REQUIRED=1).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { builtinModels, createRegistry } from '@fer/models';
import {
  countCalls, expectAllClose, expectBitIdentical, expectNoLeak, expectNormClose, gradStep, mulberry32, randomValues, readWeights, rootMeanSquare, setWeights,
  useFastCpuFilterGradient,
} from '@fer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WasmBackendLike } from '../kernels/_wasm.js';
import { describeNativeKernels, registerNativeKernels } from '../native-kernels.js';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';
import { loadNative } from './_addon.js';

registerWasmTrainingKernels();
const status = registerNativeKernels({ threads: 2 });
const skipped = status.active ? '' : ` (SKIPPED: native kernels not loaded: ${status.why})`;

// Counts calls into the addon, per function (the kernels look the functions up on the addon object per call).
const load = loadNative();
const calls = load.ok ? countCalls(load.addon) : new Map<string, number>();
const callCount = (fn: string): number => calls.get(fn) ?? 0;
/** Dropout masks drawn natively: stored (dropoutMask) or applied on the fly (dropoutApply, forward and backward). */
const masksDrawn = (): number => callCount('dropoutMask') + callCount('dropoutApply');

// NOTE: tfjs-backend-cpu's Conv2DBackpropFilter is a scalar loop (TensorBuffer.get per term): a paper-model
// step takes tens of seconds with it. The cpu reference gets the same sum as one forward convolution of the
// cpu backend instead (as webgpu.test.ts does; checked against the original kernel below).
let fastFilterGrad: ReturnType<typeof useFastCpuFilterGradient>;
const realRandom = Math.random;

beforeAll(() => {
  fastFilterGrad = useFastCpuFilterGradient(tf);
});

afterAll(() => {
  Math.random = realRandom;
  fastFilterGrad.restore();
});

// The paper models of @fer/models, at a smaller input size.
const models = createRegistry(builtinModels);

describe(`the cpu reference${skipped}`, () => {
  it.skipIf(!status.active)('computes Conv2DBackpropFilter (stride 1, same) as tfjs-backend-cpu does', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor4d(randomValues(2 * 7 * 6 * 3, 1), [2, 7, 6, 3]);
    const dy = tf.tensor4d(randomValues(2 * 7 * 6 * 5, 2), [2, 7, 6, 5]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 3, 5] };
    const backend = tf.backend();
    const want = fastFilterGrad.original({ inputs: { x, dy }, backend, attrs: attrs as never }) as tf.TensorInfo;
    const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
    const w = backend.readSync(want.dataId) as Float32Array;
    const g = (await got.data()) as Float32Array;
    for (let i = 0; i < w.length; i++) expect(Math.abs(g[i] - w[i])).toBeLessThanOrEqual(1e-5);
    backend.disposeData(want.dataId);
    tf.dispose([x, dy, got]);
  });
});

describe.skipIf(!status.active)(`paper models: a training step on wasm + native = cpu${skipped}`, () => {
  it.each([
    { name: 'paper-shallow', size: 48, batch: 2, masks: 3, bns: 2 },
    // NOTE: 4 max-pools: 16 -> 1. Batch 4, not 2: batch norm over 2 samples maps each dense feature to about
    // +-1 and its gradient nearly cancels, so the conv gradients are float noise amplified (~5e-3 relative
    // between cpu and plain WASM too); at batch 4 every backend agrees to ~1e-5.
    { name: 'paper-deep', size: 16, batch: 4, masks: 6, bns: 6 },
  ])('$name ($size x $size, batch $batch): same loss and every gradient, dropout and batch norm in training mode', async ({ name, size, batch, masks, bns }) => {
    const build = (): tf.LayersModel => models.create(name, { inputSize: size }, { seed: 3 });
    const xv = randomValues(batch * size * size, 77);
    const inputs = (): tf.Tensor => tf.tensor4d(xv, [batch, size, size, 1]);
    const labels = Array.from({ length: batch }, (_, i) => (i * 3) % 7);

    await tf.setBackend('cpu');
    const ref = build();
    const weights = await readWeights(ref);
    const cpu = await gradStep(tf, ref, inputs, labels, 5);
    ref.dispose();

    await tf.setBackend('wasm');
    const before = { conv: callCount('convBackwardWeights'), mask: masksDrawn(), bn: callCount('batchNormTrain'), bnGrad: callCount('batchNormTrainGrad') };
    const got = await expectNoLeak(tf, async () => {
      const m = build();
      setWeights(tf, m, weights);
      const out = await gradStep(tf, m, inputs, labels, 5);
      // The same seeded step again gives the same bits (dropout masks from the seed, blocked sums): what a
      // bit-exact resume from a checkpoint (weights, optimizer and RNG state) relies on.
      const again = await gradStep(tf, m, inputs, labels, 5);
      expect(again.loss).toBe(out.loss);
      again.grads.forEach((g, i) => expectBitIdentical(g, out.grads[i]!, `repeated step: gradient of ${out.names[i]}`));
      m.dispose();
      return out;
    });
    expect(callCount('convBackwardWeights')).toBeGreaterThan(before.conv); // the native kernels did the work
    // NOTE: with dropoutApply each mask is drawn twice (forward, and again for the gradient), never stored.
    expect(masksDrawn() - before.mask, 'native dropout masks (two steps)').toBe(2 * (load.ok && load.addon.dropoutApply ? 2 * masks : masks));
    expect(callCount('batchNormTrain') - before.bn, 'fused training batch norms (two steps)').toBe(2 * bns);
    expect(callCount('batchNormTrainGrad') - before.bnGrad, 'their gradients').toBe(2 * bns);

    expect(Number.isFinite(cpu.loss)).toBe(true);
    expect(Math.abs(got.loss - cpu.loss), `loss: native ${got.loss}, cpu ${cpu.loss}`).toBeLessThanOrEqual(1e-4 * Math.abs(cpu.loss));
    expect(got.grads.length).toBe(cpu.grads.length);
    const rms = rootMeanSquare(cpu.grads);
    // ||g_native - g_cpu||_2 <= 1e-3 * (||g_cpu||_2 + rms * sqrt(n)): the second term covers the conv biases
    // that feed batch norm, whose true gradient is 0 (float noise on both).
    cpu.grads.forEach((g, i) => expectNormClose(got.grads[i], g, `gradient of ${cpu.names[i]}`, { rtol: 1e-3, rms }));
  });
});

// --- Batch norm in training ---

describe.skipIf(!status.active)(`BatchNormalization layer in training on wasm + native: fused moments, normalize and gradient${skipped}`, () => {
  const cases = [
    { shape: [4, 6, 5, 3], seed: 1 },
    { shape: [8, 16], seed: 2 },
    { shape: [3, 40, 40, 70], seed: 3 }, // 336,000 values: the parallel path
  ];

  /** y, the moving mean and variance after one training call, and d(sum(y * w))/d(x, gamma, beta). */
  async function run(backend: 'cpu' | 'wasm', shape: number[], seed: number) {
    await tf.setBackend(backend);
    const C = shape[shape.length - 1]!;
    const n = shape.reduce((a, b) => a * b, 1);
    const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-3 });
    layer.build(shape);
    const init = [
      tf.tensor1d(randomValues(C, seed + 10).map((v) => 1 + 0.5 * v)), tf.tensor1d(randomValues(C, seed + 11)),
      tf.tensor1d(randomValues(C, seed + 12)), tf.tensor1d(randomValues(C, seed + 13).map((v) => 1 + 0.5 * Math.abs(v))),
    ];
    layer.setWeights(init);
    tf.dispose(init);
    const x0 = tf.tensor(randomValues(n, seed).map((v, i) => 3 * v + (i % C)), shape);
    const x = tf.variable(x0);
    x0.dispose();
    const w = tf.tensor(randomValues(n, seed + 1), shape);
    let y: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(x, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(y, w)) as tf.Scalar;
    }, [x, ...layer.trainableWeights.map((v) => v.read() as tf.Variable)]);
    const out = {
      y: Float32Array.from(await y!.data()),
      moving: await Promise.all(layer.getWeights().slice(2).map(async (t) => Float32Array.from(await t.data()))),
      grads: await Promise.all(Object.values(grads).map(async (g) => Float32Array.from(await g.data()))),
    };
    // The chain it replaces (tfjs' moments and batchNorm, on the same backend) for a bit-for-bit check of y.
    const chain = tf.tidy(() => {
      const { mean, variance } = tf.moments(x, shape.map((_, i) => i).slice(0, -1));
      const [gamma, beta] = layer.trainableWeights.map((v) => v.read());
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
    });
    const chained = Float32Array.from(await chain.data());
    tf.dispose([x, w, y!, value, chain, ...Object.values(grads)]);
    for (const v of layer.weights) v.dispose(); // NOTE: layer.dispose() refuses a layer applied to tensors only
    return { ...out, chained };
  }

  it.each(cases)('$shape: = cpu (y, moving stats 1e-4, gradients 1e-3), y bit for bit = the native moments chain', async ({ shape, seed }) => {
    const ref = await run('cpu', shape, seed);
    const before = { f: callCount('batchNormTrain'), g: callCount('batchNormTrainGrad') };
    const got = await expectNoLeak(tf, () => run('wasm', shape, seed));
    expect([callCount('batchNormTrain') - before.f, callCount('batchNormTrainGrad') - before.g]).toEqual([1, 1]);
    expectBitIdentical(got.y, got.chained, 'y: fused vs the moments + FusedBatchNorm chain');
    expectAllClose(got.y, ref.y, 'y', 1e-4);
    got.moving.forEach((m, i) => expectAllClose(m, ref.moving[i]!, ['moving mean', 'moving variance'][i]!, 1e-4));
    expect(got.grads.length).toBe(3);
    got.grads.forEach((g, i) => expectNormClose(g, ref.grads[i]!, ['dx', 'dgamma', 'dbeta'][i]!, { rtol: 1e-3 }));
  });

  it('keeps tfjs\' path when not training or over another axis (no fused call)', async () => {
    await tf.setBackend('wasm');
    const before = callCount('batchNormTrain');
    await expectNoLeak(tf, async () => {
      const x = tf.tensor(randomValues(2 * 3 * 4 * 5, 9), [2, 3, 4, 5]);
      const other = tf.layers.batchNormalization({ axis: 1 });
      const plain = tf.layers.batchNormalization({});
      const ys = [other.apply(x, { training: true }) as tf.Tensor, plain.apply(x, { training: false }) as tf.Tensor];
      for (const y of ys) expect(y.shape).toEqual([2, 3, 4, 5]);
      tf.dispose([x, ...ys]);
      for (const v of [...other.weights, ...plain.weights]) v.dispose();
    });
    expect(callCount('batchNormTrain')).toBe(before);
  });
});

// --- Optimizers ---

const VAR_SHAPES: Record<string, number[]> = { kernel: [3, 3, 2, 4], bias: [4], dense: [40, 7], gamma: [7], big: [3, 110, 110], scalar: [] };
let optimizeRun = 0;

/** N steps of `make()` from identical weights and gradients on `backend`; the weights and every slot after. */
async function optimize(backend: 'cpu' | 'wasm', make: () => tf.Optimizer, arrayForm: boolean, steps = 3): Promise<{ weights: Float32Array[]; slots: { name: string; values: Float32Array }[] }> {
  await tf.setBackend(backend);
  return expectNoLeak(tf, async () => {
    let seed = 1;
    const vars = Object.entries(VAR_SHAPES).map(([name, shape]) => tf.tidy(() => tf.variable(tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed++), shape), true, `opt${++optimizeRun}-${name}`)));
    const prefix = /^opt\d+-/;
    const opt = make();
    for (let s = 0; s < steps; s++) {
      const grads = vars.map((v, i) => tf.tensor(randomValues(v.size, 100 * s + i).map((g) => g * (i + 1)), v.shape));
      if (arrayForm) opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
      else opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, grads[i]])));
      tf.dispose(grads);
    }
    const weights = await Promise.all(vars.map(async (v) => Float32Array.from((await v.data()) as Float32Array)));
    const named = await opt.getWeights();
    const slots = await Promise.all(named.map(async (w) => ({ name: w.name.replace(prefix, ''), values: Float32Array.from(await w.tensor.data()) })));
    tf.dispose(named.filter((w) => w.name === 'iter').map((w) => w.tensor)); // saveIterations makes a new scalar
    opt.dispose();
    // NOTE: tfjs 4.22 MomentumOptimizer.dispose() leaves its learning-rate scalar (it does not call SGD's dispose).
    if (opt.getClassName() === 'Momentum') (opt as unknown as { c: tf.Tensor }).c.dispose();
    tf.dispose(vars);
    return { weights, slots };
  });
}

describe.skipIf(!status.active)(`fused optimizer updates: weights and slots bit-identical to cpu after 3 steps${skipped}`, () => {
  it.each([
    { name: 'adam (defaults)', fn: 'adam', arrayForm: false, make: () => tf.train.adam(1e-3) },
    { name: 'adam (0.01, 0.8, 0.95, 1e-6), NamedTensor[] gradients', fn: 'adam', arrayForm: true, make: () => tf.train.adam(0.01, 0.8, 0.95, 1e-6) },
    { name: 'sgd', fn: 'sgd', arrayForm: false, make: () => tf.train.sgd(0.1) },
    { name: 'sgd, NamedTensor[] gradients', fn: 'sgd', arrayForm: true, make: () => tf.train.sgd(0.037) },
    { name: 'momentum', fn: 'momentum', arrayForm: false, make: () => tf.train.momentum(0.05, 0.9) },
    { name: 'Nesterov momentum, NamedTensor[] gradients', fn: 'momentum', arrayForm: true, make: () => tf.train.momentum(0.05, 0.85, true) },
  ])('$name', async ({ fn, arrayForm, make }) => {
    const ref = await optimize('cpu', make, arrayForm);
    const before = callCount(fn);
    const got = await optimize('wasm', make, arrayForm);
    expect(callCount(fn) - before, `native ${fn} calls`).toBe(3 * Object.keys(VAR_SHAPES).length);
    got.weights.forEach((w, i) => expectBitIdentical(w, ref.weights[i], `weight ${Object.keys(VAR_SHAPES)[i]}`));
    expect(got.slots.map((s) => s.name)).toEqual(ref.slots.map((s) => s.name));
    got.slots.forEach((s, i) => expectBitIdentical(s.values, ref.slots[i].values, `optimizer slot ${s.name}`));
  });
});

// --- Dropout ---

describe.skipIf(!status.active)(`Dropout layer on wasm + native: tfjs' own mask, bit for bit${skipped}`, () => {
  const cases = [
    { rate: 0.25, shape: [2, 5, 7, 3], seed: 1234 },
    { rate: 0.5, shape: [3, 512], seed: 7 },
    { rate: 0.1, shape: [4, 9], seed: 99 },
    { rate: 0.7, shape: [2, 100, 200], seed: 31337 },
    { rate: 0.25, shape: [3, 150, 200, 2], seed: 4242 }, // 180,000 values: the parallel path (streams jumped ahead)
  ];

  it.each(cases)('with a layer seed equals tf.dropout(x, $rate, undefined, seed) on cpu: $shape, seed $seed', async ({ rate, shape, seed }) => {
    const xv = randomValues(shape.reduce((a, b) => a * b, 1), seed);
    await tf.setBackend('cpu');
    const x0 = tf.tensor(xv, shape);
    const r0 = tf.dropout(x0, rate, undefined, seed);
    const want = (await r0.data()) as Float32Array;
    tf.dispose([x0, r0]);

    await tf.setBackend('wasm');
    const before = masksDrawn();
    await expectNoLeak(tf, async () => {
      const layer = tf.layers.dropout({ rate, seed });
      const x = tf.tensor(xv, shape);
      const y = layer.apply(x, { training: true }) as tf.Tensor;
      expectBitIdentical((await y.data()) as Float32Array, want, `dropout rate ${rate}`);
      tf.dispose([x, y]);
      layer.dispose();
    });
    expect(masksDrawn() - before).toBe(1);
    let kept = 0;
    for (const v of want) if (v !== 0) kept++;
    expect(kept / want.length).toBeGreaterThan(1 - rate - 0.2); // a real mask, not all ones or zeros
    expect(kept / want.length).toBeLessThan(1 - rate + 0.2);
  });

  it.each(cases)('with Math.random seeded (no layer seed) equals the same layer on cpu: $shape, rate $rate', async ({ rate, shape, seed }) => {
    const xv = randomValues(shape.reduce((a, b) => a * b, 1), seed + 1);
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const layer = tf.layers.dropout({ rate });
      const x = tf.tensor(xv, shape);
      Math.random = mulberry32(seed);
      let y: tf.Tensor;
      let z: tf.Tensor;
      try {
        y = layer.apply(x, { training: true }) as tf.Tensor;
        z = layer.apply(x, { training: true }) as tf.Tensor; // a second draw: a new Math.random() seed
      } finally {
        Math.random = realRandom;
      }
      const out = Float32Array.from([...((await y.data()) as Float32Array), ...((await z.data()) as Float32Array)]);
      tf.dispose([x, y, z]);
      layer.dispose();
      return out;
    };
    const want = await run('cpu');
    const before = masksDrawn();
    const got = await expectNoLeak(tf, () => run('wasm'));
    expect(masksDrawn() - before).toBe(2);
    expectBitIdentical(got, want, `dropout rate ${rate}, Math.random seeded`);
    expect(Array.from(got.subarray(0, got.length / 2))).not.toEqual(Array.from(got.subarray(got.length / 2))); // two different masks
  });

  it.each(cases)('its gradient equals cpu\'s, bit for bit: $shape, rate $rate', async ({ rate, shape, seed }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = randomValues(n, seed + 2);
    const wv = randomValues(n, seed + 3);
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const layer = tf.layers.dropout({ rate, seed });
      const x = tf.tensor(xv, shape);
      const w = tf.tensor(wv, shape);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t, { training: true }) as tf.Tensor, w)))(x);
      const out = Float32Array.from((await g.data()) as Float32Array);
      tf.dispose([x, w, g]);
      layer.dispose();
      return out;
    };
    const want = await run('cpu');
    const got = await expectNoLeak(tf, () => run('wasm'));
    expectBitIdentical(got, want, `dropout gradient, rate ${rate}`);
  });

  it('is the identity when not training, and keeps tfjs\' path for a broadcast noiseShape (same values as cpu)', async () => {
    const shape = [2, 4, 4, 3];
    const xv = randomValues(2 * 4 * 4 * 3, 5);
    await tf.setBackend('cpu');
    const x0 = tf.tensor(xv, shape);
    const r0 = tf.dropout(x0, 0.5, [2, 1, 1, 3], 11);
    const want = (await r0.data()) as Float32Array;
    tf.dispose([x0, r0]);

    await tf.setBackend('wasm');
    const before = masksDrawn();
    await expectNoLeak(tf, async () => {
      const x = tf.tensor(xv, shape);
      const plain = tf.layers.dropout({ rate: 0.5, seed: 3 });
      const y = plain.apply(x, { training: false }) as tf.Tensor;
      expectBitIdentical((await y.data()) as Float32Array, xv, 'inference');
      const spatial = tf.layers.dropout({ rate: 0.5, noiseShape: [2, 1, 1, 3], seed: 11 });
      const z = spatial.apply(x, { training: true }) as tf.Tensor;
      expectBitIdentical((await z.data()) as Float32Array, want, 'noiseShape [2,1,1,3]');
      tf.dispose([x, y, z]);
      plain.dispose();
      spatial.dispose();
    });
    expect(masksDrawn()).toBe(before);
  });
});

// --- Sum / Mean gradients ---

describe.skipIf(!status.active)(`Sum and Mean gradients on wasm + native: bit-identical to cpu${skipped}`, () => {
  it('are the native ones while the native kernels are registered', () => {
    for (const k of ['Sum', 'Mean']) expect((tf.getGradient(k)!.gradFunc as unknown as Record<symbol, unknown>)[Symbol.for('@fer/engine/native-gradient')]).toBe(true);
  });

  const cases: { shape: number[]; axis: number[] | undefined }[] = [
    { shape: [2, 3, 4, 5], axis: [0] },
    { shape: [2, 3, 4, 5], axis: [0, 1, 2] },
    { shape: [2, 3, 4, 5], axis: [1] },
    { shape: [2, 3, 4, 5], axis: [3] },
    { shape: [2, 3, 4, 5], axis: [1, 3] },
    { shape: [7, 9], axis: [0] },
    { shape: [7, 9], axis: undefined },
    { shape: [6, 10, 10, 8], axis: [0, 1, 2] }, // batch-norm moments
  ];
  it.each(cases.flatMap((c, i) => [false, true].map((keepDims) => [i, c.shape, c.axis, keepDims] as const)))('case %i %j axis %j keepDims %s', async (i, shape, axis, keepDims) => {
    const xv = randomValues(shape.reduce((a, b) => a * b, 1), 500 + i);
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      return expectNoLeak(tf, async () => {
        const x = tf.tensor(xv, shape);
        const outShape = tf.tidy(() => tf.sum(x, axis, keepDims).shape);
        const c = tf.tensor(randomValues(outShape.reduce((a, b) => a * b, 1), 600 + i).map((v) => v * 3), outShape);
        const gs = tf.grad((t: tf.Tensor) => tf.mul(tf.sum(t, axis, keepDims), c))(x);
        const gm = tf.grad((t: tf.Tensor) => tf.mul(tf.mean(t, axis, keepDims), c))(x);
        expect(gs.shape).toEqual(shape);
        const out = [Float32Array.from((await gs.data()) as Float32Array), Float32Array.from((await gm.data()) as Float32Array)];
        tf.dispose([x, c, gs, gm]);
        return out;
      });
    };
    const want = await run('cpu');
    const got = await run('wasm');
    expectBitIdentical(got[0], want[0], 'Sum gradient');
    expectBitIdentical(got[1], want[1], 'Mean gradient');
  });
});

// --- Relu gradient ---

describe.skipIf(!status.active)(`Relu gradient on wasm + native: one native pass, bit-identical to cpu${skipped}`, () => {
  it.each([[2, 3, 4, 5], [3, 100, 100, 4]])('%j (with 0, -0, NaN, Infinity in x and dy)', async (...shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const special = [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30];
    const xv = randomValues(n, 700).map((v, i) => (i % 11 === 0 ? special[(i / 11) % special.length]! : v));
    const dv = randomValues(n, 701).map((v, i) => (i % 13 === 0 ? special[(i / 13) % special.length]! : v));
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return expectNoLeak(tf, async () => {
        const x = tf.tensor(xv, shape);
        const d = tf.tensor(dv, shape);
        const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, d);
        const out = Float32Array.from((await g.data()) as Float32Array);
        tf.dispose([x, d, g]);
        return out;
      });
    };
    // tfjs' own gradient, from the input (the registered one reads the output): mul(dy, step(x)) on cpu.
    await tf.setBackend('cpu');
    const want = await expectNoLeak(tf, async () => {
      const g = tf.tidy(() => tf.mul(tf.tensor(dv, shape), tf.cast(tf.step(tf.tensor(xv, shape)), 'float32')));
      const out = Float32Array.from((await g.data()) as Float32Array);
      g.dispose();
      return out;
    });
    expectBitIdentical(await run('cpu'), want, 'Relu gradient on cpu (from the output)');
    const before = callCount('reluGrad');
    const got = await run('wasm');
    if (load.ok && load.addon.reluGrad) expect(callCount('reluGrad') - before).toBe(1);
    expectBitIdentical(got, want, 'Relu gradient');
  });
});

// --- MaxPool gradient, and what the tape keeps ---

describe.skipIf(!status.active)(`MaxPool gradient on wasm + native: from the input alone, bit-identical to tfjs'${skipped}`, () => {
  it.each([
    { shape: [2, 6, 6, 3] as [number, number, number, number], filterSize: 2, strides: 2, pad: 'valid' as const },
    { shape: [3, 7, 5, 4] as [number, number, number, number], filterSize: 3, strides: 2, pad: 'same' as const },
    { shape: [1, 9, 9, 2] as [number, number, number, number], filterSize: 3, strides: 1, pad: 'valid' as const },
  ])('$shape, filter $filterSize, stride $strides, $pad (with NaN, ties and -Infinity)', async ({ shape, filterSize, strides, pad }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const special = [NaN, 0.5, 0.5, -Infinity];
    const xv = randomValues(n, 720).map((v, i) => (i % 7 === 0 ? special[(i / 7) % special.length]! : Math.round(v * 4) / 4));
    await tf.setBackend('cpu'); // NOTE: this test may run first (-t): no backend is set yet
    const outShape = tf.tidy(() => tf.maxPool(tf.zeros(shape) as tf.Tensor4D, filterSize, strides, pad).shape);
    const dv = randomValues(outShape.reduce((a, b) => a * b, 1), 721);
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return expectNoLeak(tf, async () => {
        const x = tf.tensor(xv, shape) as tf.Tensor4D;
        const d = tf.tensor(dv, outShape);
        const g = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, filterSize, strides, pad))(x, d);
        const out = Float32Array.from((await g.data()) as Float32Array);
        tf.dispose([x, d, g]);
        return out;
      });
    };
    // The MaxPoolGrad kernel with tfjs' inputs (dy, x and the pooled output), as tfjs' own gradient runs it.
    const viaKernel = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return expectNoLeak(tf, async () => {
        const g = tf.tidy(() => {
          const x = tf.tensor(xv, shape) as tf.Tensor4D;
          const y = tf.maxPool(x, filterSize, strides, pad);
          return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dv, outShape), input: x, output: y }, { filterSize, strides, pad } as never) as tf.Tensor;
        });
        const out = Float32Array.from((await g.data()) as Float32Array);
        g.dispose();
        return out;
      });
    };
    const want = await viaKernel('cpu');
    expectBitIdentical(await run('cpu'), want, 'MaxPool gradient on cpu (output computed again)');
    // The native MaxPoolGrad kernel, as tfjs' own gradient ran it before.
    const before = callCount('maxPoolGrad');
    const kernel = await viaKernel('wasm');
    const got = await run('wasm');
    expect(callCount('maxPoolGrad') - before).toBe(2);
    expectBitIdentical(got, kernel, 'MaxPool gradient on wasm + native vs the MaxPoolGrad kernel');
    // Overlapping windows add into one input in the native kernel's order, not cpu's: equal to ~1 ulp there.
    if (filterSize === strides) expectBitIdentical(got, want, 'MaxPool gradient on wasm + native vs cpu');
    else expectAllClose(got, want, 'MaxPool gradient on wasm + native vs cpu (overlapping windows)', 1e-6);
  });

  it('the tape keeps neither the input of a Relu nor the output of a MaxPool (freed after the forward pass)', async () => {
    await tf.setBackend('wasm');
    const shape = [4, 16, 16, 8];
    const n = shape.reduce((a, b) => a * b, 1);
    // NOTE: tf.memory().numBytes counts a saved clone again; the backend's data buffers are what is held.
    const buffers = (): number => tf.engine().backend.numDataIds();
    await expectNoLeak(tf, async () => {
      const x = tf.tensor(randomValues(n, 730), shape);
      const d = tf.tensor(randomValues(n / 4, 731), [4, 8, 8, 8]);
      let atBackward = -1;
      // The last op's gradient runs first: the buffers alive then are what the tape kept, plus x, dy and the output.
      const probe = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
        save([]);
        return {
          value: tf.neg(z),
          gradFunc: (dy: tf.Tensor) => {
            atBackward = buffers();
            return tf.neg(dy);
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0]);
      const before = buffers(); // x and dy
      // neg (keeps nothing) -> relu (keeps its output) -> maxPool (keeps its input: the same buffer) -> probe.
      const g = tf.grad((t: tf.Tensor) => probe(tf.maxPool(tf.relu(tf.neg(t)) as tf.Tensor4D, 2, 2, 'valid')) as tf.Tensor)(x, d);
      await g.data();
      // Kept: relu's output and the probe's output. tfjs' own gradients also keep relu's input and the pooled output.
      expect(atBackward - before).toBe(2);
      tf.dispose([x, d, g]);
    });
  });
});

// --- The backward pass releases what it no longer needs ---

describe.skipIf(!status.active)(`backward pass on wasm + native: gradients and saved tensors released as it goes${skipped}`, () => {
  const buffers = (): number => tf.engine().backend.numDataIds();
  // Records the live buffers when its gradient runs; placed first in a chain, its gradient runs last.
  const probeAt = (record: (n: number) => void) => tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return { value: tf.neg(z), gradFunc: (dy: tf.Tensor) => { record(buffers()); return tf.neg(dy); } };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  // 12 layers of (mul by a weight, relu): each keeps its inputs or output and makes a gradient of the same size.
  const chain = (x: tf.Tensor, w: tf.Tensor, probe: (t: tf.Tensor) => tf.Tensor): tf.Tensor => {
    let h = probe(x);
    for (let i = 0; i < 12; i++) h = tf.relu(tf.mul(h, w));
    return tf.sum(h);
  };
  const run = async (backend: 'cpu' | 'wasm'): Promise<{ grads: Float32Array[]; lateBuffers: number }> => {
    await tf.setBackend(backend);
    return expectNoLeak(tf, async () => {
      const x = tf.tensor(randomValues(4096, 740), [64, 64]);
      const w = tf.tensor(randomValues(64, 741).map((v) => 1 + v / 4), [64]);
      let late = -1;
      const probe = probeAt((n) => { late = n; });
      const before = buffers(); // x and w
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => chain(a, b, probe))([x, w]);
      const out = [Float32Array.from((await g[0]!.data()) as Float32Array), Float32Array.from((await g[1]!.data()) as Float32Array)];
      tf.dispose([x, w, ...g]);
      return { grads: out, lateBuffers: late - before };
    });
  };
  it('gives the same gradients as cpu, with few buffers alive at the end of a 12-layer backward pass', async () => {
    const want = await run('cpu');
    const got = await run('wasm');
    expectBitIdentical(got.grads[0]!, want.grads[0]!, 'gradient of x');
    expectBitIdentical(got.grads[1]!, want.grads[1]!, 'gradient of w');
    // tfjs keeps every layer's saved tensors and gradients to the end (~4 per layer, 48+ here); released as the
    // pass goes, what is left is the last layer's gradients and the accumulated gradient of w.
    expect(want.lateBuffers).toBeGreaterThan(40);
    expect(got.lateBuffers).toBeLessThan(10);
  });
});

// --- FusedBatchNorm gradient ---

describe.skipIf(!status.active)(`FusedBatchNorm gradient on wasm + native = cpu${skipped}`, () => {
  const shapes = [[2, 5, 7, 3], [4, 1, 1, 16], [3, 6, 6, 17], [2, 60, 60, 5]]; // tf.batchNorm runs the kernel on 4-D x
  // NOTE: the registered gradient is called directly: tfjs' tape cannot differentiate tf.batchNorm without
  // an offset or scale (undefined inputs), on any backend; layers always pass both.
  it.each(shapes.flatMap((s, i) => [true, false].map((withScale) => [i, s, withScale] as const)))('case %i %j with scale %s: d x, mean, variance, scale, offset', async (i, shape, withScale) => {
    const C = shape[shape.length - 1];
    const n = shape.reduce((a, b) => a * b, 1);
    const seed = 700 + 10 * i;
    const xv = randomValues(n, seed).map((v) => v * 2 + 0.3);
    const dyv = randomValues(n, seed + 1);
    const params = [randomValues(C, seed + 2), randomValues(C, seed + 3).map((v) => v * 0.5 + 0.7), randomValues(C, seed + 4).map((v) => v * 0.5 + 1)];
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      return expectNoLeak(tf, async () => {
        const x = tf.tensor(xv, shape);
        const dy = tf.tensor(dyv, shape);
        const [mean, variance, scale] = params.map((p) => tf.tensor1d(p));
        const gs = tf.tidy(() => {
          const grads = tf.getGradient('FusedBatchNorm')!.gradFunc(dy, [x, mean, variance, withScale ? scale : undefined] as tf.Tensor[], { varianceEpsilon: 1e-3 } as never);
          return ['x', 'mean', 'variance', 'scale', 'offset'].map((k) => grads[k]());
        });
        const out = await Promise.all(gs.map(async (g) => Float32Array.from((await g.data()) as Float32Array)));
        tf.dispose([x, dy, mean, variance, scale, ...gs]);
        return out;
      });
    };
    const want = await run('cpu');
    const before = callCount('batchNormGrad');
    const got = await run('wasm');
    if (status.kernels?.includes('FerBatchNormGrad')) expect(callCount('batchNormGrad') - before, 'native batchNormGrad calls').toBe(1);
    got.forEach((g, k) => {
      const what = `d ${['x', 'mean', 'variance', 'scale', 'offset'][k]}`;
      expect(g.length, what).toBe(want[k].length);
      let diff = 0;
      let scale = 0;
      for (let j = 0; j < g.length; j++) {
        diff = Math.max(diff, Math.abs(g[j] - want[k][j]));
        scale = Math.max(scale, Math.abs(want[k][j]));
      }
      expect(diff, `${what}: max |native - cpu| = ${diff}, max |cpu| = ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    });
  });

  it('through tf.batchNorm with offset and scale (the tape), as layers use it', async () => {
    const shape = [3, 6, 6, 8];
    const xv = randomValues(3 * 6 * 6 * 8, 790).map((v) => v * 2 + 0.3);
    const cv = randomValues(3 * 6 * 6 * 8, 791);
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      return expectNoLeak(tf, async () => {
        const x = tf.tensor(xv, shape);
        const c = tf.tensor(cv, shape);
        const args = [x, ...[792, 793, 794, 795].map((s, k) => tf.tensor1d(randomValues(8, s).map((v) => (k === 1 ? v * 0.5 + 0.7 : v))))];
        const f = (...a: tf.Tensor[]): tf.Scalar => tf.sum(tf.mul(tf.batchNorm(a[0], a[1], a[2], a[3], a[4], 1e-3), c));
        const gs = tf.grads(f)(args);
        const out = await Promise.all(gs.map(async (g) => Float32Array.from((await g.data()) as Float32Array)));
        tf.dispose([c, ...args, ...gs]);
        return out;
      });
    };
    const want = await run('cpu');
    const got = await run('wasm');
    got.forEach((g, k) => {
      let diff = 0;
      let scale = 0;
      for (let j = 0; j < g.length; j++) {
        diff = Math.max(diff, Math.abs(g[j] - want[k][j]));
        scale = Math.max(scale, Math.abs(want[k][j]));
      }
      expect(diff, `gradient ${k}: max |native - cpu| = ${diff}, max |cpu| = ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    });
  });
});

// --- Memory ---

describe.skipIf(!status.active)(`30 Adam steps of a conv + batch norm + dropout + dense model on wasm + native${skipped}`, () => {
  it('leave tensors, bytes and the wasm heap unchanged after warm-up, and train', async () => {
    await tf.setBackend('wasm');
    const tensors0 = tf.memory().numTensors;
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.dropout({ rate: 0.25, seed: 3 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
      ],
    });
    const x = tf.tensor4d(randomValues(8 * 12 * 12, 40), [8, 12, 12, 1]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 0], 'int32'), 7).toFloat());
    const opt = tf.train.adam(0.01);
    const backend = tf.backend() as unknown as WasmBackendLike & { numDataIds(): number };
    const losses: number[] = [];
    const step = (): void => {
      const cost = opt.minimize(() => tf.metrics.categoricalCrossentropy(y, m.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar, true)!;
      losses.push(cost.dataSync()[0]);
      cost.dispose();
    };
    Math.random = mulberry32(8);
    try {
      for (let i = 0; i < 3; i++) step();
      const mem = tf.memory();
      const dataIds = backend.numDataIds();
      const heap = backend.wasm.HEAPU8.length;
      const adamCalls = callCount('adam');
      for (let i = 0; i < 27; i++) step();
      expect(tf.memory().numTensors, 'tensors').toBe(mem.numTensors);
      expect(tf.memory().numBytes, 'bytes').toBe(mem.numBytes);
      expect(backend.numDataIds(), 'wasm data ids').toBe(dataIds);
      expect(backend.wasm.HEAPU8.length, 'wasm heap size').toBe(heap);
      expect(callCount('adam') - adamCalls).toBe(27 * m.trainableWeights.length); // the fused update ran
    } finally {
      Math.random = realRandom;
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (a: number[]): number => a.reduce((u, v) => u + v, 0) / a.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)));
    opt.dispose();
    m.dispose();
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(tensors0);
  });

  it('left no native call failing over to the WASM kernels', () => {
    expect(describeNativeKernels().failures).toEqual([]);
  });
});
