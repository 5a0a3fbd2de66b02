import { describe, expect, it } from 'vitest';
import { ashaLevels, expectedEpochsPerTrial, nextAction, runAsha, scoreAt, type AshaEvent, type TrialOutcome, type TrialView } from './asha.js';

/** A synthetic objective: arm q learns towards q, faster for larger q; accuracy after epoch e (1-based). */
const curve = (q: number, e: number) => q * (1 - Math.exp(-e / 4)) + 0.002 * Math.sin(7 * q * e);

/** Arms in a scrambled order; the best one is 0.9 (index 11). */
const ARMS = Array.from({ length: 30 }, (_, i) => 0.3 + ((i * 7) % 30) * 0.02);
const BEST = ARMS.indexOf(Math.max(...ARMS));

/**
 * A trial runner over the synthetic objective with a results store (the trials' folders on disk): a trial asked
 * for epochs it has already trained answers at once; `stopAtEpoch` stops training once that many epochs were
 * trained by this runner (the --hours clock), keeping what was trained.
 */
function simRunner(store: Map<number, number[]>, o: { stopAtEpoch?: number; failing?: Set<number> } = {}) {
  const trained = { epochs: 0, calls: [] as [number, number][] };
  const run = async (_i: number, arm: number, epochs: number): Promise<TrialOutcome> => {
    await Promise.resolve();
    trained.calls.push([arm, epochs]);
    const acc = store.get(arm) ?? [];
    store.set(arm, acc);
    while (acc.length < epochs) {
      if (o.stopAtEpoch !== undefined && trained.epochs >= o.stopAtEpoch) return { accuracy: [...acc], status: 'stopped' };
      if (o.failing?.has(arm) && acc.length === 1) return { accuracy: [...acc], status: 'failed', error: 'diverged' };
      acc.push(curve(ARMS[arm], acc.length + 1));
      trained.epochs++;
    }
    return { accuracy: [...acc], status: 'ok' };
  };
  return { run, trained };
}

/**
 * ASHA's rule, checked from the events alone: when a trial goes from rung k to k+1, it is in the top
 * floor(n/eta) of the n trials judged at rung k at that moment (by best accuracy up to the rung, failed last).
 * (Promotions are never taken back, so in the end more than n/eta may have gone up: Li et al.'s "mispromotions".)
 */
function ruleChecker(levels: number[], eta: number) {
  const shadow: { acc: (number | null)[]; level: number; running: boolean; failed: boolean }[] = [];
  let promotions = 0;
  const onEvent = (e: AshaEvent) => {
    if (e.kind === 'start') shadow[e.trial] = { acc: [], level: 0, running: true, failed: false };
    else if (e.kind === 'finish') Object.assign(shadow[e.trial], { acc: e.outcome.accuracy, running: false, failed: e.outcome.status === 'failed' });
    else {
      const k = e.level - 1;
      const judged = shadow.map((t, i) => ({ t, i })).filter(({ t }) => t.level > k || (t.level === k && !t.running));
      const score = (t: (typeof shadow)[number]) => (t.failed && t.level === k ? -Infinity : scoreAt({ accuracy: t.acc }, levels[k]));
      const ranked = judged.sort((a, b) => score(b.t) - score(a.t) || a.i - b.i).slice(0, Math.floor(judged.length / eta)).map(({ i }) => i);
      expect(ranked).toContain(e.trial);
      expect(shadow[e.trial]).toMatchObject({ level: k, running: false, failed: false });
      Object.assign(shadow[e.trial], { level: e.level, running: true });
      promotions++;
    }
  };
  return { onEvent, promotions: () => promotions };
}

describe('ashaLevels', () => {
  it('puts rungs at r*eta^k below R, then R', () => {
    expect(ashaLevels({ minEpochs: 1, maxEpochs: 30, eta: 3 })).toEqual([1, 3, 9, 27, 30]);
    expect(ashaLevels({ minEpochs: 1, maxEpochs: 9, eta: 3 })).toEqual([1, 3, 9]);
    expect(ashaLevels({ minEpochs: 2, maxEpochs: 35, eta: 4 })).toEqual([2, 8, 32, 35]);
    expect(ashaLevels({ minEpochs: 5, maxEpochs: 5, eta: 3 })).toEqual([5]);
    expect(() => ashaLevels({ minEpochs: 4, maxEpochs: 2, eta: 3 })).toThrow(/--min-epochs 4 is above --max-epochs 2/);
    expect(() => ashaLevels({ minEpochs: 1, maxEpochs: 2, eta: 1 })).toThrow(/--eta 1: expected a number greater than 1/);
  });

  it('expected epochs per trial', () => {
    expect(expectedEpochsPerTrial([1, 3, 9], 3)).toBeCloseTo(1 + 2 / 3 + 6 / 9);
    expect(expectedEpochsPerTrial([10], 3)).toBe(10);
  });
});

