// WebGPU in Node (Dawn) against the cpu backend: the paper's models' training steps, predict, save/load,
// visualization gradients. Runs on whatever adapter Dawn finds, including Mesa's software Vulkan
// (lavapipe, mesa-vulkan-drivers 25.x, installed by .ci/run); skips, saying why, when there is none.
// Sizes are small because lavapipe runs on the CPU: tiny images for the cpu comparisons (the cpu
// backend is plain JS), the full 48x48 paper models once each on WebGPU alone.
import * as tf from '@tensorflow/tfjs';
import { expectNoLeak } from '@fer/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeBackend, initBackend, type BackendInfo } from './backend.js';
import { buildPaperModel, type PaperModelName } from './webgpu/_paper-models.js';

// Tolerances of WebGPU vs cpu, float32 with different summation orders:
// loss: |a-b| <= 1e-4 * |a|; each gradient tensor g of n values (and each other compared tensor):
// ||g_gpu - g_cpu||_2 <= 1e-3 * (||g_cpu||_2 + rms * sqrt(n)), rms = root mean square of all the
// model's gradient values. The second term covers the biases that feed batch norm, whose true
// gradient is 0: both backends give float noise there (1e-7..1e-5), far below the typical gradient.
const RTOL = 1e-3;
const SLOW = 180_000; // lavapipe and the plain-JS cpu backend on a shared CI machine

const started: BackendInfo | Error = await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true }).catch((e: Error) => e);
const ok = !(started instanceof Error);
const title = ok
  ? `WebGPU on "${started.adapter?.name}" vs cpu`
  : `WebGPU (SKIPPED: no WebGPU adapter here: ${started.message.slice(0, 300)})`;

// NOTE: tfjs-backend-cpu's Conv2DBackpropFilter is a scalar loop that takes ~40 s for one paper-deep step
// at 16x16 on a loaded CI machine, blocking the event loop past vitest's 60 s RPC timeout. For the cpu
// reference we swap in the same math as one im2col forward convolution of the cpu backend (checked
// against the original kernel below), for stride 1 / odd kernel / 'same' only; anything else goes to the original.
const originalFilterGrad = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
tf.registerKernel({ ...originalFilterGrad, kernelFunc: fastCpuConv2dBackpropFilter(originalFilterGrad.kernelFunc) });

afterAll(async () => {
  await disposeBackend();
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel(originalFilterGrad);
});

describe('the cpu reference', () => {
  it.each([[3, 1, 4, 5, 2], [5, 3, 2, 6, 3]])('computes Conv2DBackpropFilter (k=%i, ci=%i, co=%i, %i px, batch %i) as tfjs-backend-cpu does', async (k, ci, co, px, b) => {
    await tf.setBackend('cpu');
    const r = rng(k * 100 + ci);
    const x = tf.tensor4d(Float32Array.from({ length: b * px * px * ci }, () => r() - 0.5), [b, px, px, ci]);
    const dy = tf.tensor4d(Float32Array.from({ length: b * px * px * co }, () => r() - 0.5), [b, px, px, co]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [k, k, ci, co] };
    const backend = tf.backend();
    const want = originalFilterGrad.kernelFunc({ inputs: { x, dy }, backend, attrs: attrs as never }) as tf.TensorInfo;
    const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
    expect(got.shape).toEqual([k, k, ci, co]);
    expectClose(await got.data(), backend.readSync(want.dataId) as Float32Array, 'filter gradient');
    backend.disposeData(want.dataId);
    tf.dispose([x, dy, got]);
  });
});

