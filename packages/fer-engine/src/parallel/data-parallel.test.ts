import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDataParallelStepper, type DataParallelStepper } from './data-parallel.js';
import type { TrainStepBatch } from './types.js';

// NOTE: every stepper starts worker threads that load tfjs (seconds each on a busy machine), so
// tests share steppers where they can and use tiny models (8x8 images).

const ADAM = { name: 'adam', learningRate: 0.01 } as const;

function denseModel(seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [8, 8, 1] }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }), kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

function convModel(seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 7, activation: 'softmax', kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }), kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

function makeBatch(size: number, seed: number, withWeights = false): TrainStepBatch {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = new Float32Array(size * 64).map(() => rnd() * 2 - 1);
  const y = new Uint8Array(size).map(() => Math.floor(rnd() * 7));
  return { x, y, size, ...(withWeights ? { sampleWeights: new Float32Array(size).map(() => 0.5 + rnd()) } : {}) };
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((w, i) => w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

const create = (workers: number, model: tf.LayersModel, seed = 1, backend: 'cpu' | 'wasm' = 'cpu') =>
  createDataParallelStepper({ workers, backend })({ model, optimizer: ADAM, seed }) as Promise<DataParallelStepper>;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

describe('createDataParallelStepper (cpu workers, dense model)', () => {
  let model: tf.LayersModel;
  let one: DataParallelStepper;
  let two: DataParallelStepper;
  beforeAll(async () => {
    model = denseModel();
    [one, two] = await Promise.all([create(1, model), create(2, model)]);
  });
  afterAll(async () => {
    await Promise.all([one?.dispose(), two?.dispose()]);
    model?.dispose();
  });

  it('a 2-worker step equals a 1-worker step and the main-thread loss (odd batch, sample weights, L2)', async () => {
    const batch = makeBatch(9, 7, true);
    // Main-thread reference loss: mean(w_i * CE_i) + L2 penalty, as @fer/models' localStepper.
    const expected = tf.tidy(() => {
      const p = model.apply(tf.tensor4d(batch.x, [9, 8, 8, 1])) as tf.Tensor;
      const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(Int32Array.from(batch.y), 'int32'), 7), tf.log(tf.clipByValue(p, 1e-7, 1))), 1));
      let loss = tf.div(tf.sum(tf.mul(ce, tf.tensor1d(batch.sampleWeights!))), 9);
      for (const r of model.calculateLosses()) loss = tf.add(loss, r);
      return loss.dataSync()[0];
    });
    for (let i = 0; i < 3; i++) {
      const b = i === 0 ? batch : makeBatch(9, 100 + i, true);
      const [r1, r2] = await Promise.all([one.step(b, 0.01), two.step(b, 0.01)]);
      if (i === 0) expect(r1.loss).toBeCloseTo(expected, 5);
      expect(r2.loss).toBeCloseTo(r1.loss, 5);
      expect(r2.accuracy).toBe(r1.accuracy);
    }
    const [w1, w2] = await Promise.all([one.replicaWeights(0), two.replicaWeights(0)]);
    expect(maxAbsDiff(w1, w2)).toBeLessThan(1e-5);
  });

  it('handles a batch smaller than the worker count (an empty shard)', async () => {
    const b = makeBatch(1, 3);
    const [r1, r2] = await Promise.all([one.step(b, 0.01), two.step(b, 0.01)]);
    expect(r2.loss).toBeCloseTo(r1.loss, 5);
    const [w1, w2] = await Promise.all([one.replicaWeights(0), two.replicaWeights(0)]);
    expect(maxAbsDiff(w1, w2)).toBeLessThan(1e-5);
  });

  it('rejects a worker failure with a FerEngineError naming the worker, and stays usable', async () => {
    const b = makeBatch(4, 5);
    b.x[3 * 64] = NaN; // sample 3 lives in worker 1's shard
    await expect(two.step(b, 0.01)).rejects.toMatchObject({ name: 'FerEngineError', code: 'E_NON_FINITE_LOSS', message: expect.stringContaining('Worker 1 of 2') });
    await expect(two.step({ ...makeBatch(2, 1), y: new Uint8Array([0, 255]) }, 0.01)).rejects.toMatchObject({ code: 'E_BAD_LABEL' });
    await expect(two.step(makeBatch(2, 1), NaN)).rejects.toMatchObject({ code: 'E_BAD_LEARNING_RATE' });
    await expect(two.step({ ...makeBatch(2, 1), size: 3 }, 0.01)).rejects.toMatchObject({ code: 'E_BAD_BATCH' });
    const batch = makeBatch(4, 6);
    const pending = two.step(batch, 0.01);
    batch.x.fill(NaN); // the batch is copied when step() is called: the caller may reuse its buffers at once
    expect(Number.isFinite((await pending).loss)).toBe(true);
  });

  it('keeps worker tensor counts and bytes flat over 100 steps', async () => {
    await two.step(makeBatch(8, 1), 0.01);
    const before = await two.memory();
    for (let i = 0; i < 100; i++) await two.step(makeBatch(8, 200 + i), 0.005);
    const after = await two.memory();
    expect(after.map((m) => m.numTensors)).toEqual(before.map((m) => m.numTensors));
    expect(after.map((m) => m.numBytes)).toEqual(before.map((m) => m.numBytes));
  });

  it('round-trips optimizer state: a restored stepper continues exactly', async () => {
    await two.syncToModel();
    const state = await two.getOptimizerState();
    expect(state.map((s) => s.name)).toContain('iter');
    const restored = await create(2, model);
    try {
      await restored.setOptimizerState(state);
      const b = makeBatch(6, 77);
      const [a, c] = await Promise.all([two.step(b, 0.002), restored.step(b, 0.002)]);
      expect(c.loss).toBe(a.loss);
      const [wa, wc] = await Promise.all([two.replicaWeights(0), restored.replicaWeights(0)]);
      expect(maxAbsDiff(wa, wc)).toBe(0);
    } finally {
      await restored.dispose();
    }
  });
});

