import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from './spec.js';
import { trainModel, type PreparedSplit } from './trainer.js';
import { mulberry32 } from './rng.js';

function tinyModel(): tf.LayersModel {
  const x = tf.input({ shape: [48, 48, 1], name: 'image' });
  let y = tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: 4, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.flatten().apply(y) as tf.SymbolicTensor;
  y = tf.layers.dropout({ rate: 0.3 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
}

function split(n: number, seed: number): PreparedSplit {
  const r = mulberry32(seed);
  const y = Uint8Array.from({ length: n }, (_, i) => i % 7);
  const x = new Float32Array(n * 2304);
  for (let i = 0; i < n; i++) for (let p = 0; p < 2304; p++) x[i * 2304 + p] = r() - 0.5 + (p % 7 === y[i] ? 1 : 0);
  return { count: n, x, y, hogLength: 0 };
}

describe('trainModel', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });
  const config = { ...DEFAULTS.train, epochs: 2, batchSize: 8, learningRate: 0.01 };
  const train = split(32, 1), val = split(14, 2);

  it('is repeatable for a seed (dropout included) and resumes from its last checkpoint', async () => {
    const run = async (dir: string, epochs: number) => {
      const model = tinyModel();
      try { return await trainModel({ model, train, val, config: { ...config, epochs }, seed: 3, dir }); } finally { model.dispose(); }
    };
    const a = await run(mkdtempSync(join(tmpdir(), 'fer-tr-')), 2);
    const b = await run(mkdtempSync(join(tmpdir(), 'fer-tr-')), 2);
    expect(a.history.map((h) => h.loss)).toEqual(b.history.map((h) => h.loss));
    const dir = mkdtempSync(join(tmpdir(), 'fer-tr-'));
    const first = await run(dir, 1);
    expect(first.resumedFrom).toBe(0);
    const second = await run(dir, 2);
    expect(second.resumedFrom).toBe(1);
    expect(second.history).toHaveLength(2);
    expect(second.bestEpoch).toBeGreaterThanOrEqual(1);
  });
});