describe.skipIf(!ok)(title, () => {
  describe.each([
    { name: 'paper-shallow' as PaperModelName, size: 12 },
    { name: 'paper-hybrid' as PaperModelName, size: 12 },
    { name: 'paper-deep' as PaperModelName, size: 16 }, // 4 max-pools: 16 -> 1
  ])('$name training step (batch 2, $size x $size)', ({ name, size }) => {
    it('gives the same loss and every gradient as cpu, with dropout and batch norm in training mode', async () => {
      const batch = makeBatch(2, size, 72, 11);
      await use('cpu');
      const ref = buildPaperModel(tf, name, { size, hogLength: 72, dropoutSeed: 5 });
      const weights = await Promise.all(ref.getWeights().map((w) => w.data()));
      const cpu = await gradStep(ref, batch, name);
      ref.dispose();

      await use('webgpu');
      await expectNoLeak(tf, async () => {
        const m = buildPaperModel(tf, name, { size, hogLength: 72, dropoutSeed: 5 });
        setWeights(m, weights);
        const gpu = await gradStep(m, batch, name);
        m.dispose();
        expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(cpu.loss));
        expect(gpu.grads.length).toBe(cpu.grads.length);
        const rms = Math.sqrt(cpu.grads.reduce((a, g) => a + g.reduce((u, v) => u + v * v, 0), 0) / cpu.grads.reduce((a, g) => a + g.length, 0));
        cpu.grads.forEach((g, i) => expectClose(gpu.grads[i], g, `gradient of ${cpu.names[i]}`, rms));
      });
    }, SLOW);
  });

  describe.each(['paper-shallow', 'paper-hybrid', 'paper-deep'] as PaperModelName[])('%s at 48x48 (batch 2)', (name) => {
    it('trains one Adam step on WebGPU: finite loss, weights move, no leak', async () => {
      await use('webgpu');
      const batch = makeBatch(2, 48, 1296, 3);
      await expectNoLeak(tf, async () => {
        const m = buildPaperModel(tf, name, { size: 48, hogLength: 1296, dropoutSeed: 1 });
        const before = await m.getWeights()[0].data();
        const opt = tf.train.adam(1e-3);
        const inputs = toInputs(batch, name);
        const loss = opt.minimize(() => crossEntropy(m.apply(inputs, { training: true }) as tf.Tensor, batch.y), true)!;
        const lossValue = (await loss.data())[0];
        const after = await m.getWeights()[0].data();
        loss.dispose();
        tf.dispose(inputs);
        opt.dispose();
        m.dispose();
        expect(Number.isFinite(lossValue)).toBe(true);
        expect(lossValue).toBeGreaterThan(0);
        expect(maxAbsDiff(before, after)).toBeGreaterThan(1e-5);
      });
    }, SLOW);
  });

  it('learns a tiny problem end to end: 20 Adam steps, loss falls', async () => {
    await use('webgpu');
    await expectNoLeak(tf, async () => {
      // Bright top half -> class 0, bright bottom half -> class 1, on 8x8 noise images.
      const n = 16, s = 8;
      const x = new Float32Array(n * s * s);
      const labels: number[] = [];
      const r = rng(9);
      for (let i = 0; i < n; i++) {
        const c = i % 2;
        labels.push(c);
        for (let p = 0; p < s * s; p++) x[i * s * s + p] = r() * 0.5 + ((p < (s * s) / 2) === (c === 0) ? 0.5 : 0);
      }
      const xs = tf.tensor4d(x, [n, s, s, 1]);
      const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 7));
      const m = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [s, s, 1], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.batchNormalization(),
          tf.layers.reLU(),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const opt = tf.train.adam(0.05);
      const losses: number[] = [];
      for (let step = 0; step < 20; step++) {
        const loss = opt.minimize(() => tf.mean(tf.metrics.categoricalCrossentropy(ys, m.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar, true)!;
        losses.push((await loss.data())[0]);
        loss.dispose();
      }
      const p = tf.tidy(() => tf.argMax(m.predict(xs) as tf.Tensor, 1));
      const predicted = await p.data();
      const accuracy = labels.filter((l, i) => predicted[i] === l).length / n;
      tf.dispose([xs, ys, p]);
      opt.dispose();
      m.dispose();
      const mean = (a: number[]) => a.reduce((u, v) => u + v, 0) / a.length;
      expect(mean(losses.slice(-5))).toBeLessThan(0.5 * mean(losses.slice(0, 5)));
      expect(accuracy).toBeGreaterThanOrEqual(0.9);
    });
  }, SLOW);

  it('saves and loads weights: the reloaded model predicts the same on WebGPU, and as cpu does', async () => {
    const batch = makeBatch(2, 16, 72, 4);
    await use('cpu');
    const ref = buildPaperModel(tf, 'paper-hybrid', { size: 16, hogLength: 72 });
    const weights = await Promise.all(ref.getWeights().map((w) => w.data()));
    const refOut = ref.predict(toInputs(batch, 'paper-hybrid')) as tf.Tensor;
    const cpuOut = await refOut.data();
    tf.dispose(refOut);
    ref.dispose();

    await use('webgpu');
    await expectNoLeak(tf, async () => {
      const m = buildPaperModel(tf, 'paper-hybrid', { size: 16, hogLength: 72 });
      setWeights(m, weights);
      let saved: tf.io.ModelArtifacts | undefined;
      await m.save(tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
      const inputs = toInputs(batch, 'paper-hybrid');
      const a = m.predict(inputs) as tf.Tensor, b = loaded.predict(inputs) as tf.Tensor;
      const [av, bv] = [await a.data(), await b.data()];
      tf.dispose([a, b, inputs]);
      m.dispose();
      loaded.dispose();
      expect(maxAbsDiff(av, bv)).toBeLessThan(1e-6);
      const rows = [0, 1].map((r) => Array.from(av.subarray(r * 7, r * 7 + 7)).reduce((u, v) => u + v, 0));
      for (const r of rows) expect(r).toBeCloseTo(1, 5);
      expectClose(av, cpuOut, 'predictions');
      const data = saved!.weightData!;
      const bytes = Array.isArray(data) ? data.reduce((n, d) => n + d.byteLength, 0) : data.byteLength;
      expect(bytes / 4).toBe(weights.reduce((n, w) => n + w.length, 0));
    });
  }, SLOW);

  it('computes the visualization gradients as cpu does: saliency, DeepDream (with resize), activation maps', async () => {
    const batch = makeBatch(1, 16, 72, 8);
    const run = async () => {
      const m = buildPaperModel(tf, 'paper-shallow', { size: 16 });
      setWeights(m, weights);
      const convOut = m.layers.filter((l) => l.getClassName() === 'ReLU')[1].output as tf.SymbolicTensor;
      const features = tf.model({ inputs: m.inputs, outputs: convOut });
      const x = tf.tensor4d(batch.x, [1, 16, 16, 1]);
      const saliency = tf.grad((img: tf.Tensor) => tf.sum(tf.slice(m.apply(img) as tf.Tensor, [0, 3], [1, 1])))(x);
      // DeepDream octave: upsample a small image, then ascend the mean activation of a conv layer.
      const small = tf.image.resizeBilinear(x as tf.Tensor4D, [8, 8]);
      const dream = tf.grad((img: tf.Tensor) => tf.mean(features.apply(tf.image.resizeBilinear(img as tf.Tensor4D, [16, 16])) as tf.Tensor))(small);
      const maps = features.predict(x) as tf.Tensor;
      const out = [await saliency.data(), await dream.data(), await maps.data()];
      tf.dispose([x, saliency, small, dream, maps]);
      m.dispose();
      return out;
    };
    await use('cpu');
    const init = buildPaperModel(tf, 'paper-shallow', { size: 16 });
    const weights = await Promise.all(init.getWeights().map((w) => w.data()));
    init.dispose();
    const cpu = await run();
    await use('webgpu');
    const gpu = await expectNoLeak(tf, run);
    expectClose(gpu[0], cpu[0], 'saliency (d class score / d input)');
    expectClose(gpu[1], cpu[1], 'DeepDream gradient through resizeBilinear');
    expectClose(gpu[2], cpu[2], 'activation maps');
  }, SLOW);

  it('Regression: dataSync() on a GPU tensor throws E_SYNC_READ with the fix (Node has no OffscreenCanvas)', async () => {
    await use('webgpu');
    const a = tf.fill([64, 64], 1);
    const b = tf.matMul(a, a); // computed on the GPU (tfjs-webgpu hands tiny ops to the CPU)
    expect(() => b.dataSync()).toThrow(expect.objectContaining({ code: 'E_SYNC_READ', message: expect.stringContaining('await tensor.data()') }));
    expect((await b.data())[0]).toBe(64);
    expect(b.dataSync()[0]).toBe(64); // cached on the CPU after the async read: fine
    tf.dispose([a, b]);
  });
});

