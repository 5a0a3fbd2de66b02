import type * as tf from '@tensorflow/tfjs';
import { resolveConfig } from './_config.js';
import { SeededRandom, withRandom } from './_random.js';
import { FerModelsError } from './errors.js';
import { checkRecipe, type ModelRecipe } from './recipe.js';

/** Numbers a paper reports for a model on FER2013 (fractions in [0, 1]). */
export interface ReportedNumbers {
  /** Accuracy on the validation split (FER2013 PublicTest). */
  validation?: number;
  /** Accuracy on the test split (FER2013 PrivateTest). */
  test?: number;
  /** Per-expression test accuracy (recall) by class name. */
  perClass?: Readonly<Record<string, number>>;
}

/** Where a model comes from. */
export interface PaperRef {
  cite: string;
  url?: string;
  reported?: ReportedNumbers;
}

/** What a model takes. `image` is [height, width, channels] at the default config. */
export interface ModelInputs {
  image: readonly [number, number, number];
  /** Present on hybrid models: a second input named `hog` of HOG features computed by @fer/hog from raw 0-255 pixels. */
  hog?: { length: number; options: Readonly<Record<string, unknown>> };
}

/**
 * A model architecture in the zoo. `defaults` lists every tunable with its default; `build` is pure
 * (no I/O, no globals) and returns a `tf.LayersModel` made of standard tfjs layers only, with the image
 * input named `image` (and `hog` for hybrids) and a softmax output.
 */
export interface ModelDef<C extends object = object> {
  /** kebab-case, unique within a registry. */
  name: string;
  description: string;
  paper: PaperRef;
  inputs: ModelInputs;
  /** Output classes at the default config. */
  numClasses: number;
  defaults: C;
  build(config: C): tf.LayersModel;
  /**
   * How the model's paper trains it (epochs, batch size, optimizer, learning rate, normalizer,
   * augmentation); unset keys are RECIPE_DEFAULTS. Read with `modelRecipe(def)`.
   */
  recipe?: Partial<ModelRecipe>;
  /**
   * The config with every width (filter and unit counts) multiplied by `factor` (> 0), for small-budget
   * runs (the reproduction's smoke budget uses 1/8). Without it a model always trains at full width.
   * `scaleWidths(config, ['filters', 'denseUnits'], factor)` does it for named keys.
   */
  scaleWidth?(config: C, factor: number): C;
  /**
   * Short names of config keys for command lines and sweeps, e.g. `{ dropout: 'denseDropout', units: 'denseUnits' }`
   * (`fer train --set dropout=0.3`). Each target must be a key of `defaults`.
   */
  aliases?: Readonly<Record<string, string>>;
}

/**
 * Typed identity that checks the definition's shape.
 * @example
 * const tiny = defineModel({ name: 'tiny', description: 'one dense layer', paper: { cite: 'none' },
 *   inputs: { image: [48, 48, 1] }, numClasses: 7, defaults: { units: 8 },
 *   build: (c) => { const m = tf.sequential(); ...; return m; } });
 */
export function defineModel<C extends object>(def: ModelDef<C>): ModelDef<C> {
  if (typeof def !== 'object' || def === null) {
    throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel: got ${typeof def}, expected an object { name, description, paper, inputs, numClasses, defaults, build }.`);
  }
  if (typeof def.name !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(def.name)) {
    throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel: got name ${JSON.stringify(def.name)}, expected a kebab-case string like "mini-xception".`);
  }
  if (typeof def.build !== 'function') {
    throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel("${def.name}"): got build of type ${typeof def.build}, expected a function (config) => tf.LayersModel.`);
  }
  if (typeof def.defaults !== 'object' || def.defaults === null) {
    throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel("${def.name}"): defaults must be a plain object listing every tunable with its default.`);
  }
  if (!def.paper || typeof def.paper.cite !== 'string') {
    throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel("${def.name}"): paper.cite must be a string (use 'none' for original work).`);
  }
  checkRecipe(`defineModel("${def.name}"): recipe`, def.recipe);
  if (def.scaleWidth !== undefined && typeof def.scaleWidth !== 'function') {
    throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel("${def.name}"): got scaleWidth of type ${typeof def.scaleWidth}, expected a function (config, factor) => config.`);
  }
  for (const [alias, key] of Object.entries(def.aliases ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(def.defaults, key)) {
      throw new FerModelsError('E_BAD_MODEL_DEF', `defineModel("${def.name}"): alias "${alias}" names "${key}", which is not a key of defaults (${Object.keys(def.defaults).join(', ')}).`);
    }
  }
  return def;
}

/** Options of {@link ModelRegistry.create}. */
export interface CreateOptions {
  /** Seeds the weight initializers (tfjs draws them from Math.random otherwise). */
  seed?: number;
}

/** A set of model definitions by name. */
export interface ModelRegistry {
  /** Adds `def`. A duplicate name throws E_DUPLICATE_MODEL unless `override: true`. */
  register(def: ModelDef<any>, opts?: { override?: boolean }): ModelRegistry;
  has(name: string): boolean;
  /** The definition; unknown names throw E_UNKNOWN_MODEL listing the known ones. */
  get(name: string): ModelDef<any>;
  /** Sorted names, optionally filtered by a substring or RegExp. */
  list(filter?: string | RegExp): string[];
  /** The defaults merged with `config`; unknown keys or wrong types throw E_BAD_OPTION. */
  resolveConfig(name: string, config?: Record<string, unknown>): Record<string, unknown>;
  /** Builds a model with the resolved config. */
  create(name: string, config?: Record<string, unknown>, opts?: CreateOptions): tf.LayersModel;
}

/**
 * A new registry holding `defs`. Nothing is registered on import; there is no global registry.
 * @example
 * const registry = createRegistry(builtinModels);
 * const model = registry.create('paper-shallow', { dropout: 0.3 }, { seed: 1 });
 */
export function createRegistry(defs: Iterable<ModelDef<any>> = []): ModelRegistry {
  const byName = new Map<string, ModelDef<any>>();
  const registry: ModelRegistry = {
    register(def, opts = {}) {
      defineModel(def);
      if (byName.has(def.name) && !opts.override) {
        throw new FerModelsError('E_DUPLICATE_MODEL', `register: a model named "${def.name}" is already registered. Pick another name or pass { override: true } to replace it.`);
      }
      byName.set(def.name, def);
      return registry;
    },
    has: (name) => byName.has(name),
    get(name) {
      const def = byName.get(name);
      if (!def) {
        const known = [...byName.keys()].sort();
        throw new FerModelsError('E_UNKNOWN_MODEL', `Unknown model ${JSON.stringify(name)}. Known: ${known.join(', ') || '(none)'}. Add one with registry.register(defineModel({...})).`);
      }
      return def;
    },
    list(filter) {
      const names = [...byName.keys()].sort();
      if (filter === undefined) return names;
      return names.filter((n) => (typeof filter === 'string' ? n.includes(filter) : filter.test(n)));
    },
    resolveConfig(name, config) {
      const def = registry.get(name);
      return resolveConfig(`model "${name}" config`, def.defaults as Record<string, unknown>, config);
    },
    create(name, config, opts = {}) {
      const def = registry.get(name);
      const resolved = registry.resolveConfig(name, config);
      if (opts.seed === undefined) return def.build(resolved);
      return withRandom(new SeededRandom(opts.seed), () => def.build(resolved));
    },
  };
  for (const def of defs) registry.register(def);
  return registry;
}
