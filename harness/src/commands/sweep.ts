// `fer sweep`: the paper's validation search (Alizadeh & Fazel 2017 "cross-validated the hyper-parameters ... on the
// validation set"): grid or seeded random trials over any `--set` key, optionally cut early by ASHA (./../sweep/asha.ts),
// ranked by PublicTest accuracy. PrivateTest is never read. Each trial is a `fer train` run into
// <out>/trials/<key> (key = hash of its config), trained with its full schedule and paused at the rungs
// (`stopAfterEpoch`), so a promoted trial continues bit-exactly; a stopped sweep (--hours, Ctrl-C) is continued
// by the same command: the scheduler replays its decisions against the trials' results on disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { userPath } from '../data.js';
import { intFlag, SHARED_ARGS } from '../flags.js';
import { SpecError } from '../job/spec.js';
import { runSweep as runSweepLoop, type RunSweepOptions, type SweepResult, type TrialRunner } from '../sweep/run.js';
import { ASHA_ETA } from '../sweep/asha.js';
import { distinctSampler, gridSets, parseSpace, randomSampler, spaceSize, type SpaceAxis, type TrialSets } from '../sweep/space.js';
import { collectRepeated, runTrain } from './train.js';

export type { LeaderboardRow, RunSweepOptions, SweepResult, TrialRun, TrialRunner } from '../sweep/run.js';

/** Default search space of a random sweep without `--space` (the paper's: learning rate, L2, dropout, hidden units). */
export const DEFAULT_SPACE = ['lr=log:1e-5..1e-3', 'l2=log:1e-6..1e-2', 'dropout=0.2..0.6', 'units=256,512,1024'];

/**
 * Runs a sweep (../sweep/run.ts): each trial in this process (`fer train`'s runTrain) with --parallel 1, else as a
 * `fer train` child process, unless `runTrial` says otherwise (the queue's workers, tests).
 */
export function runSweep(o: RunSweepOptions): Promise<SweepResult> {
  return runSweepLoop({ ...o, runTrial: o.runTrial ?? ((o.parallel ?? 1) > 1 ? undefined : inProcessRunner(o, o.preset ?? 'paper')) });
}

/** Trains each trial in this process (`fer train`'s runTrain): `fer sweep` with --parallel 1, and the reproduction's sweeps. */
export function inProcessRunner(o: RunSweepOptions, preset: string): TrialRunner {
  return async (t) => {
    await runTrain({
      model: o.model, data: o.data, preset, config: o.config, sets: t.sets, out: t.dir, backend: o.backend ?? 'auto',
      resume: true, withholdTest: true, stopSignal: t.stop, ...(t.stopAfterEpoch !== undefined ? { stopAfterEpoch: t.stopAfterEpoch } : {}), log: t.log, onProgress: () => t.onStep(),
    });
  };
}

