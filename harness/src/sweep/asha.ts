// ASHA, asynchronous successive halving (Li et al. 2018, "A System for Massively Parallel Hyperparameter
// Tuning", Algorithm 2), with epochs as the resource. Pure: the trials are run by an injected `run`, so the
// scheduler is tested on synthetic objectives, and a stopped sweep is continued by replaying it: the same
// decisions in the same order, each answered from the trials' results on disk until one needs training.
//
// Levels: the rungs r, r*eta, r*eta^2, ... below the maximum R, then R itself (a trial that passes the last rung
// trains to the end, as Ray Tune's ASHA does). A trial's score at a rung is its best PublicTest accuracy over
// the epochs up to that rung. Each free slot asks for work: the best trial that is in the top 1/eta of the
// trials that reached its rung and was not promoted yet goes up one level (from the highest rung down); if
// there is none, a new trial starts at the first rung, while the budget lasts.

/** How the scheduler cuts. */
export interface AshaOptions {
  /** First rung, in epochs (r). */
  minEpochs: number;
  /** Last level = the full schedule, in epochs (R). */
  maxEpochs: number;
  /** Reduction factor: keep the top 1/eta of each rung (default 3). */
  eta: number;
}

/** Default reduction factor (Li et al.). */
export const ASHA_ETA = 3;

/**
 * The epochs at which a trial is judged: r*eta^k below R, then R.
 * @example
 * ashaLevels({ minEpochs: 1, maxEpochs: 30, eta: 3 }) // [1, 3, 9, 27, 30]
 */
export function ashaLevels(o: AshaOptions): number[] {
  if (!(Number.isInteger(o.minEpochs) && o.minEpochs >= 1)) throw new RangeError(`--min-epochs ${o.minEpochs}: expected a positive integer.`);
  if (!(Number.isInteger(o.maxEpochs) && o.maxEpochs >= 1)) throw new RangeError(`--max-epochs ${o.maxEpochs}: expected a positive integer.`);
  if (!(Number.isFinite(o.eta) && o.eta > 1)) throw new RangeError(`--eta ${o.eta}: expected a number greater than 1 (e.g. 3).`);
  if (o.minEpochs > o.maxEpochs) throw new RangeError(`--min-epochs ${o.minEpochs} is above --max-epochs ${o.maxEpochs}.`);
  const out: number[] = [];
  for (let r = o.minEpochs; r < o.maxEpochs; r = Math.max(r + 1, Math.round(r * o.eta))) out.push(r);
  out.push(o.maxEpochs);
  return out;
}

/** What the scheduler knows of one trial. */
export interface TrialView {
  /** PublicTest accuracy after each completed epoch (index 0 = epoch 1); null where there was none. */
  accuracy: readonly (number | null)[];
  /** Failed (diverged, ...): it counts at the level it was trained towards, ranked last, and goes no further. */
  failed: boolean;
  /** The level it is being trained towards now (index into the levels), or null when idle. */
  running: number | null;
  /** The highest level it was trained towards (reached, or failed at); -1 before its first run. */
  level: number;
}

/** The scheduler's next move. */
export type AshaAction =
  | { kind: 'promote'; trial: number; level: number; epochs: number }
  | { kind: 'start'; level: 0; epochs: number }
  | { kind: 'wait' }
  | { kind: 'done' };

/** A trial's score at `epochs`: its best accuracy over epochs 1..epochs (-Infinity when it has none). */
export function scoreAt(t: Pick<TrialView, 'accuracy'>, epochs: number): number {
  let best = -Infinity;
  for (let i = 0; i < Math.min(epochs, t.accuracy.length); i++) {
    const a = t.accuracy[i];
    if (a !== null && a > best) best = a;
  }
  return best;
}

/**
 * The next move of ASHA given the trials so far (index = start order) and whether another trial may start.
 * Ties rank by start order. Pure.
 * @example
 * nextAction([], levels, eta, true) // { kind: 'start', level: 0, epochs: levels[0] }
 */
export function nextAction(trials: readonly TrialView[], levels: readonly number[], eta: number, canStart: boolean): AshaAction {
  for (let k = levels.length - 2; k >= 0; k--) {
    // rung k: every trial judged there (reached level >= k and not running towards k)
    const rung: { i: number; score: number }[] = [];
    trials.forEach((t, i) => {
      const judged = t.level > k || (t.level === k && t.running === null);
      if (!judged) return;
      const failedHere = t.failed && t.level === k;
      rung.push({ i, score: failedHere ? -Infinity : scoreAt(t, levels[k]) });
    });
    const keep = Math.floor(rung.length / eta);
    if (keep === 0) continue;
    rung.sort((a, b) => b.score - a.score || a.i - b.i);
    for (const { i, score } of rung.slice(0, keep)) {
      const t = trials[i];
      if (t.level === k && !t.failed && t.running === null && score > -Infinity) return { kind: 'promote', trial: i, level: k + 1, epochs: levels[k + 1] };
    }
  }
  if (canStart) return { kind: 'start', level: 0, epochs: levels[0] };
  return trials.some((t) => t.running !== null) ? { kind: 'wait' } : { kind: 'done' };
}

