// The sweep experiment of `pnpm reproduce` (`--only sweep`, harness/experiments/sweep.ts): each of its sweeps is a
// `fer sweep` (runSweep) into <out>/sweeps/<id>, under the run's budget (as `fer train --preset`), data, backend and
// --hours clock; the report's section shows each leaderboard's head, the winner and the figures.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable } from '@fer/metrics';
import { runSweep, type LeaderboardRow, type TrialRunnerFactory } from './run.js';
import type { StopControl } from '../job/stop.js';
import type { Figure, Section } from '../report/sections.js';
import type { BudgetName, ExperimentSpec, SweepSpec } from '../job/spec.js';
import { distinctSampler, parseSpace, randomSampler, spaceSize } from './space.js';
import { figureName } from './figures.js';

/** One sweep's outcome, for the report. */
export interface SpecSweepResult {
  spec: SweepSpec;
  /** Folder of the sweep, relative to the run's output folder. */
  dir: string;
  rows: LeaderboardRow[];
  levels: number[];
  stopped: boolean;
  trials: number;
}

/** `pnpm reproduce --set` keys that are the report's, not a training run's (left out of the trials' overrides). */
const REPORT_ONLY = /^(report|snapshots|deepdream)\./;

/**
 * Runs the sweeps of a `produce: 'sweep'` experiment one after the other (stopping with the run's --hours / Ctrl-C).
 * @example
 * await runSpecSweeps({ exp: sweep, budget: 'smoke', outDir, backend: 'auto', set: [], seed: 1, stop, log });
 */
export async function runSpecSweeps(o: {
  exp: ExperimentSpec;
  budget: BudgetName;
  outDir: string;
  data?: string;
  config?: string;
  backend: string;
  /** The run's --set items (report-only keys are left out). */
  set: readonly string[];
  /** The run's seed: the trials' draws. */
  seed: number;
  stop: StopControl;
  log: (line: string) => void;
  /** How a sweep's trials are trained (`pnpm reproduce`: in this process, as `fer train`); default a `fer train` child process each. */
  trialRunner?: TrialRunnerFactory;
}): Promise<SpecSweepResult[]> {
  const out: SpecSweepResult[] = [];
  for (const spec of o.exp.sweeps ?? []) {
    if (o.stop.reason) break;
    const axes = parseSpace(spec.space);
    const dir = `sweeps/${spec.id}`;
    const trials = spec.trials[o.budget];
    o.log(`sweep ${spec.id}: ${spec.label}, ${trials} trials over ${axes.map((a) => a.key).join(', ')} (budget ${o.budget}), into ${dir}`);
    const opts = {
      model: spec.model, data: o.data, preset: o.budget, config: o.config, backend: o.backend, out: `${o.outDir}/${dir}`,
      baseSets: [...(spec.sets ?? []), ...o.set.filter((s) => !REPORT_ONLY.test(s))],
      sample: distinctSampler(randomSampler(axes, o.seed), spaceSize(axes)), trials, axes,
      asha: { minEpochs: spec.asha.minEpochs, eta: spec.asha.eta },
      signal: o.stop.signal, check: () => o.stop.check(), continueWith: 'the same pnpm reproduce command (printed below)',
      log: (l: string) => o.log(`  ${spec.id} ${l}`),
    };
    const r = await runSweep({ ...opts, ...(o.trialRunner ? { runTrial: o.trialRunner(opts) } : {}) });
    out.push({ spec, dir, rows: r.rows, levels: r.levels, stopped: r.stopped, trials });
    if (r.stopped) break;
  }
  return out;
}

/**
 * The sweeps of an experiment an earlier run into `outDir` ran (their leaderboard.json files), for a report that keeps
 * that run's sections without re-running them.
 */
export function readSpecSweeps(exp: ExperimentSpec, budget: BudgetName, outDir: string): SpecSweepResult[] {
  const out: SpecSweepResult[] = [];
  for (const spec of exp.sweeps ?? []) {
    const dir = `sweeps/${spec.id}`;
    const file = join(outDir, dir, 'leaderboard.json');
    if (!existsSync(file)) continue;
    const lb = JSON.parse(readFileSync(file, 'utf8')) as { trials: LeaderboardRow[]; stopped: boolean; scheduler: { levels?: number[]; epochs?: number } };
    out.push({ spec, dir, rows: lb.trials, levels: lb.scheduler.levels ?? [lb.scheduler.epochs ?? 0], stopped: lb.stopped, trials: spec.trials[budget] });
  }
  return out;
}

/**
 * The report section of a sweep experiment: per sweep, the winner (job hash and leaderboard file: the provenance to
 * record in the model's recipe), the top of the leaderboard and its figures.
 */
export function sweepSection(exp: ExperimentSpec, results: readonly SpecSweepResult[], picture: (src: string, name: string) => string): Section {
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
  const parts: string[] = [];
  const figures: Figure[] = [];
  for (const spec of exp.sweeps ?? []) {
    const r = results.find((x) => x.spec.id === spec.id);
    parts.push(`### ${spec.label} (${spec.model})`, '');
    if (!r) {
      parts.push('Not run yet (the run stopped before this sweep).', '');
      continue;
    }
    const keys = parseSpace(spec.space).map((a) => a.key);
    const winner = r.rows.find((x) => x.status === 'done');
    parts.push(`${r.rows.length} of ${r.trials} trials${r.stopped ? ' so far (stopped; the same command continues)' : ''}; ASHA rungs at ${r.levels.join(', ')} epochs (eta ${spec.asha.eta}); selection on PublicTest only. Full leaderboard: \`${r.dir}/leaderboard.md\` (and \`.json\`).`, '');
    parts.push(winner
      ? `**Winner:** trial ${winner.trial + 1}: \`${winner.sets.join(' ')}\`, PublicTest ${pct(winner.publicTest)} (epoch ${winner.bestEpoch}); job hash \`${winner.hash}\`, \`${r.dir}/trials/${winner.key}\`.`
      : 'No trial has trained the full schedule yet.', '');
    parts.push(markdownTable({
      header: ['rank', 'trial', ...keys, 'epochs', 'PublicTest', 'status'],
      rows: r.rows.slice(0, 10).map((x) => [x.rank, x.trial + 1, ...keys.map((k) => x.params[k] ?? ''), x.epochs, pct(x.publicTest), x.status === 'failed' ? `failed: ${(x.error ?? '').slice(0, 60)}` : x.status]),
    }), '');
    if (r.rows.some((x) => x.accuracy.length)) {
      const add = (src: string, name: string, caption: string) => {
        try {
          figures.push({ file: picture(`${r.dir}/figures/${src}`, `${exp.id}-${spec.id}-${name}`), caption });
        } catch (e) {
          parts.push(`(Figure ${src} is missing: ${(e as Error).message})`, '');
        }
      };
      add('curves.png', 'curves', `${spec.label}: PublicTest accuracy per epoch of every trial, coloured by the epochs it reached (ASHA's rungs).`);
      for (const k of keys) add(figureName(k), k.replace(/[^A-Za-z0-9_-]+/g, '_'), `${spec.label}: best PublicTest accuracy of each trial against ${k}.`);
    }
  }
  return { id: exp.id, ref: exp.ref, title: exp.title, description: exp.description, markdown: parts.join('\n'), figures, verdicts: [] };
}
