import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { builtinModels, paperTrainConfig } from './builtins.js';
import { paperDeep, paperShallow } from './models/paper.js';
import { miniXception } from './models/mini-xception.js';
import { RECIPE_DEFAULTS, modelRecipe, scaleWidths } from './recipe.js';
import { createRegistry, defineModel } from './registry.js';
import { resolveTrainConfig, TRAIN_DEFAULTS } from './train.js';

describe('model recipes', () => {
  it('fills a model recipe from RECIPE_DEFAULTS, whose learning rate is the trainer default', () => {
    // A model without a recipe trains at what the trainer resolves an empty config to (the one default lives there).
    const bare = defineModel({ name: 'bare', description: 'd', paper: { cite: 'none' }, inputs: { image: [48, 48, 1] as const }, numClasses: 7, defaults: {}, build: () => tf.sequential() });
    expect(modelRecipe(bare).learningRate).toBe(resolveTrainConfig({}).optimizer.learningRate);
    expect(modelRecipe(bare)).toEqual({ ...RECIPE_DEFAULTS, augment: [...RECIPE_DEFAULTS.augment] });
    expect(modelRecipe(paperDeep)).toEqual({ epochs: 35, batchSize: 128, optimizer: 'adam', learningRate: 1e-4, normalizer: 'mean-image', augment: ['hflip'] });
    expect(modelRecipe(paperShallow).epochs).toBe(30);
    expect(paperTrainConfig('paper-deep')).toEqual({ epochs: 35, batchSize: 128, optimizer: { name: 'adam', learningRate: 1e-4 } });
    expect(paperTrainConfig('not-a-builtin').epochs).toBe(TRAIN_DEFAULTS.epochs);
    for (const def of builtinModels) expect(() => modelRecipe(def)).not.toThrow();
  });

  it('scales widths through the model, leaving other keys alone', () => {
    const registry = createRegistry(builtinModels);
    const c = registry.resolveConfig('paper-shallow') as unknown as Parameters<typeof paperShallow.build>[0];
    expect(paperShallow.scaleWidth!(c, 0.125)).toMatchObject({ filters: [4, 8], denseUnits: 64, l2: 5e-5, denseDropout: 0.5 });
    expect(c.filters).toEqual([32, 64]);
    const m = registry.resolveConfig('mini-xception') as unknown as Parameters<typeof miniXception.build>[0];
    expect(miniXception.scaleWidth!(m, 0.5)).toMatchObject({ baseFilters: 4, moduleFilters: [8, 16, 32, 64] });
    expect(scaleWidths({ units: 0 }, ['units'], 0.1)).toEqual({ units: 0 });
    expect(() => scaleWidths({ units: 3 }, ['units'], 0)).toThrow(/positive number/);
  });

  it('defineModel rejects bad recipes, scaleWidth and aliases', () => {
    const base = { name: 'tiny', description: 'd', paper: { cite: 'none' }, inputs: { image: [48, 48, 1] as const }, numClasses: 7, defaults: { units: 4 }, build: () => tf.sequential() };
    expect(() => defineModel({ ...base, recipe: { epoch: 3 } as never })).toThrow(/unknown recipe key "epoch"/);
    expect(() => defineModel({ ...base, recipe: { learningRate: '1e-3' } as never })).toThrow(/learningRate: got "1e-3"/);
    expect(() => defineModel({ ...base, scaleWidth: 3 as never })).toThrow(/scaleWidth/);
    expect(() => defineModel({ ...base, aliases: { width: 'unitz' } })).toThrow(/alias "width" names "unitz"/);
    expect(modelRecipe(defineModel({ ...base, recipe: { epochs: 3, augment: [] } }))).toMatchObject({ epochs: 3, augment: [], normalizer: 'mean-image' });
  });

  it('records where a searched recipe comes from (fer sweep: leaderboard file and winning job hash), checked', () => {
    const base = { name: 'tiny', description: 'd', paper: { cite: 'none' }, inputs: { image: [48, 48, 1] as const }, numClasses: 7, defaults: { units: 4 }, build: () => tf.sequential() };
    const provenance = { leaderboard: 'docs/results/sweep/paper-shallow/leaderboard.json', hash: 'c031419d38ad', selectedOn: 'PublicTest' as const, accuracy: 0.55, sets: ['lr=0.00018', 'optimizer=adam'] };
    expect(modelRecipe(defineModel({ ...base, recipe: { learningRate: 1.8e-4, provenance } }))).toMatchObject({ learningRate: 1.8e-4, provenance });
    expect(modelRecipe(paperShallow).provenance).toBeUndefined();
    expect(() => defineModel({ ...base, recipe: { provenance: { ...provenance, selectedOn: 'PrivateTest' } as never } })).toThrow(/selectedOn is "PrivateTest" \(a recipe is chosen on the validation split only\)/);
    expect(() => defineModel({ ...base, recipe: { provenance: { ...provenance, hash: 'xyz' } } })).toThrow(/hash is "xyz", not a hex job hash/);
    expect(() => defineModel({ ...base, recipe: { provenance: { ...provenance, file: 'x' } as never } })).toThrow(/unknown key "file"/);
  });
});