describe('nextAction', () => {
  const t = (accuracy: number[], level: number, extra: Partial<TrialView> = {}): TrialView => ({ accuracy, failed: false, running: null, level, ...extra });
  const levels = [1, 3, 9];

  it('starts trials until a rung holds eta, then promotes the best, highest rung first', () => {
    expect(nextAction([], levels, 3, true)).toEqual({ kind: 'start', level: 0, epochs: 1 });
    const two = [t([0.5], 0), t([0.6], 0)];
    expect(nextAction(two, levels, 3, true).kind).toBe('start');
    const three = [...two, t([0.4], 0)];
    expect(nextAction(three, levels, 3, true)).toEqual({ kind: 'promote', trial: 1, level: 1, epochs: 3 });
    // trial 1 promoted and judged at rung 1 alone: nothing to promote from rung 1; rung 0 has 1 slot, used
    const after = [three[0], t([0.6, 0.62, 0.63], 1), three[2]];
    expect(nextAction(after, levels, 3, true).kind).toBe('start');
    expect(nextAction(after, levels, 3, false)).toEqual({ kind: 'done' });
    // score at a rung = best so far up to it
    expect(scoreAt(t([0.5, 0.7, 0.6], 1), 3)).toBe(0.7);
    expect(scoreAt(t([0.5, 0.7, 0.6], 1), 1)).toBe(0.5);
  });

  it('never promotes a running or failed trial; a failed trial counts in its rung, last', () => {
    const trials = [t([0.9], 0, { failed: true }), t([0.5], 0), t([0.4], 0)];
    expect(nextAction(trials, levels, 3, false)).toEqual({ kind: 'promote', trial: 1, level: 1, epochs: 3 });
    const running = [t([0.9], 0), t([0.5], 0), t([0.4], 0, { running: 0 }), t([], 0, { running: 0 })];
    // the two running towards rung 0 are not judged yet: 2 judged, no slot
    expect(nextAction(running, levels, 3, false)).toEqual({ kind: 'wait' });
  });
});

