import { FerModelsError } from './errors.js';
import { TRAIN_DEFAULTS } from './_train-defaults.js';

/**
 * How a model is trained in its paper (or by us where the paper is silent): the one place a training
 * command (the `fer` CLI, the reproduction) reads a model's optimizer, learning rate, epochs, batch size,
 * normalizer and augmentation from. Unset keys of a model's `recipe` are {@link RECIPE_DEFAULTS}.
 */
export interface ModelRecipe {
  /** Epochs. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** Optimizer name of {@link TrainConfig}: 'adam' | 'sgd' | 'rmsprop'. */
  optimizer: string;
  /** Learning rate. */
  learningRate: number;
  /** @fer/data normalizer kind fitted on the training rows: 'mean-image' | 'global' | 'per-image' | 'unit'. */
  normalizer: string;
  /** @fer/data augmentations by name, applied on the fly ('hflip', 'shift', ...). */
  augment: readonly string[];
  /** Where the values come from when a search found them (no default: absent when the recipe is a choice or the paper's). */
  provenance?: RecipeProvenance;
}

/**
 * The search a recipe's values were chosen by: `fer sweep`'s leaderboard file and the winning trial's job hash
 * (the config hash `fer train` writes to config.json), so the choice can be looked up and re-run.
 */
export interface RecipeProvenance {
  /** The leaderboard file, a path in the repository (e.g. `docs/results/sweep/paper-shallow/leaderboard.json`). */
  leaderboard: string;
  /** The winning trial's job hash (the leaderboard's `winner.hash`). */
  hash: string;
  /** The split the winner was chosen on; always the validation split. */
  selectedOn: 'PublicTest';
  /** The winner's accuracy there, a fraction. */
  accuracy?: number;
  /** The winner's overrides, as `--set` items (those outside this recipe, e.g. `l2=...`, go to the model's `defaults`). */
  sets?: readonly string[];
}

/**
 * The recipe of a model that gives none: the trainer's defaults ({@link TRAIN_DEFAULTS}: batch 128, Adam at
 * lr 1e-4, 30 epochs), the mean-image normalizer (the per-pixel mean face subtracted, then divided by the
 * global std: Alizadeh & Fazel subtract the mean image) and random horizontal flips.
 */
export const RECIPE_DEFAULTS: Readonly<ModelRecipe> = Object.freeze({
  epochs: TRAIN_DEFAULTS.epochs,
  batchSize: TRAIN_DEFAULTS.batchSize,
  optimizer: TRAIN_DEFAULTS.optimizer.name,
  learningRate: TRAIN_DEFAULTS.optimizer.learningRate,
  normalizer: 'mean-image',
  augment: Object.freeze(['hflip']),
});

/**
 * Checks a (partial) recipe: unknown keys or values of another type than {@link RECIPE_DEFAULTS}' throw
 * E_BAD_MODEL_DEF naming `where`.
 */
export function checkRecipe(where: string, recipe: unknown): void {
  if (recipe === undefined) return;
  if (typeof recipe !== 'object' || recipe === null || Array.isArray(recipe)) {
    throw new FerModelsError('E_BAD_MODEL_DEF', `${where}: got ${typeof recipe}, expected a plain object with some of ${Object.keys(RECIPE_DEFAULTS).join(', ')}.`);
  }
  for (const [k, v] of Object.entries(recipe)) {
    if (k === 'provenance') {
      checkProvenance(`${where}.provenance`, v);
      continue;
    }
    if (!(k in RECIPE_DEFAULTS)) {
      throw new FerModelsError('E_BAD_MODEL_DEF', `${where}: unknown recipe key "${k}". Allowed keys: ${Object.keys(RECIPE_DEFAULTS).join(', ')}, provenance.`);
    }
    const def = (RECIPE_DEFAULTS as unknown as Record<string, unknown>)[k];
    const ok = Array.isArray(def) ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === typeof def && (typeof v !== 'number' || (Number.isFinite(v) && v > 0));
    if (!ok) throw new FerModelsError('E_BAD_MODEL_DEF', `${where}.${k}: got ${JSON.stringify(v)}, expected ${Array.isArray(def) ? 'an array of augmentation names' : typeof def === 'number' ? 'a positive number' : `a ${typeof def}`} like ${JSON.stringify(def)}.`);
  }
}

function checkProvenance(where: string, p: unknown): void {
  const bad = (why: string) => new FerModelsError('E_BAD_MODEL_DEF', `${where}: ${why}; expected { leaderboard: 'path/to/leaderboard.json', hash: '<winning job hash>', selectedOn: 'PublicTest', accuracy?: 0.55, sets?: ['lr=...'] }.`);
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw bad(`got ${JSON.stringify(p)}`);
  const o = p as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['leaderboard', 'hash', 'selectedOn', 'accuracy', 'sets'].includes(k)) throw bad(`unknown key "${k}"`);
  if (typeof o.leaderboard !== 'string' || o.leaderboard === '') throw bad(`leaderboard is ${JSON.stringify(o.leaderboard)}`);
  if (typeof o.hash !== 'string' || !/^[0-9a-f]{6,64}$/.test(o.hash)) throw bad(`hash is ${JSON.stringify(o.hash)}, not a hex job hash`);
  if (o.selectedOn !== 'PublicTest') throw bad(`selectedOn is ${JSON.stringify(o.selectedOn)} (a recipe is chosen on the validation split only)`);
  if (o.accuracy !== undefined && !(typeof o.accuracy === 'number' && o.accuracy >= 0 && o.accuracy <= 1)) throw bad(`accuracy is ${JSON.stringify(o.accuracy)}, not a fraction`);
  if (o.sets !== undefined && !(Array.isArray(o.sets) && o.sets.every((x) => typeof x === 'string'))) throw bad(`sets is ${JSON.stringify(o.sets)}`);
}

/**
 * The full recipe of a model: {@link RECIPE_DEFAULTS} with the model's own `recipe` over it.
 * @example
 * modelRecipe(paperDeep) // { epochs: 35, batchSize: 128, optimizer: 'adam', learningRate: 0.0001, normalizer: 'mean-image', augment: ['hflip'] }
 */
export function modelRecipe(def: { name: string; recipe?: Partial<ModelRecipe> }): ModelRecipe {
  checkRecipe(`model "${def.name}" recipe`, def.recipe);
  const r = { ...RECIPE_DEFAULTS, ...def.recipe };
  return { ...r, augment: [...r.augment] };
}

/**
 * A copy of `config` with the width keys (`keys`: filter and unit counts, numbers or arrays of numbers)
 * multiplied by `factor` and rounded, at least 2 (0 stays 0). For a model's `scaleWidth`.
 * @example
 * scaleWidths({ filters: [32, 64], denseUnits: 512, l2: 5e-5 }, ['filters', 'denseUnits'], 0.125) // { filters: [4, 8], denseUnits: 64, l2: 5e-5 }
 */
export function scaleWidths<C extends object>(config: C, keys: readonly (keyof C & string)[], factor: number): C {
  if (!(factor > 0) || !Number.isFinite(factor)) {
    throw new FerModelsError('E_BAD_OPTION', `scaleWidth: got factor ${factor}, expected a positive number (1 = the paper's widths, 0.125 = 1/8).`);
  }
  const out = structuredClone(config) as Record<string, unknown>;
  const s = (v: number) => (v > 0 ? Math.max(2, Math.round(v * factor)) : v);
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'number') out[k] = s(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = v.map(s);
  }
  return out as C;
}
