import { defineCommand } from 'citty';
import { reproduce } from '../reproduce/run.js';
import type { BudgetName } from '../reproduce/spec.js';

// --set values may hold commas (train.augment=hflip,shift): only --only is split on commas.
const many = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);

export default defineCommand({
  meta: { name: 'reproduce', description: 'Re-do every table and figure of Alizadeh & Fazel 2017 and write report.md / report.html next to the paper\'s numbers.' },
  args: {
    data: { type: 'string', description: 'FER2013 csv(.gz); default $FER2013_PATH, else the embedded synthetic set' },
    config: { type: 'string', description: 'fer.config file registering user models and experiments (default: fer.config.ts/.mjs/.js in the current folder); its models join the zoo experiment' },
    budget: { type: 'string', description: 'smoke | quick | paper (default: paper on a GPU backend, quick otherwise)' },
    seeds: { type: 'string', description: 'seeds per job (default 1)', default: '1' },
    backend: { type: 'string', description: 'auto | wasm | webgpu | tensorflow | cpu', default: 'auto' },
    workers: { type: 'string', description: 'data-parallel worker threads (default 1)', default: '1' },
    only: { type: 'string', description: 'comma-separated experiment ids (accuracy, per-expression, hybrid, confusion, histories, activation-maps, filters, deepdream, zoo)' },
    out: { type: 'string', description: 'output folder (default results/<budget>-<data-id>/)' },
    set: { type: 'string', description: 'override a setting, key=value (repeatable), e.g. --set train.epochs=1' },
    'dry-run': { type: 'boolean', description: 'print the plan and a measured ETA, then stop', default: false },
    queue: { type: 'string', description: 'redis://HOST:PORT: run the jobs on `fer worker`s through this Redis queue (BullMQ); --out must be the folder the workers share (docs/distributed.md)' },
    attempts: { type: 'string', description: 'with --queue: attempts of a failing job before it ends as failed (default 3)' },
  },
  async run({ args }) {
    const seeds = Number(args.seeds);
    const workers = Number(args.workers);
    if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds ${args.seeds}: expected a positive integer`);
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers ${args.workers}: expected a positive integer`);
    await reproduce({
      data: args.data, config: args.config, budget: args.budget as BudgetName | undefined, seeds, backend: args.backend, workers,
      only: list(args.only), out: args.out, set: many(args.set), dryRun: Boolean(args['dry-run']),
      queue: args.queue, queueAttempts: args.attempts === undefined ? undefined : Number(args.attempts),
    });
  },
});