/** What one run of a trial (to a level's epochs) ended with. */
export interface TrialOutcome {
  /** PublicTest accuracy after each completed epoch so far (all of them, not only this run's). */
  accuracy: (number | null)[];
  /** ok: trained to the epochs asked; failed: it cannot go on (diverged, ...); stopped: the sweep is stopping (--hours, Ctrl-C). */
  status: 'ok' | 'failed' | 'stopped';
  error?: string;
}

/** One scheduler event (progress lines, tests). */
export type AshaEvent =
  | { kind: 'start' | 'promote'; trial: number; level: number; epochs: number }
  | { kind: 'finish'; trial: number; level: number; epochs: number; outcome: TrialOutcome };

/** Options of {@link runAsha}. */
export interface RunAshaOptions<C> {
  levels: readonly number[];
  eta: number;
  /** Most trials to start (the budget in trials). */
  trials: number;
  /** The config of the i-th trial (0-based), or null when the space has no more (a grid's end). */
  sample: (i: number) => C | null;
  /** Trains trial `i` (config `config`) until `epochs` epochs of its full schedule are done (cached runs return at once). */
  run: (i: number, config: C, epochs: number) => Promise<TrialOutcome>;
  /** Trials trained at once (default 1). With 1 the decisions, hence a continued sweep, are deterministic. */
  parallel?: number;
  /** Checked before every decision: true = start or promote nothing more (running trials finish or stop). */
  shouldStop?: () => boolean;
  /** Stop once this many epochs were trained in all (cached ones count; the budget in epochs). */
  epochBudget?: number;
  onEvent?: (e: AshaEvent) => void;
}

/** A trial as {@link runAsha} leaves it. */
export interface AshaTrial<C> extends TrialView {
  config: C;
  error?: string;
  /** The level it was paused at by a stop (--hours), to continue. */
  stopped: boolean;
}

/**
 * Runs ASHA to the end of its budget (or until `shouldStop`), `parallel` trials at a time.
 * @example
 * const trials = await runAsha({ levels: [1, 3, 9], eta: 3, trials: 9, sample: (i) => space[i], run });
 */
export async function runAsha<C>(o: RunAshaOptions<C>): Promise<{ trials: AshaTrial<C>[]; stopped: boolean; exhausted: boolean }> {
  const trials: AshaTrial<C>[] = [];
  const parallel = Math.max(1, o.parallel ?? 1);
  let exhausted = false;
  let stopped = false;
  const epochsTrained = () => trials.reduce((s, t) => s + t.accuracy.length, 0);
  const overBudget = () => o.epochBudget !== undefined && epochsTrained() >= o.epochBudget;
  const running = new Set<Promise<void>>();
  const launch = (i: number, level: number) => {
    const t = trials[i];
    t.running = level;
    t.level = level;
    const epochs = o.levels[level];
    const p = o.run(i, t.config, epochs).then(
      (outcome) => outcome,
      (e: unknown): TrialOutcome => ({ accuracy: [...t.accuracy], status: 'failed', error: (e as Error).message ?? String(e) }),
    ).then((outcome) => {
      t.running = null;
      t.accuracy = outcome.accuracy;
      if (outcome.status === 'failed') {
        t.failed = true;
        t.error = outcome.error;
      } else if (outcome.status === 'stopped') {
        // not judged at this level: it goes back to the level it had reached
        t.level = level - 1;
        t.stopped = true;
        stopped = true;
      }
      o.onEvent?.({ kind: 'finish', trial: i, level, epochs, outcome });
    });
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
  };
  for (;;) {
    if (!stopped && o.shouldStop?.()) stopped = true;
    while (!stopped && running.size < parallel && !overBudget()) {
      const canStart = !exhausted && trials.length < o.trials;
      let action = nextAction(trials, o.levels, o.eta, canStart);
      if (action.kind === 'start') {
        const config = o.sample(trials.length);
        if (config === null) {
          exhausted = true;
          action = nextAction(trials, o.levels, o.eta, false);
        } else {
          trials.push({ config, accuracy: [], failed: false, running: null, level: -1, stopped: false });
          o.onEvent?.({ kind: 'start', trial: trials.length - 1, level: 0, epochs: o.levels[0] });
          launch(trials.length - 1, 0);
          continue;
        }
      }
      if (action.kind === 'promote') {
        o.onEvent?.({ kind: 'promote', trial: action.trial, level: action.level, epochs: action.epochs });
        launch(action.trial, action.level);
        continue;
      }
      break; // wait or done
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  return { trials, stopped, exhausted };
}

/**
 * Expected epochs per trial under ASHA (each level reached by 1/eta of the one below), for ETAs.
 * @example
 * expectedEpochsPerTrial([1, 3, 9], 3) // 1 + (3-1)/3 + (9-3)/9
 */
export function expectedEpochsPerTrial(levels: readonly number[], eta: number): number {
  let s = 0;
  levels.forEach((l, k) => (s += (l - (k ? levels[k - 1] : 0)) / eta ** k));
  return s;
}