// --- the command ---

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export default defineCommand({
  meta: { name: 'sweep', description: "The paper's validation search: grid or seeded random trials over any --set key, optionally cut early by ASHA; resumable, ranked by PublicTest accuracy." },
  args: {
    model: { type: 'string', description: 'registry name', required: true },
    data: SHARED_ARGS.data,
    out: { type: 'string', description: 'output folder (trials/, leaderboard.md, leaderboard.json); the same --out continues a stopped sweep', required: true },
    space: { type: 'string', description: `search space, repeatable: key=log:LO..HI (log-uniform), key=LO..HI (uniform), key=int:LO..HI, key=a,b,c (choice); default ${DEFAULT_SPACE.join(' ')}` },
    trials: { type: 'string', description: 'most trials to start (seeded random draws from --space, or the first N grid points)' },
    random: { type: 'string', description: 'N random trials from --space (= --trials N)' },
    grid: { type: 'string', description: "grid, repeatable: 'lr=1e-4,3e-4' (or 'lr=1e-4,3e-4;l2=1e-4,1e-3')" },
    seed: { type: 'string', description: 'seed of the random draws (the same seed draws the same trials)', default: '1' },
    asha: { type: 'boolean', description: 'cut trials early by ASHA (successive halving on epochs)', default: false },
    'min-epochs': { type: 'string', description: 'ASHA: the first rung, in epochs (r)', default: '1' },
    eta: { type: 'string', description: `ASHA: keep the top 1/eta at each rung (default ${ASHA_ETA})`, default: String(ASHA_ETA) },
    'max-epochs': { type: 'string', description: "epochs of every trial's full schedule (R); default the preset's" },
    'epoch-budget': { type: 'string', description: 'stop once this many epochs were trained over all trials' },
    hours: { type: 'string', description: 'stop cleanly after this many hours (at the next training step, with a checkpoint); the same command continues' },
    set: { type: 'string', description: 'override shared by every trial (repeatable), as in fer train' },
    preset: { type: 'string', description: 'fer train --preset of every trial: smoke | quick | paper', default: 'paper' },
    config: SHARED_ARGS.config,
    parallel: { type: 'string', description: 'trials at once (1: in this process; more: fer train child processes)', default: '1' },
    backend: { type: 'string', description: 'backend of each trial', default: 'auto' },
    queue: { type: 'string', description: 'redis://HOST:PORT: run the trials on `fer worker`s through this Redis queue (BullMQ); --out must be the folder the workers share (docs/distributed.md)' },
    attempts: { type: 'string', description: 'with --queue: attempts of a failing trial before it ends as failed (default 3)' },
    from: { type: 'string', description: 'continue from a record of this sweep made elsewhere: its folder (only trials/*/{trial,history,config,metrics}.json are read, e.g. docs/results/sweep-shallow) or its leaderboard.json; recorded epochs are not trained again' },
  },
  async run({ args, rawArgs }) {
    const num = (flag: string, v: string | undefined, int = true): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (v === '' || !Number.isFinite(n) || n <= 0 || (int && !Number.isInteger(n))) throw new SpecError('E_BAD_OPTION', `--${flag} ${v}: expected a positive ${int ? 'integer' : 'number'}.`);
      return n;
    };
    const grids = collectRepeated(rawArgs, 'grid');
    const spaces = collectRepeated(rawArgs, 'space');
    const random = num('random', args.random);
    let trials = num('trials', args.trials);
    if (random !== undefined && trials !== undefined && random !== trials) throw new SpecError('E_BAD_OPTION', `--random ${random} and --trials ${trials}: give one (--random N is --trials N).`);
    trials ??= random;
    if (grids.length && (spaces.length || random !== undefined)) throw new SpecError('E_USAGE', 'fer sweep: give either --grid or --space/--random, not both.');
    let sample: (i: number) => TrialSets | null;
    let axes: SpaceAxis[];
    if (grids.length) {
      const points = gridSets(grids);
      sample = (i) => points[i] ?? null;
      trials ??= points.length;
      axes = parseSpace(grids);
    } else {
      if (trials === undefined) throw new SpecError('E_USAGE', 'fer sweep: give --trials N (or --random N) with --space, or --grid.');
      axes = parseSpace(spaces.length ? spaces : DEFAULT_SPACE);
      sample = distinctSampler(randomSampler(axes, intFlag(args.seed, '--seed', { min: 0 }) ?? 1), spaceSize(axes));
    }
    const out = userPath(args.out);
    const maxEpochs = num('max-epochs', args['max-epochs']);
    const parallel = num('parallel', args.parallel)!;
    const queued = args.queue ? await (await import('../queue/sweep.js')).createSweepQueue({
      url: args.queue, model: args.model, data: args.data, backend: args.backend, preset: args.preset, out,
      ...(args.config ? { config: userPath(args.config) } : {}),
      attempts: intFlag(args.attempts, '--attempts', { min: 1 }), log: (l) => process.stdout.write(`${l}\n`),
    }) : undefined;
    try {
      const r = await runSweep({
        model: args.model, data: args.data, preset: args.preset, config: args.config, backend: args.backend, out,
        baseSets: collectRepeated(rawArgs, 'set'), sample, trials, axes,
        ...(args.asha ? { asha: { minEpochs: num('min-epochs', args['min-epochs'])!, eta: num('eta', args.eta, false)! } } : {}),
        ...(maxEpochs !== undefined ? { maxEpochs } : {}),
        ...(args['epoch-budget'] !== undefined ? { epochBudget: num('epoch-budget', args['epoch-budget']) } : {}),
        ...(args.hours !== undefined ? { hours: num('hours', args.hours, false) } : {}),
        parallel: queued ? Math.max(parallel, trials) : parallel,
        handleSignals: true,
        continueWith: `pnpm fer sweep ${rawArgs.map(quote).join(' ')}`,
        ...(args.from ? { from: userPath(args.from) } : {}),
        ...(queued ? { runTrial: queued.runTrial } : {}),
      });
      process.stdout.write(`${await readFile(join(out, 'leaderboard.md'), 'utf8')}`);
      if (r.rows.some((row) => row.status === 'failed' && !/^E_(NON_FINITE_LOSS|DIVERGED)/.test(row.error ?? ''))) process.exitCode = 1;
    } finally {
      await queued?.close();
    }
  },
});
