import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinModels, createRegistry } from './index.js';
import { testModelDefinition } from './testing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

// Shrunk configs so the kit runs on tfjs' cpu backend in seconds.
const SMALL: Record<string, Record<string, unknown>> = {
  'paper-shallow': { inputSize: 16, filters: [2, 3], denseUnits: 4 },
  'paper-deep': { inputSize: 16, filters: [2, 2, 3, 3], denseUnits: [4, 5] },
  'paper-hybrid-shallow': { inputSize: 16, filters: [2, 3], denseUnits: 4, hogUnits: 3 },
  'paper-hybrid-deep': { inputSize: 16, filters: [2, 2, 3, 3], denseUnits: [4, 5], fusion: 'dense' },
  'vgg-fer': { inputSize: 16, filters: [2, 2, 3, 3], denseUnits: [4, 4] },
  'mini-xception': { inputSize: 16, baseFilters: 2, moduleFilters: [2, 3] },
};

describe.each(builtinModels.map((d) => [d.name, d] as const))('conformance kit: %s', (name, def) => {
  it('builds, trains one step, saves, loads, predicts the same, leaks nothing', async () => {
    await testModelDefinition(def, { config: SMALL[name] });
  });
});

describe('paper models: batch-norm momentum', () => {
  const registry = createRegistry(builtinModels);
  const momenta = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.getConfig().momentum);
  it.each(['paper-shallow', 'paper-deep', 'paper-hybrid-shallow', 'paper-hybrid-deep'])('%s: every BN layer uses bnMomentum (default 0.9), out-of-range values throw', (name) => {
    const small = SMALL[name];
    const m1 = registry.create(name, small, { seed: 1 });
    const m2 = registry.create(name, { ...small, bnMomentum: 0.99 }, { seed: 1 });
    try {
      expect(momenta(m1).length).toBeGreaterThan(0);
      expect(new Set(momenta(m1))).toEqual(new Set([0.9]));
      expect(new Set(momenta(m2))).toEqual(new Set([0.99]));
    } finally {
      m1.dispose();
      m2.dispose();
    }
    expect(() => registry.create(name, { ...small, bnMomentum: 1 })).toThrow(/bnMomentum: got 1, expected a number in \[0, 1\)/);
  });
});