// --- Internal helpers ---

interface Batch { x: Float32Array; hog: Float32Array; y: number[]; n: number; size: number; hogLength: number }

async function use(backend: 'cpu' | 'webgpu'): Promise<void> {
  if (backend === 'cpu') await tf.setBackend('cpu');
  else await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true });
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeBatch(n: number, size: number, hogLength: number, seed: number): Batch {
  const r = rng(seed);
  return {
    x: Float32Array.from({ length: n * size * size }, () => r() * 2 - 1),
    hog: Float32Array.from({ length: n * hogLength }, () => r()),
    y: Array.from({ length: n }, (_, i) => (i * 3) % 7),
    n, size, hogLength,
  };
}

function toInputs(b: Batch, name: PaperModelName): tf.Tensor | tf.Tensor[] {
  const x = tf.tensor4d(b.x, [b.n, b.size, b.size, 1]);
  return name === 'paper-hybrid' ? [x, tf.tensor2d(b.hog, [b.n, b.hogLength])] : x;
}

function crossEntropy(p: tf.Tensor, y: number[]): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.metrics.categoricalCrossentropy(tf.oneHot(tf.tensor1d(y, 'int32'), 7), p)) as tf.Scalar);
}

/** One training step's loss and the gradients of every trainable weight (model order). */
async function gradStep(m: tf.LayersModel, b: Batch, name: PaperModelName): Promise<{ loss: number; grads: Float32Array[]; names: string[] }> {
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const inputs = toInputs(b, name);
  const { value, grads } = tf.variableGrads(() => crossEntropy(m.apply(inputs, { training: true }) as tf.Tensor, b.y), vars);
  const loss = (await value.data())[0];
  const out: Float32Array[] = [];
  for (const v of vars) out.push((await grads[v.name].data()) as Float32Array);
  tf.dispose([value, inputs]);
  tf.dispose(Object.values(grads));
  return { loss, grads: out, names: m.trainableWeights.map((w) => w.originalName) };
}

