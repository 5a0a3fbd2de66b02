import * as tf from '@tensorflow/tfjs';
import { hogBatch } from '@fer/hog';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from './_random.js';
import { createRegistry, type ModelDef } from './registry.js';
import { loadModel, saveModel } from './save-load.js';
import { predict } from './predict.js';
import type { TrainStepBatch } from './stepper.js';
import { train, type TrainSource, type ValidationSet } from './train.js';

/** A tiny seeded in-memory data set in the trainer's shape (raw pixels too, for predict). */
export interface TinyData {
  train: TrainSource;
  validation: ValidationSet;
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/**
 * A tiny, seeded, learnable-ish data set of `count` gray images of `inputSize`^2 pixels: the label
 * brightens one horizontal band. Batches are reshuffled per epoch with a PRNG seeded by (seed, epoch),
 * so `epoch(e)` is a pure function of `e` (as @fer/data's batcher is). Pixels are scaled to [0, 1].
 * @example
 * const data = tinyTrainData({ count: 16, inputSize: 16, batchSize: 4 });
 * await train({ model, data, config: { epochs: 1 } });
 */
export function tinyTrainData(opts: { count?: number; inputSize?: number; batchSize?: number; seed?: number; numClasses?: number; hog?: Record<string, unknown> } = {}): TinyData {
  const { count = 16, inputSize = 48, batchSize = 4, seed = 1, numClasses = 7 } = opts;
  const size = inputSize * inputSize;
  const r = new SeededRandom(seed);
  const pixels = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  const band = Math.max(1, Math.floor(inputSize / numClasses));
  for (let i = 0; i < count; i++) {
    const y = i % numClasses;
    labels[i] = y;
    for (let p = 0; p < size; p++) {
      const row = Math.floor(p / inputSize);
      const inBand = row >= y * band && row < (y + 1) * band;
      pixels[i * size + p] = Math.min(255, Math.floor(r.next() * 96) + (inBand ? 150 : 40));
    }
  }
  const x = Float32Array.from(pixels, (v) => v / 255);
  const hog = opts.hog ? hogBatch(pixels, { count, width: inputSize, height: inputSize, ...opts.hog } as never) : undefined;
  const hogLen = hog ? hog.length / count : 0;
  const steps = Math.ceil(count / batchSize);
  const trainSource: TrainSource = {
    stepsPerEpoch: steps,
    *epoch(e: number): Iterable<TrainStepBatch> {
      const order = Array.from({ length: count }, (_, i) => i);
      const rr = new SeededRandom((seed * 7919 + e * 104729) >>> 0);
      for (let i = count - 1; i > 0; i--) {
        const j = Math.floor(rr.next() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let s = 0; s < steps; s++) {
        const idx = order.slice(s * batchSize, (s + 1) * batchSize);
        const bx = new Float32Array(idx.length * size);
        const by = new Uint8Array(idx.length);
        const bh = hog ? new Float32Array(idx.length * hogLen) : undefined;
        idx.forEach((k, j) => {
          bx.set(x.subarray(k * size, (k + 1) * size), j * size);
          by[j] = labels[k];
          if (bh && hog) bh.set(hog.subarray(k * hogLen, (k + 1) * hogLen), j * hogLen);
        });
        yield { x: bx, y: by, size: idx.length, ...(bh ? { hog: bh } : {}) };
      }
    },
  };
  return { train: trainSource, validation: { x, y: labels, count, ...(hog ? { hog } : {}) }, pixels, labels, count };
}

/** Options of {@link testModelDefinition}. */
export interface ModelConformanceOptions {
  /** Config for the test build; shrink big models here (e.g. { inputSize: 16, filters: [2, 2] }). */
  config?: Record<string, unknown>;
  /** Images in the test batch. Default 4. */
  count?: number;
}

/**
 * The conformance kit: builds `def` with `opts.config`, checks inputs/outputs, trains one step (loss
 * finite, weights change), saves, loads, checks predictions match, softmax rows sum to 1 with no NaN,
 * and that nothing leaks and dispose frees everything. Throws an Error describing the first failure.
 * Run it from your own tests on your own model definitions.
 * @example
 * import { testModelDefinition } from '@fer/models/testing';
 * it('my model conforms', () => testModelDefinition(myDef, { config: { inputSize: 16 } }));
 */
export async function testModelDefinition(def: ModelDef<any>, opts: ModelConformanceOptions = {}): Promise<void> {
  const fail = (msg: string): never => {
    throw new Error(`testModelDefinition(${def.name}): ${msg}`);
  };
  const count = opts.count ?? 4;
  const registry = createRegistry([def]);
  const config = registry.resolveConfig(def.name, opts.config);
  const baseline = tf.memory().numTensors;
  const model = registry.create(def.name, opts.config, { seed: 1 });
  const dir = await mkdtemp(join(tmpdir(), `fer-kit-${def.name}-`));
  let loaded: Awaited<ReturnType<typeof loadModel>> | undefined;
  try {
    if (model.inputs[0].name !== 'image' && !model.inputNames[0].startsWith('image')) fail(`the first input is named "${model.inputNames[0]}", expected "image".`);
    const shape = model.inputs[0].shape;
    if (shape.length !== 4 || shape[3] !== 1 || shape[1] !== shape[2]) fail(`image input has shape [${shape.join(', ')}], expected [null, s, s, 1].`);
    const side = shape[1] as number;
    const hybrid = model.inputs.length > 1;
    if (hybrid && !model.inputNames[1].startsWith('hog')) fail(`the second input is named "${model.inputNames[1]}", expected "hog".`);
    if (Boolean(def.inputs.hog) !== hybrid) fail(`inputs.hog is ${def.inputs.hog ? 'set' : 'unset'} but the model has ${model.inputs.length} inputs.`);
    const numClasses = model.outputs[0].shape[1] as number;
    if (model.outputs.length !== 1 || model.outputs[0].shape.length !== 2) fail('expected one output of shape [null, numClasses].');
    const hogOptions = hybrid ? (config.hog as Record<string, unknown>) : undefined;
    const data = tinyTrainData({ count, inputSize: side, batchSize: count, numClasses, hog: hogOptions });

    const before = await Promise.all(model.trainableWeights.map(async (w) => Float32Array.from((await w.read().data()) as Float32Array)));
    const tensorsBeforeTrain = tf.memory().numTensors;
    const result = await train({ model, data: { train: data.train }, config: { epochs: 1, earlyStopping: { restoreBest: false } } });
    if (tf.memory().numTensors !== tensorsBeforeTrain) fail(`training one step leaked ${tf.memory().numTensors - tensorsBeforeTrain} tensors.`);
    if (!Number.isFinite(result.history[0].loss)) fail(`the training loss is ${result.history[0].loss}.`);
    const after = await Promise.all(model.trainableWeights.map((w) => w.read().data()));
    const changed = after.some((now, i) => now.some((v, j) => v !== before[i][j]));
    if (!changed) fail('one training step changed no trainable weight.');

    const meta = { modelName: def.name, config, classNames: Array.from({ length: numClasses }, (_, i) => `class${i}`), ...(hogOptions ? { hog: hogOptions } : {}) };
    const stored = await saveModel(dir, model, meta);
    const p1 = await predict({ model, meta: stored }, data.pixels, count);
    loaded = await loadModel(dir);
    const tensorsBeforePredict = tf.memory().numTensors;
    const p2 = await predict(loaded, data.pixels, count);
    if (tf.memory().numTensors !== tensorsBeforePredict) fail('predict leaked tensors.');
    for (let i = 0; i < p1.probabilities.length; i++) {
      if (Number.isNaN(p2.probabilities[i])) fail(`prediction ${i} is NaN.`);
      if (Math.abs(p1.probabilities[i] - p2.probabilities[i]) > 1e-6) fail(`after save/load, probability ${i} is ${p2.probabilities[i]}, was ${p1.probabilities[i]}.`);
    }
    for (let i = 0; i < count; i++) {
      let sum = 0;
      for (let k = 0; k < numClasses; k++) sum += p2.probabilities[i * numClasses + k];
      if (Math.abs(sum - 1) > 1e-4) fail(`softmax row ${i} sums to ${sum}, expected 1.`);
    }
  } finally {
    model.dispose();
    loaded?.model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
  const left = tf.memory().numTensors - baseline;
  if (left !== 0) fail(`after dispose, ${left} tensors are still alive.`);
}