describe('createDataParallelStepper (cpu workers, conv + batch norm + dropout)', () => {
  it('keeps replicas identical, is deterministic for a seed, and syncs BN statistics to the model', async () => {
    const model = convModel();
    const [a, b] = await Promise.all([create(2, model, 42), create(2, model, 42)]);
    try {
      const losses: number[][] = [[], []];
      for (let i = 0; i < 4; i++) {
        const batch = makeBatch(6, 300 + i);
        const [ra, rb] = await Promise.all([a.step(batch, 0.01), b.step(batch, 0.01)]);
        losses[0].push(ra.loss);
        losses[1].push(rb.loss);
      }
      expect(losses[1]).toEqual(losses[0]); // same seed: same dropout masks, bit-identical
      const [a0, a1, b0] = await Promise.all([a.replicaWeights(0), a.replicaWeights(1), b.replicaWeights(0)]);
      const trainable = model.trainableWeights.length;
      // Trainable weights are bit-identical across replicas; BN moving statistics are per shard.
      expect(maxAbsDiff(a0.slice(0, trainable), a1.slice(0, trainable))).toBe(0);
      expect(maxAbsDiff(a0.slice(trainable), a1.slice(trainable))).toBeGreaterThan(0);
      expect(maxAbsDiff(a0, b0)).toBe(0);
      await a.syncToModel();
      const main = model.getWeights().map((t) => t.dataSync() as Float32Array);
      expect(maxAbsDiff(main, a0)).toBe(0);
      const movingVariance = model.layers[1].getWeights()[3].dataSync();
      expect(Array.from(movingVariance).some((v) => v !== 1)).toBe(true);
      // A rejected (NaN) step leaves the replica untouched, BN moving statistics included.
      const bad = makeBatch(6, 9);
      bad.x[4 * 64] = NaN;
      await expect(a.step(bad, 0.01)).rejects.toMatchObject({ code: 'E_NON_FINITE_LOSS' });
      expect(maxAbsDiff(await a.replicaWeights(1), a1)).toBe(0);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
      model.dispose();
    }
  });

  it('a stepper restored from getOptimizerState() draws the same dropout masks as the uninterrupted one', async () => {
    const model = convModel(3);
    const a = await create(2, model, 7);
    let restored: DataParallelStepper | undefined;
    try {
      for (let i = 0; i < 3; i++) await a.step(makeBatch(6, 500 + i), 0.01);
      await a.syncToModel();
      const state = await a.getOptimizerState();
      expect(state.find((s) => s.name === '__dataParallelStep')?.data[0]).toBe(3);
      restored = await create(2, model, 7); // starts from the synced weights, as train() does on resume
      await restored.setOptimizerState(state);
      for (let i = 3; i < 5; i++) {
        const batch = makeBatch(6, 500 + i);
        const [ra, rb] = await Promise.all([a.step(batch, 0.01), restored.step(batch, 0.01)]);
        expect(rb.loss).toBe(ra.loss);
      }
      const [wa, wb] = await Promise.all([a.replicaWeights(0), restored.replicaWeights(0)]);
      const trainable = model.trainableWeights.length;
      expect(maxAbsDiff(wa.slice(0, trainable), wb.slice(0, trainable))).toBe(0);
    } finally {
      await Promise.all([a.dispose(), restored?.dispose()]);
      model.dispose();
    }
  });

  it('a worker that dies breaks the stepper with a FerEngineError; dispose() terminates every worker', async () => {
    const post = vi.spyOn(Worker.prototype, 'postMessage');
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const model = denseModel();
    try {
      const s = await create(2, model);
      await s.step(makeBatch(4, 1), 0.01);
      const workers = [...new Set(post.mock.contexts as Worker[])];
      expect(workers).toHaveLength(2);
      await workers[1].terminate(); // simulate a crash (e.g. out of memory) of worker 1
      await expect(s.step(makeBatch(4, 2), 0.01)).rejects.toMatchObject({ name: 'FerEngineError', message: expect.stringContaining('Worker 1 of 2') });
      terminate.mockClear();
      await s.dispose();
      expect(terminate).toHaveBeenCalledTimes(2);
      await Promise.all(terminate.mock.results.map((r) => r.value));
      await expect(s.step(makeBatch(2, 1), 0.01)).rejects.toMatchObject({ code: 'E_DISPOSED' });
      await s.dispose(); // idempotent
    } finally {
      post.mockRestore();
      terminate.mockRestore();
      model.dispose();
    }
  });
});

