// WebGPU in Node (Dawn) against the cpu backend: the paper's models' training steps, predict, save/load,
// visualization gradients. Runs on whatever adapter Dawn finds, including Mesa's software Vulkan
// (lavapipe, mesa-vulkan-drivers 25.x, installed by .ci/run); skips, saying why, when there is none.
// Sizes are small because lavapipe runs on the CPU: tiny images for the cpu comparisons (the cpu
// backend is plain JS), the full 48x48 paper models once each on WebGPU alone.
import * as tf from '@tensorflow/tfjs';
import { builtinModels, createRegistry } from '@fer/models';
import {
  expectNoLeak, expectNormClose, gradStep, maxAbsDiff, mulberry32, readWeights, rootMeanSquare, setWeights, useFastCpuFilterGradient,
} from '@fer/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeBackend, initBackend, type BackendInfo } from './backend.js';

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
const fastFilterGrad = useFastCpuFilterGradient(tf);

afterAll(async () => {
  await disposeBackend();
  fastFilterGrad.restore();
});

// The paper models of @fer/models, at small input sizes (lavapipe and the cpu backend run on the CPU). At
// 12x12 the hybrid's HOG uses 4x4 cells (144 features); at 48x48 its default (900).
type PaperModelName = 'paper-shallow' | 'paper-hybrid-shallow' | 'paper-deep';
const models = createRegistry(builtinModels);
function buildPaperModel(name: PaperModelName, size: number): tf.LayersModel {
  const hog = size < 48 ? { hog: { orientations: 9, pixelsPerCell: [4, 4], cellsPerBlock: [2, 2], blockNorm: 'L2-Hys', transformSqrt: false } } : {};
  return models.create(name, { inputSize: size, ...(name === 'paper-hybrid-shallow' ? hog : {}) }, { seed: 5 });
}

