// The one resolver of a training job (`fer train`, `pnpm reproduce`, `fer sweep`, the queue's workers), layer by
// layer: defaults (./spec.ts) <- the model's recipe (@fer/models `modelRecipe`) <- the preset (`smoke | quick |
// paper`) <- the experiment's `base` <- the row <- `--set`. The resolved job is hashed, so
// `fer train --preset paper --model paper-deep` and the reproduction's paper-deep row are the same job (same hash,
// same folder layout: ./execute.ts).
import { classWeights } from '@fer/data';
import { builtinModels, createRegistry, modelRecipe, TRAIN_DEFAULTS, type ModelDef, type ModelRegistry, type TrainConfig } from '@fer/models';
import type { DataIdentity } from '../data.js';
import { FerCliError } from '../errors.js';
import { unknownNameHint } from '../suggest.js';
import { hashConfig } from './hash.js';
import { mergeDeep, modelOverrides, parseOverrides, type Overrides } from './overrides.js';
import {
  BUDGET_SETTINGS, BUDGETS, CLASS_NAMES, DEFAULTS, SpecError, recipeTrain,
  type BudgetName, type ExperimentSpec, type ModelRef, type RunSettings, type TrainSpec,
} from './spec.js';

export type { DataIdentity };

/** One training job, fully resolved (the hash covers every other key). */
export interface ResolvedJob {
  hash: string;
  /** The model and the config it is built with (the model's defaults <- row <- `--set model.*`, before width scaling). */
  model: ModelRef;
  /** Width factor (1 = the paper's sizes; the model's own `scaleWidth` applies it). */
  modelScale: number;
  train: TrainSpec;
  seed: number;
  /** The preset (`--preset`; `--budget` of `pnpm reproduce`). */
  budget: BudgetName;
  /** Fingerprint of the data set (src/data.ts dataIdentity). */
  data: string;
}

/** Settings for a preset with `--set` overrides applied last (`--set model.*` is per model: see {@link resolveJob}). */
export function resolveSettings(budget: BudgetName, cli: Overrides = {}): RunSettings {
  const { model: _model, ...settings } = cli;
  return mergeDeep(DEFAULTS, BUDGET_SETTINGS[budget].settings, settings);
}

/**
 * A run's train spec, the one resolver's layers: defaults <- the model's recipe (@fer/models `modelRecipe`)
 * <- preset <- experiment base <- row (epochs capped by the preset) <- --set.
 */
export function resolveTrain(budget: BudgetName, exp: Pick<ExperimentSpec, 'base'> | undefined, rowTrain: Partial<TrainSpec> | undefined, cli: Overrides = {}, recipe?: Parameters<typeof recipeTrain>[0]): TrainSpec {
  const t = mergeDeep(DEFAULTS.train, recipe ? recipeTrain(recipe) : undefined, BUDGET_SETTINGS[budget].settings.train, exp?.base.train, rowTrain);
  t.epochs = Math.min(t.epochs, BUDGET_SETTINGS[budget].epochsCap);
  return mergeDeep(t, cli.train);
}

let builtinRegistry: ModelRegistry | undefined;

/**
 * One training job, fully resolved, and its hash: the model (config = the model's defaults <- row config <-
 * `--set model.*`, in the model's own key names), the width scale, the train spec ({@link resolveTrain}),
 * the seed, the preset and the data fingerprint. `fer train` and the planner both call this.
 */
export function resolveJob(args: {
  budget: BudgetName;
  model: ModelRef;
  data: DataIdentity;
  seed?: number;
  exp?: Pick<ExperimentSpec, 'base'>;
  rowTrain?: Partial<TrainSpec>;
  cli?: Overrides;
  registry?: ModelRegistry;
  /** Replaces the registry's config resolution (tests). */
  resolveModelConfig?: (name: string, config: Record<string, unknown>) => Record<string, unknown>;
}): ResolvedJob {
  const cli = args.cli ?? {};
  const registry = args.registry ?? (builtinRegistry ??= createRegistry(builtinModels));
  const settings = resolveSettings(args.budget, cli);
  const def = registry.has(args.model.name) ? registry.get(args.model.name) : undefined;
  const given = { ...args.model.config, ...(def ? modelOverrides(def, cli.model) : cli.model) };
  const config = args.resolveModelConfig ? args.resolveModelConfig(args.model.name, given) : registry.resolveConfig(args.model.name, given);
  const train = resolveTrain(args.budget, args.exp, args.rowTrain, cli, def ? modelRecipe(def) : undefined);
  const key = { model: { name: args.model.name, config }, modelScale: settings.modelScale, train, seed: args.seed ?? settings.seed, budget: args.budget, data: args.data.fingerprint };
  // v3: one run spec for fer train and reproduce (model recipes; older job folders are not reused).
  return { hash: hashConfig({ ...key, v: 3 }), ...structuredClone(key) };
}

