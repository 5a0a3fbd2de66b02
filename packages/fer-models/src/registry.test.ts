import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinModels, createRegistry, defineModel, type FerModelsError } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as FerModelsError).code;
  }
  return undefined;
}

const tiny = defineModel({
  name: 'tiny-test',
  description: 'flatten + softmax',
  paper: { cite: 'none' },
  inputs: { image: [8, 8, 1] },
  numClasses: 7,
  defaults: { units: 7, nested: { a: 1 } },
  build: (c) => {
    const m = tf.sequential();
    m.add(tf.layers.flatten({ inputShape: [8, 8, 1] }));
    m.add(tf.layers.dense({ units: c.units, activation: 'softmax' }));
    return m;
  },
});

describe('registry', () => {
  it('lists the built-ins sorted and is empty without defs (no global)', () => {
    const r = createRegistry(builtinModels);
    expect(r.list()).toEqual(['mini-xception', 'paper-deep', 'paper-hybrid-deep', 'paper-hybrid-shallow', 'paper-shallow', 'vgg-fer']);
    expect(r.list('paper-hybrid')).toEqual(['paper-hybrid-deep', 'paper-hybrid-shallow']);
    expect(r.list(/^paper-(shallow|deep)$/)).toEqual(['paper-deep', 'paper-shallow']);
    expect(createRegistry().list()).toEqual([]);
    expect(createRegistry().has('paper-shallow')).toBe(false);
  });

  it('throws on duplicates unless override', () => {
    const r = createRegistry([tiny]);
    expect(code(() => r.register(tiny))).toBe('E_DUPLICATE_MODEL');
    const other = { ...tiny, description: 'replaced' };
    r.register(other, { override: true });
    expect(r.get('tiny-test').description).toBe('replaced');
    expect(code(() => createRegistry([tiny, tiny]))).toBe('E_DUPLICATE_MODEL');
  });

  it('unknown names list the known ones', () => {
    const r = createRegistry(builtinModels);
    expect(() => r.get('mini-xeption')).toThrow(/Unknown model "mini-xeption". Known: mini-xception, paper-deep/);
    expect(code(() => r.create('nope'))).toBe('E_UNKNOWN_MODEL');
  });

  it('validates config: unknown keys, wrong types, fills defaults', () => {
    const r = createRegistry([tiny, ...builtinModels]);
    expect(code(() => r.create('tiny-test', { unit: 3 }))).toBe('E_BAD_OPTION');
    expect(() => r.create('tiny-test', { unit: 3 })).toThrow(/unknown config key "unit". Allowed keys: units, nested/);
    expect(code(() => r.create('tiny-test', { units: '3' }))).toBe('E_BAD_OPTION');
    expect(code(() => r.create('tiny-test', { nested: { b: 1 } }))).toBe('E_BAD_OPTION');
    expect(code(() => r.create('paper-shallow', { filters: ['a', 'b'] }))).toBe('E_BAD_OPTION');
    expect(code(() => r.create('paper-shallow', { convDropout: 1.5 }))).toBe('E_BAD_OPTION');
    expect(r.resolveConfig('paper-shallow', { l2: 0 })).toMatchObject({ l2: 0, filters: [32, 64], denseUnits: 512 });
    const m = r.create('tiny-test', { units: 7 });
    expect(m.outputs[0].shape).toEqual([null, 7]);
    m.dispose();
  });

  it('rejects malformed definitions', () => {
    expect(code(() => defineModel({ ...tiny, name: 'Bad Name' }))).toBe('E_BAD_MODEL_DEF');
  });

  it('create with a seed is reproducible', () => {
    const r = createRegistry([tiny]);
    const a = r.create('tiny-test', {}, { seed: 3 }), b = r.create('tiny-test', {}, { seed: 3 }), c = r.create('tiny-test', {}, { seed: 4 });
    const wa = a.getWeights()[0].dataSync(), wb = b.getWeights()[0].dataSync(), wc = c.getWeights()[0].dataSync();
    expect(Array.from(wa)).toEqual(Array.from(wb));
    expect(Array.from(wa)).not.toEqual(Array.from(wc));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('every built-in carries a citation and metadata', () => {
    for (const def of builtinModels) {
      expect(def.paper.cite.length).toBeGreaterThan(10);
      expect(def.paper.url).toMatch(/^https:\/\/arxiv.org\/abs\//);
      expect(def.numClasses).toBe(7);
    }
    const r = createRegistry(builtinModels);
    expect(r.get('paper-shallow').paper.reported).toMatchObject({ validation: 0.55, test: 0.54 });
    expect(r.get('paper-deep').paper.reported?.perClass?.Disgust).toBe(0.7);
    expect(r.get('vgg-fer').paper.reported?.test).toBe(0.7328);
  });
});
