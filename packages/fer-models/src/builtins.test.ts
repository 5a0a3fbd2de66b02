import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { builtinModels } from './index.js';
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
