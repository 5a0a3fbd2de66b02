// A second `pnpm reproduce` into an output folder that holds an earlier run's report: the report must keep the
// earlier run's sections. A compatible earlier run (same data, budget, seeds and --set: its jobs are this run's
// jobs) is merged: its experiments join this run's report, their finished jobs read from the job cache and
// never retrained. Anything else is refused (E_RUN_EXISTS) with the message naming --out.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerCliError } from '../errors.js';
import type { ExperimentSpec } from '../job/spec.js';

/** What a run's config.json says about it (the keys the merge compares). */
export interface EarlierRun {
  budget: string;
  seeds: number;
  set: string[];
  data: { fingerprint: string; source: string };
  experiments: { id: string; rows: { row: string; model: { name: string } }[] }[];
}

/** The earlier run in `outDir` (its config.json), or undefined when there is none (or it cannot be read: nothing to keep). */
export function readEarlierRun(outDir: string): EarlierRun | undefined {
  const f = join(outDir, 'config.json');
  if (!existsSync(f)) return undefined;
  try {
    const c = JSON.parse(readFileSync(f, 'utf8')) as Partial<EarlierRun>;
    if (typeof c.budget !== 'string' || !c.data || !Array.isArray(c.experiments)) return undefined;
    return { budget: c.budget, seeds: c.seeds ?? 1, set: c.set ?? [], data: c.data, experiments: c.experiments };
  } catch {
    return undefined;
  }
}

/**
 * The experiments the report of this run covers: this run's (`current`), then the earlier run's that this run
 * does not re-do, in the order of `all` (the project's experiments). Throws E_RUN_EXISTS when the earlier run
 * is not compatible (other data, budget, seeds or --set) or names a model or experiment this run does not know.
 * @example
 * mergeExperiments({ earlier, current: [zoo], all, run: { budget: 'smoke', seeds: 1, set: [], fingerprint }, models, outDir })
 * // [accuracy, ..., zoo]: the earlier run's tables stay in the report
 */
export function mergeExperiments(a: {
  earlier: EarlierRun | undefined;
  current: readonly ExperimentSpec[];
  all: readonly ExperimentSpec[];
  run: { budget: string; seeds: number; set: readonly string[]; fingerprint: string; source: string };
  models: readonly string[];
  outDir: string;
}): ExperimentSpec[] {
  const { earlier, current } = a;
  if (!earlier) return [...current];
  const refuse = (why: string) => new FerCliError('E_RUN_EXISTS', `${a.outDir} holds the report of an earlier run (budget ${earlier.budget}, data ${earlier.data.source} ${earlier.data.fingerprint}, ${earlier.seeds} seed(s)${earlier.set.length ? `, --set ${earlier.set.join(' ')}` : ''}) that this run cannot add to: ${why}. This run would replace that report; choose another --out (or delete ${a.outDir} to start over).`);
  const diffs = [
    earlier.budget !== a.run.budget ? `budget ${a.run.budget} here` : '',
    earlier.data.fingerprint !== a.run.fingerprint ? `other data here (${a.run.source} ${a.run.fingerprint})` : '',
    earlier.seeds !== a.run.seeds ? `${a.run.seeds} seed(s) here` : '',
    JSON.stringify([...earlier.set].sort()) !== JSON.stringify([...a.run.set].sort()) ? `--set ${a.run.set.join(' ') || '(none)'} here` : '',
  ].filter(Boolean);
  if (diffs.length) throw refuse(diffs.join(', '));
  const ids = new Set([...current.map((e) => e.id), ...earlier.experiments.map((e) => e.id)]);
  for (const e of earlier.experiments) {
    if (!a.all.some((x) => x.id === e.id)) throw refuse(`its experiment "${e.id}" is not defined in this run (was it in a fer.config file? pass that --config again)`);
    const missing = e.rows.map((r) => r.model.name).filter((m) => !a.models.includes(m));
    if (missing.length) throw refuse(`its ${e.id} rows use model(s) ${[...new Set(missing)].join(', ')}, not registered in this run (from a fer.config file? pass that --config again)`);
  }
  return a.all.filter((e) => ids.has(e.id)).map((e) => current.find((c) => c.id === e.id) ?? e);
}