describe('createDataParallelStepper (cpu workers, other model shapes)', () => {
  it('a hybrid image + hog model: 2 workers equal 1 worker', async () => {
    const image = tf.input({ shape: [8, 8, 1], name: 'image' });
    const hog = tf.input({ shape: [5], name: 'hog' });
    const merged = tf.layers.concatenate().apply([tf.layers.flatten().apply(image) as tf.SymbolicTensor, hog]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) }).apply(merged) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [image, hog], outputs: out });
    const [one, two] = await Promise.all([create(1, model), create(2, model)]);
    try {
      for (let i = 0; i < 2; i++) {
        const batch = { ...makeBatch(5, 600 + i), hog: new Float32Array(25).map((_, j) => Math.cos(j + i)) };
        const [r1, r2] = await Promise.all([one.step(batch, 0.01), two.step(batch, 0.01)]);
        expect(r2.loss).toBeCloseTo(r1.loss, 5);
      }
      await expect(two.step(makeBatch(5, 1), 0.01)).rejects.toMatchObject({ code: 'E_BAD_BATCH', message: expect.stringContaining('hog') });
      expect(maxAbsDiff(await one.replicaWeights(0), await two.replicaWeights(0))).toBeLessThan(1e-5);
    } finally {
      await Promise.all([one.dispose(), two.dispose()]);
      model.dispose();
    }
  });

  it('a batch-norm model: 2 workers approximate 1 worker (BN batch statistics are per shard)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        tf.layers.batchNormalization(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      ],
    });
    const [one, two] = await Promise.all([create(1, model), create(2, model)]);
    try {
      const batch = makeBatch(16, 700);
      const [r1, r2] = await Promise.all([one.step(batch, 0.01), two.step(batch, 0.01)]);
      expect(Math.abs(r2.loss - r1.loss)).toBeLessThan(0.1 * r1.loss);
      expect(r2.loss).not.toBe(r1.loss);
    } finally {
      await Promise.all([one.dispose(), two.dispose()]);
      model.dispose();
    }
  });
});

