// The resolver of the one run spec and the planner: every training job that the selected experiments need,
// deduplicated by a hash of the resolved job (model + config + train config + data identity + seed + budget).
// `fer train` resolves its run with the same {@link resolveJob}, so `fer train --preset paper --model paper-deep`
// and the reproduction's paper-deep row are the same job (same hash).
import { builtinModels, createRegistry, modelRecipe, type ModelRegistry } from '@fer/models';
import type { DataIdentity } from '../data.js';
import { hashConfig } from './hash.js';
import { mergeDeep, modelOverrides, type Overrides } from './overrides.js';
import {
  BUDGET_SETTINGS, DEFAULTS, SpecError, recipeTrain,
  type BudgetName, type ExperimentSpec, type ModelRef, type RunSettings, type TrainSpec,
} from './spec.js';

export type { DataIdentity };

export interface Job {
  hash: string;
  model: ModelRef;
  modelScale: number;
  train: TrainSpec;
  seed: number;
  budget: BudgetName;
  data: string;
  /** Which table rows use this job. */
  uses: { experiment: string; row: string }[];
}

export interface Cell {
  experiment: string;
  row: string;
  seeds: number[];
  jobs: string[];
}

export interface Plan {
  budget: BudgetName;
  settings: RunSettings;
  jobs: Job[];
  cells: Cell[];
}

/** Settings for a budget with `--set` overrides applied last (`--set model.*` is per model: see {@link resolveJob}). */
export function resolveSettings(budget: BudgetName, cli: Overrides = {}): RunSettings {
  const { model: _model, ...settings } = cli;
  return mergeDeep(DEFAULTS, BUDGET_SETTINGS[budget].settings, settings);
}

/**
 * A run's train config, the one resolver's layers: defaults <- the model's recipe (@fer/models `modelRecipe`)
 * <- budget <- experiment base <- row (epochs capped by the budget) <- --set.
 */
export function resolveTrain(budget: BudgetName, exp: Pick<ExperimentSpec, 'base'> | undefined, rowTrain: Partial<TrainSpec> | undefined, cli: Overrides = {}, recipe?: Parameters<typeof recipeTrain>[0]): TrainSpec {
  const t = mergeDeep(DEFAULTS.train, recipe ? recipeTrain(recipe) : undefined, BUDGET_SETTINGS[budget].settings.train, exp?.base.train, rowTrain);
  t.epochs = Math.min(t.epochs, BUDGET_SETTINGS[budget].epochsCap);
  return mergeDeep(t, cli.train);
}

let builtinRegistry: ModelRegistry | undefined;

/**
 * One training job, fully resolved, and its hash: the model (config = the model's defaults <- row config <-
 * `--set model.*`, in the model's own key names), the width scale, the train config ({@link resolveTrain}),
 * the seed, the budget and the data fingerprint. `fer train` and the planner both call this.
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
}): Omit<Job, 'uses'> {
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
 * Collects and dedupes jobs across experiments; `seeds` runs each row with seeds seed, seed+1, ...
 * @example
 * const plan = planJobs({ experiments, budget: 'smoke', seeds: 1, data })
 * plan.jobs.length // one per distinct (model, config, train, data, seed)
 */
export function planJobs(args: {
  experiments: readonly ExperimentSpec[];
  budget: BudgetName;
  seeds: number;
  data: DataIdentity;
  cli?: Overrides;
  /** Model definitions (recipes, defaults); default the built-in models. */
  registry?: ModelRegistry;
  /** Replaces the registry's config resolution (tests). */
  resolveModelConfig?: (name: string, config: Record<string, unknown>) => Record<string, unknown>;
}): Plan {
  const { experiments, budget, data } = args;
  const cli = args.cli ?? {};
  if (!Number.isInteger(args.seeds) || args.seeds < 1) throw new SpecError('E_BAD_OPTION', `--seeds ${args.seeds}: expected a positive integer.`);
  const settings = resolveSettings(budget, cli);
  const byHash = new Map<string, Job>();
  const cells: Cell[] = [];
  for (const exp of experiments) {
    for (const row of exp.rows) {
      const cell: Cell = { experiment: exp.id, row: row.row, seeds: [], jobs: [] };
      for (let s = 0; s < args.seeds; s++) {
        const seed = settings.seed + s;
        const resolved = resolveJob({ budget, model: row.model, data, seed, exp, rowTrain: row.train, cli, registry: args.registry, resolveModelConfig: args.resolveModelConfig });
        let job = byHash.get(resolved.hash);
        if (!job) {
          job = { ...resolved, uses: [] };
          byHash.set(resolved.hash, job);
        }
        job.uses.push({ experiment: exp.id, row: row.row });
        cell.seeds.push(seed);
        cell.jobs.push(resolved.hash);
      }
      cells.push(cell);
    }
  }
  return { budget, settings, jobs: [...byHash.values()], cells };
}

/** Training images a job will see (for the plan printout and the ETA). */
export function jobImages(job: Job, trainRows: number): number {
  const n = job.train.trainLimit > 0 ? Math.min(job.train.trainLimit, trainRows) : trainRows;
  return n * job.train.epochs;
}