/** Conv2DBackpropFilter as a forward conv: x as [Ci,H,W,B] (batch as channels) with dy as a [Ho,Wo,B,Co] filter. */
function fastCpuConv2dBackpropFilter(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as { strides: number | number[]; pad: unknown; dataFormat?: string; filterShape: number[] };
    const [kh, kw] = a.filterShape;
    const st = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
    if (a.pad !== 'same' || st[0] !== 1 || st[1] !== 1 || kh % 2 === 0 || kw % 2 === 0 || (a.dataFormat ?? 'NHWC') !== 'NHWC') {
      return original({ inputs, backend, attrs });
    }
    const cpu = backend as tf.KernelBackend;
    const transpose = (t: tf.TensorInfo, perm: number[]) => tf.getKernel('Transpose', 'cpu')!.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
    const xt = transpose(x, [3, 1, 2, 0]);
    const dyt = transpose(dy, [1, 2, 0, 3]);
    const ph = (kh - 1) / 2, pw = (kw - 1) / 2;
    const out = tf.getKernel('Conv2D', 'cpu')!.kernelFunc({
      inputs: { x: xt, filter: dyt },
      backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [ph, ph], [pw, pw], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] } as never,
    }) as tf.TensorInfo;
    const result = transpose(out, [1, 2, 0, 3]);
    for (const t of [xt, dyt, out]) cpu.disposeData(t.dataId);
    return result;
  };
}

function setWeights(m: tf.LayersModel, values: ArrayLike<number>[]): void {
  const shapes = m.getWeights().map((w) => w.shape);
  const ts = values.map((v, i) => tf.tensor(v as Float32Array, shapes[i]));
  m.setWeights(ts);
  tf.dispose(ts);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rms = 0): void {
  expect(got.length, what).toBe(want.length);
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const err = Math.sqrt(num), bound = RTOL * (Math.sqrt(den) + rms * Math.sqrt(want.length));
  expect(err, `${what}: ||webgpu - cpu|| = ${err.toExponential(2)}, ||cpu|| = ${Math.sqrt(den).toExponential(2)}, bound ${bound.toExponential(2)}`).toBeLessThanOrEqual(bound);
}
