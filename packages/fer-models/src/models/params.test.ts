import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinModels, createRegistry } from '../index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const registry = createRegistry(builtinModels);

function counts(name: string, config?: Record<string, unknown>) {
  const m = registry.create(name, config);
  const total = m.countParams();
  const trainable = m.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a! * b!, 1)!, 0);
  const flatten = m.layers.find((l) => l.name === 'flatten')?.outputShape;
  m.dispose();
  return { total, trainable, flatten };
}

// BN layers hold 4 vectors (gamma, beta, moving mean, moving variance); 2 of them are trainable.
describe('parameter counts (arithmetic by hand)', () => {
  it('paper-shallow', () => {
    const conv1 = 3 * 3 * 1 * 32 + 32; // 320
    const conv2 = 3 * 3 * 32 * 64 + 64; // 18,496
    const bn = 4 * 32 + 4 * 64; // 384
    const fc = 24 * 24 * 64 * 512 + 512; // 36,864 inputs -> 18,874,880
    const out = 512 * 7 + 7; // 3,591
    const c = counts('paper-shallow');
    expect(c.flatten).toEqual([null, 36864]);
    expect(c.total).toBe(conv1 + conv2 + bn + fc + out); // 18,897,671
    expect(c.total).toBe(18_897_671);
    expect(c.trainable).toBe(c.total - 2 * (32 + 64));
    expect(fc).toBeGreaterThan(18.8e6);
  });

  it('paper-deep: 3x3x512 = 4,608 into FC 256', () => {
    const convs = (3 * 3 * 1 * 64 + 64) + (5 * 5 * 64 * 128 + 128) + (3 * 3 * 128 * 512 + 512) + (3 * 3 * 512 * 512 + 512);
    const convBn = 4 * (64 + 128 + 512 + 512);
    const fc = (4608 * 256 + 256) + (256 * 512 + 512);
    const fcBn = 4 * (256 + 512);
    const out = 512 * 7 + 7;
    const c = counts('paper-deep');
    expect(c.flatten).toEqual([null, 4608]);
    expect(c.total).toBe(convs + convBn + fc + fcBn + out);
    expect(c.total).toBe(4_478_727);
  });

  it('paper-hybrid-shallow and -deep: 900 HOG features join the flattened features', () => {
    // HOG 48x48, 8x8 cells -> 6x6 cells, 2x2 blocks -> 5x5 blocks x 4 cells x 9 bins = 900.
    const s = counts('paper-hybrid-shallow');
    expect(s.total).toBe(18_897_671 + 900 * 512);
    const d = counts('paper-hybrid-deep');
    expect(d.total).toBe(4_478_727 + 900 * 256);
    const late = counts('paper-hybrid-deep', { fusion: 'dense', hogUnits: 64 });
    // HOG branch Dense 900->64 + BN(64); softmax now takes 512 + 64 inputs.
    expect(late.total).toBe(4_478_727 + (900 * 64 + 64) + 4 * 64 + 64 * 7);
  });

  it('vgg-fer', () => {
    const f = [64, 128, 256, 512];
    let convs = 0, cin = 1;
    for (const c of f) {
      convs += (3 * 3 * cin * c + c) + 4 * c + (3 * 3 * c * c + c) + 4 * c;
      cin = c;
    }
    const fc = (3 * 3 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 7 + 7);
    const c = counts('vgg-fer');
    expect(c.total).toBe(convs + fc);
    expect(c.total).toBe(40_380_359);
  });

  it('mini-xception (~60k parameters)', () => {
    const stem = (3 * 3 * 1 * 8) + 4 * 8 + (3 * 3 * 8 * 8) + 4 * 8;
    let modules = 0, cin = 8;
    for (const f of [16, 32, 64, 128]) {
      const res = cin * f + 4 * f;
      const sep1 = 3 * 3 * cin + cin * f + 4 * f;
      const sep2 = 3 * 3 * f + f * f + 4 * f;
      modules += res + sep1 + sep2;
      cin = f;
    }
    const head = 3 * 3 * 128 * 7 + 7;
    const c = counts('mini-xception');
    expect(c.total).toBe(stem + modules + head);
    expect(c.total).toBe(58_423);
    expect(c.total).toBeGreaterThan(50_000);
    expect(c.total).toBeLessThan(70_000);
  });
});