describe('createDataParallelStepper (wasm workers with the training kernels)', () => {
  it('trains a conv + BN model on wasm and matches the cpu replicas up to float tolerance', async () => {
    const model = convModel(3);
    const [wasm, cpu] = await Promise.all([create(2, model, 5, 'wasm'), create(2, model, 5, 'cpu')]);
    try {
      for (let i = 0; i < 2; i++) {
        const batch = makeBatch(6, 400 + i);
        const [rw, rc] = await Promise.all([wasm.step(batch, 0.01), cpu.step(batch, 0.01)]);
        expect(rw.loss).toBeCloseTo(rc.loss, 3);
      }
      // No tensor or wasm-heap growth once warm (the wasm heap never shrinks, so growth would show).
      const before = await wasm.memory();
      expect(before[0].wasmHeapBytes).toBeGreaterThan(0);
      for (let i = 0; i < 15; i++) await wasm.step(makeBatch(6, 500 + i), 0.01);
      expect(await wasm.memory()).toEqual(before);
    } finally {
      await Promise.all([wasm.dispose(), cpu.dispose()]);
      model.dispose();
    }
  });
});

describe('createDataParallelStepper (wasm workers with the native kernels)', () => {
  const required = !!process.env['CI'] || process.env['FER_NATIVE_REQUIRED'] === '1';

  it('two native workers equal one native worker, and both equal WASM-kernel workers (model without BN)', async () => {
    const model = denseModel(7);
    const make = (workers: number, native: boolean | 'auto') =>
      createDataParallelStepper({ workers, backend: 'wasm', native, threads: 1 })({ model, optimizer: ADAM, seed: 3 }) as Promise<DataParallelStepper>;
    const [one, two, plain] = await Promise.all([make(1, 'auto'), make(2, 'auto'), make(2, false)]);
    try {
      const active = one.nativeKernels[0]?.active ?? false;
      if (required) expect(active, `native kernels in the worker: ${one.nativeKernels[0]?.why}`).toBe(true);
      expect(two.nativeKernels.map((n) => n?.active)).toEqual([active, active]);
      expect(plain.nativeKernels.every((n) => n === undefined)).toBe(true);
      for (let i = 0; i < 3; i++) {
        const batch = makeBatch(9, 700 + i, true);
        const [r1, r2, rp] = await Promise.all([one.step(batch, 0.01), two.step(batch, 0.01), plain.step(batch, 0.01)]);
        expect(r2.loss).toBeCloseTo(r1.loss, 5);
        expect(rp.loss).toBeCloseTo(r1.loss, 5);
      }
      const [w1, w2, wp] = await Promise.all([one.replicaWeights(0), two.replicaWeights(1), plain.replicaWeights(0)]);
      expect(maxAbsDiff(w2, w1)).toBeLessThan(1e-5);
      expect(maxAbsDiff(wp, w1)).toBeLessThan(1e-5);
    } finally {
      await Promise.all([one.dispose(), two.dispose(), plain.dispose()]);
      model.dispose();
    }
  });

  it('native: true fails the start with E_NATIVE_UNAVAILABLE when the addon cannot load', async () => {
    const model = denseModel(8);
    const prev = process.env['FER_ENGINE_NATIVE'];
    process.env['FER_ENGINE_NATIVE'] = '0'; // inherited by the worker threads
    try {
      await expect(createDataParallelStepper({ workers: 1, backend: 'wasm', native: true })({ model, optimizer: ADAM, seed: 1 })).rejects.toMatchObject({ code: 'E_NATIVE_UNAVAILABLE' });
    } finally {
      if (prev === undefined) delete process.env['FER_ENGINE_NATIVE'];
      else process.env['FER_ENGINE_NATIVE'] = prev;
      model.dispose();
    }
  });
});