/**
 * The definition of model `name`, or E_UNKNOWN_MODEL naming the nearest registered model and how to add one
 * from the command line (a fer.config file and `--config`; the library's `registry.register` is not a CLI step).
 * @example
 * requireModel(registry, 'paper-shalow') // throws: ... Did you mean "paper-shallow"? ...
 */
export function requireModel(registry: ModelRegistry, name: string, configFile?: string): ModelDef<any> {
  if (registry.has(name)) return registry.get(name);
  const how = `Your own model: define it in a fer.config.mjs (see examples/my-model/fer.config.mjs) and pass --config PATH${configFile ? ` (this run read ${configFile})` : ' (or put the file in the folder you run in)'}.`;
  throw new FerCliError('E_UNKNOWN_MODEL', `--model ${name}: unknown model.${unknownNameHint(name, registry.list(), how)}`);
}

/** The settings `fer train --set` accepts: the run spec (seed, modelScale, train.*) and model.* (the reproduction's report keys are not a training run's). */
export const TRAIN_SETTINGS = { seed: DEFAULTS.seed, modelScale: DEFAULTS.modelScale, train: DEFAULTS.train };

/**
 * The job `fer train` (and each `fer sweep` trial) runs, resolved as `pnpm reproduce` resolves a table row:
 * defaults <- the model's recipe <- the preset <- `--set`. Same inputs, same job hash as the reproduction's row.
 * @example
 * resolveTrainJob({ model: 'paper-deep', preset: 'paper', data: dataIdentity(ds), registry }).hash
 */
export function resolveTrainJob(o: { model: string; preset?: string; sets?: readonly string[]; data: DataIdentity; registry: ModelRegistry; /** `sets` parsed already (parseOverrides with TRAIN_SETTINGS). */ cli?: Overrides }): ResolvedJob {
  const preset = (o.preset ?? 'paper') as BudgetName;
  if (!BUDGETS.includes(preset)) throw new SpecError('E_BAD_OPTION', `--preset ${o.preset}: expected one of ${BUDGETS.join(', ')} (the presets of fer train and pnpm reproduce).`);
  requireModel(o.registry, o.model);
  const cli = o.cli ?? parseOverrides(o.sets ?? [], TRAIN_SETTINGS);
  return resolveJob({ budget: preset, model: { name: o.model, config: {} }, data: o.data, cli, registry: o.registry });
}

/**
 * The model config a job builds: the job's config resolved by the registry, widths scaled by `modelScale`
 * with the model's own `scaleWidth` (@fer/models); a model without one keeps its widths.
 */
export function scaledConfig(registry: ModelRegistry, name: string, config: Record<string, unknown>, scale: number): Record<string, unknown> {
  const resolved = registry.resolveConfig(name, config);
  const def = registry.get(name);
  if (scale === 1 || !def.scaleWidth) return resolved;
  return registry.resolveConfig(name, def.scaleWidth(resolved, scale) as Record<string, unknown>);
}

/**
 * The job's train spec as @fer/models' TrainConfig (L2 and dropout are model config keys): the one translation
 * between the two, used by every executor. Class weights 'balanced' need the training rows' labels
 * (@fer/data classWeights).
 * @example
 * trainConfig(DEFAULTS.train, 1) // { epochs: 30, batchSize: 128, seed: 1, optimizer: { name: 'adam', learningRate: 0.0001, ... }, ... }
 */
export function trainConfig(t: TrainSpec, seed: number, trainLabels?: Uint8Array): Partial<TrainConfig> {
  if (!['none', 'balanced'].includes(t.classWeights)) throw new SpecError('E_BAD_SPEC', `train.classWeights is ${JSON.stringify(t.classWeights)}, expected "none" or "balanced".`);
  if (t.classWeights === 'balanced' && !trainLabels) throw new SpecError('E_BAD_SPEC', 'train.classWeights "balanced" needs the training labels.');
  return {
    epochs: t.epochs, batchSize: t.batchSize, seed,
    optimizer: { ...TRAIN_DEFAULTS.optimizer, name: t.optimizer, learningRate: t.learningRate, momentum: t.momentum, nesterov: t.nesterov },
    schedule: { ...t.schedule }, earlyStopping: { ...t.earlyStopping }, labelSmoothing: t.labelSmoothing,
    classWeights: t.classWeights === 'balanced' ? Array.from(classWeights(trainLabels!, CLASS_NAMES.length)) : null,
  };
}
