// The planner: every training job that the selected experiments need, resolved by ../job/resolve.ts (as
// `fer train` resolves its run) and deduplicated by the resolved job's hash.
import type { ModelRegistry } from '@fer/models';
import type { DataIdentity } from '../data.js';
import type { Overrides } from '../job/overrides.js';
import { resolveJob, resolveSettings, type ResolvedJob } from '../job/resolve.js';
import { SpecError, type BudgetName, type ExperimentSpec, type RunSettings } from '../job/spec.js';

export type { DataIdentity };

/** A resolved job (../job/resolve.ts) and the table rows that use it. */
export interface Job extends ResolvedJob {
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
