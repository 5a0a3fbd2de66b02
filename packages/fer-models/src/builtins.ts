import type { ModelDef } from './registry.js';
import { modelRecipe } from './recipe.js';
import type { TrainConfig } from './train.js';
import { miniXception } from './models/mini-xception.js';
import { paperDeep, paperHybridDeep, paperHybridShallow, paperShallow } from './models/paper.js';
import { vggFer } from './models/vgg-fer.js';

/**
 * The built-in model definitions. Pass them to {@link createRegistry}; nothing is registered on import.
 * @example
 * const registry = createRegistry(builtinModels);
 * registry.list(); // ['mini-xception', 'paper-deep', 'paper-hybrid-deep', 'paper-hybrid-shallow', 'paper-shallow', 'vgg-fer']
 */
export const builtinModels: readonly ModelDef<any>[] = Object.freeze([
  paperShallow, paperDeep, paperHybridShallow, paperHybridDeep, vggFer, miniXception,
]);

/** Names of {@link builtinModels}. */
export type BuiltinModelName = 'paper-shallow' | 'paper-deep' | 'paper-hybrid-shallow' | 'paper-hybrid-deep' | 'vgg-fer' | 'mini-xception';

/**
 * A model's recipe (see `ModelDef.recipe`) as a train config: epochs, batch size, optimizer and learning rate.
 * Built-in models by name (35 epochs for the deep networks, 30 for the shallow ones); other names get
 * the defaults. Normalizer and augmentation are the caller's batcher's: read them with `modelRecipe(def)`.
 * @example
 * const config = resolveTrainConfig({ ...paperTrainConfig('paper-deep'), seed: 2 });
 */
export function paperTrainConfig(model: string | ModelDef<any>): Partial<TrainConfig> {
  const def = typeof model === 'string' ? builtinModels.find((d) => d.name === model) ?? { name: model } : model;
  const r = modelRecipe(def);
  return { epochs: r.epochs, batchSize: r.batchSize, optimizer: { name: r.optimizer, learningRate: r.learningRate } } as Partial<TrainConfig>;
}
