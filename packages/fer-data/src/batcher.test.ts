import * as tf from '@tensorflow/tfjs';
import { expectNoLeak } from '@fer/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchToTensors, classWeights, createBatcher } from './batcher.js';
import { fitNormalizer } from './normalize.js';
import { splitIndices } from './splits.js';
import { makeSyntheticFer } from './synthetic.js';
import type { FerDataError } from './errors.js';

const ds = makeSyntheticFer({ seed: 3, counts: { Training: 70, PublicTest: 14, PrivateTest: 0 } });
const train = splitIndices(ds, 'Training');
const norm = fitNormalizer(ds, train, { kind: 'unit' });

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('createBatcher', () => {
  it('covers every row once per epoch, deterministic for (seed, epoch), different across epochs', () => {
    const b = createBatcher({ dataset: ds, indices: train, batchSize: 16, seed: 9, normalizer: norm, augment: [{ name: 'hflip' }] });
    expect(b.stepsPerEpoch).toBe(5);
    const run = (e: number) => [...b.epoch(e)];
    const e0 = run(0), again = run(0), e1 = run(1);
    expect(e0.map((x) => x.size)).toEqual([16, 16, 16, 16, 6]);
    const seen = e0.flatMap((x) => Array.from(x.indices)).sort((a, c) => a - c);
    expect(seen).toEqual(Array.from(train));
    expect(e0[0].x).toEqual(again[0].x);
    expect(Array.from(e0[0].indices)).not.toEqual(Array.from(e1[0].indices));
    // labels follow the indices; x is normalized (unit) and NHWC-flat
    expect(Array.from(e0[1].y)).toEqual(Array.from(e0[1].indices, (i) => ds.labels[i]));
    expect(e0[0].x.length).toBe(16 * 2304);
    expect(Math.max(...e0[0].x)).toBeLessThanOrEqual(1);
  });
  it('without augmentation and shuffle, x is exactly the normalized pixels', () => {
    const b = createBatcher({ dataset: ds, indices: train, batchSize: 8, seed: 1, normalizer: norm, shuffle: false, dropLast: true });
    expect(b.stepsPerEpoch).toBe(8);
    const first = [...b.epoch(0)][0];
    expect(Array.from(first.indices)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.x[100]).toBeCloseTo(ds.pixels[100] / 255, 6);
  });
  it('keepRaw gives the augmented 0-255 images before normalization; absent by default', () => {
    const augment = [{ name: 'hflip' }, { name: 'shift' }] as const;
    const mean = fitNormalizer(ds, train, { kind: 'mean-image' });
    const b = createBatcher({ dataset: ds, indices: train, batchSize: 16, seed: 4, normalizer: mean, augment, keepRaw: true });
    let moved = 0;
    for (const batch of b.epoch(2)) {
      expect(batch.raw).toBeInstanceOf(Float32Array);
      expect(batch.raw!.length).toBe(batch.size * 2304);
      expect(batch.raw).not.toBe(batch.x);
      expect(mean.apply(batch.raw!, batch.size)).toEqual(batch.x);
      for (let j = 0; j < batch.size; j++) {
        const i = batch.indices[j];
        if (batch.raw!.subarray(j * 2304, (j + 1) * 2304).some((v, p) => v !== ds.pixels[i * 2304 + p])) moved++;
      }
    }
    expect(moved).toBeGreaterThan(0);
    // same x as without keepRaw (no extra randomness drawn)
    const plain = createBatcher({ dataset: ds, indices: train, batchSize: 16, seed: 4, normalizer: mean, augment });
    const withRaw = [...b.epoch(2)], without = [...plain.epoch(2)];
    expect(withRaw.map((x) => x.x)).toEqual(without.map((x) => x.x));
    for (const batch of without) expect(batch.raw).toBeUndefined();
    expect('raw' in without[0]).toBe(false);
  });
  it('keepRaw without augmentation gives the data set pixels of the indices', () => {
    const b = createBatcher({ dataset: ds, indices: train, batchSize: 16, seed: 7, normalizer: norm, keepRaw: true });
    for (const batch of b.epoch(0)) {
      const want = Float32Array.from(Array.from(batch.indices).flatMap((i) => Array.from(ds.pixels.subarray(i * 2304, (i + 1) * 2304))));
      expect(batch.raw).toEqual(want);
    }
  });
  it('classBalanced draws classes evenly from an imbalanced set', () => {
    const idx = Array.from(train).filter((i) => ds.labels[i] !== 3 || i % 5 === 0);
    const b = createBatcher({ dataset: ds, indices: idx, batchSize: 1000, seed: 2, normalizer: norm, classBalanced: true });
    const counts = new Array(7).fill(0);
    for (const batch of b.epoch(0)) for (const y of batch.y) counts[y]++;
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(counts.reduce((a, c) => a + c, 0)).toBe(idx.length);
  });
  it('rejects bad options', () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as FerDataError).code; } return 'none'; };
    expect(code(() => createBatcher({ dataset: ds, indices: train, batchSize: 0, seed: 1, normalizer: norm }))).toBe('E_BAD_OPTION');
    expect(code(() => createBatcher({ dataset: ds, indices: [9999], batchSize: 4, seed: 1, normalizer: norm }))).toBe('E_BAD_INDEX');
    expect(code(() => createBatcher({ dataset: ds, indices: train, batchSize: 4, seed: 1, normalizer: norm, augment: [{ name: 'flip' } as never] }))).toBe('E_BAD_OPTION');
    expect(code(() => createBatcher({ dataset: ds, indices: train, batchSize: 4, seed: 1, normalizer: norm, shufle: true } as never))).toBe('E_BAD_OPTION');
  });
});

describe('classWeights', () => {
  it('is n / (k * count), 0 for absent classes, ignores 255', () => {
    const w = classWeights(Uint8Array.from([0, 0, 0, 1, 255]), 3);
    expect(Array.from(w)).toEqual([4 / 9, 4 / 3, 0].map((v) => Math.fround(v)));
  });
});

describe('batchToTensors', () => {
  it('makes NHWC x and one-hot y without leaking', async () => {
    const b = createBatcher({ dataset: ds, indices: train, batchSize: 4, seed: 1, normalizer: norm });
    const batch = [...b.epoch(0)][0];
    await expectNoLeak(tf, () => {
      const { x, y } = batchToTensors(tf, batch);
      expect(x.shape).toEqual([4, 48, 48, 1]);
      expect(y.shape).toEqual([4, 7]);
      const am = y.argMax(1);
      expect(Array.from(am.dataSync())).toEqual(Array.from(batch.y));
      am.dispose();
      tf.dispose([x, y]);
    }, 0);
  });
});
