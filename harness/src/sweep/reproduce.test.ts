import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { reproduce, selectExperiments } from '../reproduce/run.js';
import { defineExperiment } from '../job/spec.js';
import { inProcessRunner } from '../commands/sweep.js';
import type { TrialRunnerFactory } from './run.js';

describe('the sweep experiment of pnpm reproduce', () => {
  it('runs only when named by --only', () => {
    expect(selectExperiments(experiments, undefined).map((e) => e.id)).not.toContain('sweep');
    expect(selectExperiments(experiments, ['sweep']).map((e) => e.id)).toEqual(['sweep']);
  });

  it('--only sweep (smoke, synthetic): runs the sweep under the budget, reports its winner and figures; --hours stops and the same call continues', async () => {
    const exp = defineExperiment({
      id: 'sweep', ref: 'Section 4', title: 'Validation sweep', produce: 'sweep', description: 'd', base: {}, rows: [],
      sweeps: [{ id: 'paper-shallow', label: 'Shallow CNN', model: 'paper-shallow', space: ['lr=log:1e-4..1e-2', 'train.classWeights=none,balanced'], trials: { smoke: 3, quick: 3, paper: 3 }, asha: { minEpochs: 1, eta: 3 }, sets: ['model.filters=[2,2]', 'model.denseUnits=4'] }],
    });
    const out = mkdtempSync(join(tmpdir(), 'fer-reproduce-sweep-'));
    const lines: string[] = [];
    // The trials in this process, as pnpm reproduce trains them (commands/reproduce.ts).
    const sweepTrialRunner: TrialRunnerFactory = (o) => inProcessRunner(o, o.preset ?? 'paper');
    const base = { sweepTrialRunner, experiments: [exp], only: ['sweep'], budget: 'smoke' as const, data: 'synthetic', backend: 'cpu', noWarmup: true, out, set: ['limit=48', 'train.evalLimit=32', 'report.bootstrap=10'], log: (l: string) => lines.push(l), cacheDir: mkdtempSync(join(tmpdir(), 'fer-speeds-')) };
    // a step clock: --hours 0.001 (3.6 s) of 1 s steps stops after a few steps
    let steps = 0;
    const first = await reproduce({ ...base, hours: 0.001, clock: () => steps++ });
    expect(first.stopped).not.toBeNull();
    expect(lines.join('\n')).toMatch(/Continue exactly where it stopped with:\n {2}pnpm reproduce --data synthetic --preset smoke --backend cpu --only sweep/);
    const r = await reproduce(base);
    expect(r.stopped).toBeNull();
    expect(r.plan.jobs).toHaveLength(0);
    const lb = JSON.parse(readFileSync(join(out, 'sweeps', 'paper-shallow', 'leaderboard.json'), 'utf8'));
    expect(lb.trials).toHaveLength(3);
    expect(lb.scheduler).toEqual({ kind: 'asha', levels: [1, 2], eta: 3 });
    expect(lb.winner).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{12}$/) });
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/## Section 4: Validation sweep/);
    expect(md).toMatch(/\*\*Winner:\*\* trial \d: `lr=[\d.e-]+ train\.classWeights=(none|balanced)`, PublicTest [\d.]+% \(epoch \d\); job hash `[0-9a-f]{12}`/);
    expect(md).toMatch(/Full leaderboard: `sweeps\/paper-shallow\/leaderboard\.md`/);
    for (const f of ['sweep-paper-shallow-curves.png', 'sweep-paper-shallow-lr.png', 'sweep-paper-shallow-train_classWeights.png']) expect(existsSync(join(out, 'figures', f)), f).toBe(true);
    // the trials ran under the smoke budget (fer train --preset smoke): 1/8 width, 2 epochs
    const cfg = JSON.parse(readFileSync(join(out, 'sweeps', 'paper-shallow', 'trials', lb.winner.key, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ preset: 'smoke', hash: lb.winner.hash, spec: { epochs: 2 } });
  }, 600_000);
});
