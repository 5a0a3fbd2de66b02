// The planner: every training job that the selected experiments need, deduplicated by a hash of
// the resolved job (model + config + train config + data identity + seed + budget).
import { hashConfig } from './hash.js';
import { mergeDeep } from './overrides.js';
import {
  BUDGET_SETTINGS, DEFAULTS, SpecError,
  type BudgetName, type DeepPartial, type ExperimentSpec, type ModelRef, type RunSettings, type TrainSpec,
} from './spec.js';

export interface DataIdentity {
  /** Short name used in the default output folder: 'synthetic' or 'fer2013'. */
  id: string;
  /** Content fingerprint (labels, splits, sampled pixels). */
  fingerprint: string;
  source: string;
  synthetic: boolean;
}

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

/** Settings for a budget with `--set` overrides applied last. */
export function resolveSettings(budget: BudgetName, cli: DeepPartial<RunSettings> = {}): RunSettings {
  return mergeDeep(DEFAULTS, BUDGET_SETTINGS[budget].settings, cli);
}

/** A row's train config: defaults <- budget <- experiment base <- row (epochs capped by the budget) <- --set. */
export function resolveTrain(budget: BudgetName, exp: ExperimentSpec, rowTrain: Partial<TrainSpec> | undefined, cli: DeepPartial<RunSettings> = {}): TrainSpec {
  const b = mergeDeep(DEFAULTS, BUDGET_SETTINGS[budget].settings);
  const t = mergeDeep(b.train, exp.base.train, rowTrain);
  t.epochs = Math.min(t.epochs, BUDGET_SETTINGS[budget].epochsCap);
  return mergeDeep(t, cli.train);
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
  cli?: DeepPartial<RunSettings>;
  /** Fills a model's defaults in (registry.resolveConfig), so a changed default changes the hash. */
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
      const train = resolveTrain(budget, exp, row.train, cli);
      const cell: Cell = { experiment: exp.id, row: row.row, seeds: [], jobs: [] };
      for (let s = 0; s < args.seeds; s++) {
        const seed = settings.seed + s;
        const config = args.resolveModelConfig ? args.resolveModelConfig(row.model.name, row.model.config) : row.model.config;
        const key = { model: { name: row.model.name, config }, modelScale: settings.modelScale, train, seed, budget, data: data.fingerprint };
        // v2: trained by @fer/models train() on @fer/data batches (older job folders are not reused).
        const hash = hashConfig({ ...key, v: 2 });
        let job = byHash.get(hash);
        if (!job) {
          job = { hash, ...structuredClone(key), uses: [] };
          byHash.set(hash, job);
        }
        job.uses.push({ experiment: exp.id, row: row.row });
        cell.seeds.push(seed);
        cell.jobs.push(hash);
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
