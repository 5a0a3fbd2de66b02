import { defineCommand } from 'citty';
import { intFlag } from '../flags.js';
import { reproduce } from '../reproduce/run.js';
import { SpecError, type BudgetName } from '../job/spec.js';
import { DATA_FLAG_ARGS, dataFlags } from '../data.js';
import { testHoldAfterSteps } from './_test-hooks.js';
import { inProcessRunner } from './sweep.js';

// --set values may hold commas (train.augment=hflip,shift): only --only is split on commas.
const many = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);

export default defineCommand({
  meta: { name: 'reproduce', description: 'Re-do every table and figure of Alizadeh & Fazel 2017 and write report.md / report.html next to the paper\'s numbers.' },
  args: {
    data: { type: 'string', description: 'FER2013 csv(.gz); default $FER2013_PATH, else the embedded synthetic set (`synthetic` forces it)' },
    config: { type: 'string', description: 'fer.config file registering user models and experiments (default: fer.config.ts/.mjs/.js in the current folder); its models join the zoo experiment' },
    preset: { type: 'string', description: 'smoke | quick | paper, as fer train --preset (default: smoke without data; with data, paper on a GPU backend, quick otherwise)' },
    budget: { type: 'string', description: 'another name for --preset' },
    seeds: { type: 'string', description: 'seeds per job (default 1)', default: '1' },
    backend: { type: 'string', description: 'auto | wasm | webgpu | tensorflow | cpu', default: 'auto' },
    workers: { type: 'string', description: 'data-parallel worker threads (default 1)', default: '1' },
    only: { type: 'string', description: 'comma-separated experiment ids (accuracy, per-expression, hybrid, confusion, histories, activation-maps, filters, deepdream, zoo)' },
    out: { type: 'string', description: 'output folder (default results/<budget>-<data-id>/)' },
    set: { type: 'string', description: 'override a setting, key=value (repeatable; the grammar of fer train --set): train.<k>=v, model.<k>=v (every row\'s model), seed=N, modelScale=F, snapshots.*, deepdream.*, report.*, or an alias (lr, epochs, batch, optimizer, normalizer, augment, limit, l2, dropout, units), e.g. --set train.epochs=1' },
    'dry-run': { type: 'boolean', description: 'print the plan, its ETA and the disk it needs (in seconds: stored speeds, or a warm-up of at most ~30 s), then stop', default: false },
    hours: { type: 'string', description: 'stop at the next training step after H hours (e.g. 2 or 0.5), write the report so far and print the command that continues (Ctrl-C and SIGTERM do the same)' },
    'keep-checkpoints': { type: 'boolean', description: 'keep the optimizer checkpoints of finished jobs (default: deleted; models and histories stay)', default: false },
    queue: { type: 'string', description: 'redis://HOST:PORT: run the jobs on `fer worker`s through this Redis queue (BullMQ); --out must be the folder the workers share (docs/distributed.md)' },
    attempts: { type: 'string', description: 'with --queue: attempts of a failing job before it ends as failed (default 3)' },
    verbose: { type: 'boolean', description: 'print the backend\'s details (versions, libraries, kernels), not just its one line', default: false },
    ...DATA_FLAG_ARGS,
  },
  async run({ args }) {
    const seeds = intFlag(args.seeds, '--seeds', { min: 1 });
    const workers = intFlag(args.workers, '--workers', { min: 1 });
    const hours = args.hours === undefined ? undefined : Number(args.hours);
    if (hours !== undefined && !(Number.isFinite(hours) && hours > 0)) throw new Error(`--hours ${args.hours}: expected a positive number of hours, e.g. 2 or 0.5`);
    // A stop on request (--hours, Ctrl-C, SIGTERM) is a success: exit 0 after the partial report and the continue command.
    // NOTE: on Ctrl-C pnpm itself also gets SIGINT and adds "ELIFECYCLE Command failed" (pnpm >= 10.16 reports any
    // interrupted script so, pnpm/pnpm#9626); the lines above it say the run stopped cleanly.
    // --queue: a missing Redis is an error in seconds, before the data is loaded and the plan is made.
    if (args.queue && !args['dry-run']) await (await import('../queue/connection.js')).checkRedis(args.queue);
    await reproduce({
      data: args.data, config: args.config, budget: presetFlag(args.preset, args.budget), seeds, backend: args.backend, workers,
      only: list(args.only), out: args.out, set: many(args.set), dryRun: Boolean(args['dry-run']),
      hours, keepCheckpoints: Boolean(args['keep-checkpoints']), handleSignals: true,
      queue: args.queue, queueAttempts: intFlag(args.attempts, '--attempts', { min: 1 }),
      dataFlags: dataFlags(args), verbose: Boolean(args.verbose), holdAfterSteps: testHoldAfterSteps(), sweepTrialRunner: (o) => inProcessRunner(o, o.preset ?? 'paper'),
    });
  },
});

/** --preset, or --budget (its other name); both given must agree. */
function presetFlag(preset: string | undefined, budget: string | undefined): BudgetName | undefined {
  if (preset !== undefined && budget !== undefined && preset !== budget) throw new SpecError('E_BAD_OPTION', `--preset ${preset} and --budget ${budget}: --budget is another name for --preset; give one of them.`);
  return (preset ?? budget) as BudgetName | undefined;
}