describe('the cpu reference', () => {
  it.each([[3, 1, 4, 5, 2], [5, 3, 2, 6, 3]])('computes Conv2DBackpropFilter (k=%i, ci=%i, co=%i, %i px, batch %i) as tfjs-backend-cpu does', async (k, ci, co, px, b) => {
    await tf.setBackend('cpu');
    const r = mulberry32(k * 100 + ci);
    const x = tf.tensor4d(Float32Array.from({ length: b * px * px * ci }, () => r() - 0.5), [b, px, px, ci]);
    const dy = tf.tensor4d(Float32Array.from({ length: b * px * px * co }, () => r() - 0.5), [b, px, px, co]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [k, k, ci, co] };
    const backend = tf.backend();
    const want = fastFilterGrad.original({ inputs: { x, dy }, backend, attrs: attrs as never }) as tf.TensorInfo;
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
    { name: 'paper-hybrid-shallow' as PaperModelName, size: 12 },
    { name: 'paper-deep' as PaperModelName, size: 16 }, // 4 max-pools: 16 -> 1
  ])('$name training step (batch 2, $size x $size)', ({ name, size }) => {
    it('gives the same loss and every gradient as cpu, with dropout and batch norm in training mode', async () => {
      await use('cpu');
      const ref = buildPaperModel(name, size);
      const batch = makeBatch(2, ref, 11);
      const weights = await readWeights(ref);
      // Math.random seeded (5) during each step: the same dropout masks on both backends.
      const cpu = await gradStep(tf, ref, () => toInputs(batch), batch.y, 5);
      ref.dispose();

      await use('webgpu');
      await expectNoLeak(tf, async () => {
        const m = buildPaperModel(name, size);
        setWeights(tf, m, weights);
        const gpu = await gradStep(tf, m, () => toInputs(batch), batch.y, 5);
        m.dispose();
        expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(cpu.loss));
        expect(gpu.grads.length).toBe(cpu.grads.length);
        const rms = rootMeanSquare(cpu.grads);
        cpu.grads.forEach((g, i) => expectClose(gpu.grads[i], g, `gradient of ${cpu.names[i]}`, rms));
      });
    }, SLOW);
  });

  describe.each(['paper-shallow', 'paper-hybrid-shallow', 'paper-deep'] as PaperModelName[])('%s at 48x48 (batch 2)', (name) => {
    it('trains one Adam step on WebGPU: finite loss, weights move, no leak', async () => {
      await use('webgpu');
      await expectNoLeak(tf, async () => {
        const m = buildPaperModel(name, 48);
        const batch = makeBatch(2, m, 3);
        const before = await m.getWeights()[0].data();
        const opt = tf.train.adam(1e-3);
        const inputs = toInputs(batch);
        const loss = opt.minimize(() => crossEntropy(m.apply(inputs, { training: true }) as tf.Tensor, batch.y), true)!;
        const lossValue = (await loss.data())[0];
        const after = await m.getWeights()[0].data();
        loss.dispose();
        tf.dispose(inputs);
        opt.dispose();
        m.dispose();
        expect(Number.isFinite(lossValue)).toBe(true);
        expect(lossValue).toBeGreaterThan(0);
        expect(maxAbsDiff(after, before).diff).toBeGreaterThan(1e-5);
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
      const r = mulberry32(9);
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
    await use('cpu');
    const ref = buildPaperModel('paper-hybrid-shallow', 16);
    const batch = makeBatch(2, ref, 4);
    const weights = await readWeights(ref);
    const refIn = toInputs(batch);
    const refOut = ref.predict(refIn) as tf.Tensor;
    const cpuOut = await refOut.data();
    tf.dispose([refOut, refIn]);
    ref.dispose();

    await use('webgpu');
    await expectNoLeak(tf, async () => {
      const m = buildPaperModel('paper-hybrid-shallow', 16);
      setWeights(tf, m, weights);
      let saved: tf.io.ModelArtifacts | undefined;
      await m.save(tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
      const inputs = toInputs(batch);
      const a = m.predict(inputs) as tf.Tensor, b = loaded.predict(inputs) as tf.Tensor;
      const [av, bv] = [await a.data(), await b.data()];
      tf.dispose([a, b, inputs]);
      m.dispose();
      loaded.dispose();
      expect(maxAbsDiff(av, bv).diff).toBeLessThan(1e-6);
      const rows = [0, 1].map((r) => Array.from(av.subarray(r * 7, r * 7 + 7)).reduce((u, v) => u + v, 0));
      for (const r of rows) expect(r).toBeCloseTo(1, 5);
      expectClose(av, cpuOut, 'predictions');
      const data = saved!.weightData!;
      const bytes = Array.isArray(data) ? data.reduce((n, d) => n + d.byteLength, 0) : data.byteLength;
      expect(bytes / 4).toBe(weights.reduce((n, w) => n + w.length, 0));
    });
  }, SLOW);

  it('computes the visualization gradients as cpu does: saliency, DeepDream (with resize), activation maps', async () => {
    const run = async () => {
      const m = buildPaperModel('paper-shallow', 16);
      const batch = makeBatch(1, m, 8);
      setWeights(tf, m, weights);
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
    const init = buildPaperModel('paper-shallow', 16);
    const weights = await readWeights(init);
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

interface Batch { x: Float32Array; hog: Float32Array | undefined; y: number[]; n: number; size: number; hogLength: number }

async function use(backend: 'cpu' | 'webgpu'): Promise<void> {
  if (backend === 'cpu') await tf.setBackend('cpu');
  else await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true });
}

/** A seeded batch of `n` for `m`'s inputs: an image, and a HOG vector when it has a second input. */
function makeBatch(n: number, m: tf.LayersModel, seed: number): Batch {
  const r = mulberry32(seed);
  const size = m.inputs[0].shape[1] as number;
  const hogLength = m.inputs.length > 1 ? (m.inputs[1].shape[1] as number) : 0;
  return {
    x: Float32Array.from({ length: n * size * size }, () => r() * 2 - 1),
    hog: hogLength > 0 ? Float32Array.from({ length: n * hogLength }, () => r()) : undefined,
    y: Array.from({ length: n }, (_, i) => (i * 3) % 7),
    n, size, hogLength,
  };
}

function toInputs(b: Batch): tf.Tensor | tf.Tensor[] {
  const x = tf.tensor4d(b.x, [b.n, b.size, b.size, 1]);
  return b.hog ? [x, tf.tensor2d(b.hog, [b.n, b.hogLength])] : x;
}

function crossEntropy(p: tf.Tensor, y: number[]): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.metrics.categoricalCrossentropy(tf.oneHot(tf.tensor1d(y, 'int32'), 7), p)) as tf.Scalar);
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rms = 0): void {
  expectNormClose(got, want, `${what} (webgpu vs cpu)`, { rtol: RTOL, rms });
}
