import type { ModelDef } from './registry.js';
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