describe('runAsha on synthetic objectives', () => {
  const levels = ashaLevels({ minEpochs: 1, maxEpochs: 27, eta: 3 });

  it('finds the best arm, trains it to the end, keeps the rung invariant, spends far fewer epochs than full runs', async () => {
    const store = new Map<number, number[]>();
    const sim = simRunner(store);
    const events: AshaEvent[] = [];
    const rule = ruleChecker(levels, 3);
    const r = await runAsha({ levels, eta: 3, trials: 30, sample: (i) => (i < ARMS.length ? i : null), run: sim.run, onEvent: (e) => { events.push(e); rule.onEvent(e); } });
    expect(rule.promotions()).toBeGreaterThan(10);
    expect(r.trials).toHaveLength(30);
    expect(r.stopped).toBe(false);
    expect(r.trials[BEST].level).toBe(levels.length - 1);
    expect(r.trials[BEST].accuracy).toHaveLength(27);
    // the winner (best PublicTest among trials at the top level) is the best arm
    const top = r.trials.map((t, i) => ({ i, t })).filter(({ t }) => t.level === levels.length - 1);
    expect(top.sort((a, b) => scoreAt(b.t, 27) - scoreAt(a.t, 27))[0].i).toBe(BEST);
    expect(sim.trained.epochs).toBeLessThan(30 * 27 / 4);
    expect(events.filter((e) => e.kind === 'start')).toHaveLength(30);
    // the same inputs make the same decisions
    const again = await runAsha({ levels, eta: 3, trials: 30, sample: (i) => i, run: simRunner(new Map()).run });
    expect(again.trials.map((t) => [t.config, t.level])).toEqual(r.trials.map((t) => [t.config, t.level]));
  });

  it('a stopped sweep continues exactly where it stopped (state re-derived from the stored results)', async () => {
    const full = simRunner(new Map());
    const whole = await runAsha({ levels, eta: 3, trials: 20, sample: (i) => i, run: full.run });
    const store = new Map<number, number[]>();
    let total = 0;
    for (const stopAt of [7, 16, 40, 1000]) {
      const sim = simRunner(store, { stopAtEpoch: stopAt - total });
      const r = await runAsha({ levels, eta: 3, trials: 20, sample: (i) => i, run: sim.run });
      total += sim.trained.epochs;
      expect(r.stopped).toBe(stopAt < 1000);
      if (r.stopped) expect(r.trials.some((t) => t.stopped)).toBe(true);
      else expect(r.trials.map((t) => [t.config, t.level, t.accuracy])).toEqual(whole.trials.map((t) => [t.config, t.level, t.accuracy]));
    }
    // not one epoch trained twice
    expect(total).toBe(full.trained.epochs);
  });

  it('stops at the budget: trials, epochs, the end of a grid, or shouldStop', async () => {
    const a = await runAsha({ levels, eta: 3, trials: 5, sample: (i) => i, run: simRunner(new Map()).run });
    expect(a.trials).toHaveLength(5);
    const g = await runAsha({ levels, eta: 3, trials: 100, sample: (i) => (i < 4 ? i : null), run: simRunner(new Map()).run });
    expect(g.trials).toHaveLength(4);
    expect(g.exhausted).toBe(true);
    const sim = simRunner(new Map());
    const e = await runAsha({ levels, eta: 3, trials: 100, sample: (i) => i, run: sim.run, epochBudget: 12 });
    expect(sim.trained.epochs).toBeGreaterThanOrEqual(12);
    expect(sim.trained.epochs).toBeLessThan(12 + 27);
    expect(e.trials.length).toBeLessThan(100);
    let n = 0;
    const s = await runAsha({ levels, eta: 3, trials: 100, sample: (i) => i, run: simRunner(new Map()).run, shouldStop: () => ++n > 3 });
    expect(s.stopped).toBe(true);
    expect(s.trials).toHaveLength(3);
  });

  it('failed trials go no further and are ranked last; a throwing runner is a failed trial', async () => {
    const failing = new Set([BEST]);
    const sim = simRunner(new Map(), { failing });
    const rule = ruleChecker(levels, 3);
    const r = await runAsha({ levels, eta: 3, trials: 30, sample: (i) => i, run: (i, c, ep) => (c === 3 ? Promise.reject(new Error('boom')) : sim.run(i, c, ep)), onEvent: rule.onEvent });
    expect(r.trials[BEST]).toMatchObject({ failed: true, error: 'diverged' });
    expect(r.trials[BEST].level).toBeLessThanOrEqual(1);
    expect(r.trials[3]).toMatchObject({ failed: true, error: 'boom', level: 0 });
    // the second-best arm wins instead
    const second = ARMS.indexOf(Math.max(...ARMS.filter((_, i) => i !== BEST)));
    expect(r.trials[second].level).toBe(levels.length - 1);
  });

  it('runs several trials at once (asynchronous) and still keeps the rung invariant', async () => {
    let live = 0, most = 0;
    const sim = simRunner(new Map());
    const run = async (i: number, c: number, ep: number) => {
      most = Math.max(most, ++live);
      await new Promise((res) => setTimeout(res, (c % 3) + 1));
      const out = await sim.run(i, c, ep);
      live--;
      return out;
    };
    const rule = ruleChecker(levels, 3);
    const r = await runAsha({ levels, eta: 3, trials: 30, sample: (i) => i, run, parallel: 3, onEvent: rule.onEvent });
    expect(most).toBe(3);
    expect(rule.promotions()).toBeGreaterThan(5);
    expect(r.trials[BEST].level).toBe(levels.length - 1);
  });

  it('without rungs (one level) every trial trains the full schedule', async () => {
    const sim = simRunner(new Map());
    const r = await runAsha({ levels: [5], eta: 3, trials: 4, sample: (i) => i, run: sim.run });
    expect(r.trials.map((t) => t.accuracy.length)).toEqual([5, 5, 5, 5]);
    expect(sim.trained.epochs).toBe(20);
  });
});
