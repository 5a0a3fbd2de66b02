import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand } from 'citty';
import { markdownTable } from '@fer/metrics';
import { dataPath, userPath } from '../data.js';
import { intFlag, SHARED_ARGS } from '../flags.js';
import { mulberry32 } from '../reproduce/rng.js';
import { collectRepeated } from './train.js';

/** One sweep job: its id (folder name) and its `key=value` overrides. */
export interface SweepJob {
  id: string;
  sets: string[];
}

/** A leaderboard row. */
export interface LeaderboardRow {
  rank: number;
  id: string;
  sets: string[];
  valAccuracy: number | null;
  bestEpoch: number | null;
  epochs: number | null;
  seconds: number | null;
  status: 'done' | 'failed';
  error?: string;
}

/** Default search space of `--random` (the paper's validation search: learning rate, L2, dropout, hidden size). */
export const DEFAULT_SPACE = 'lr=log:1e-5:1e-3;l2=log:1e-6:1e-2;dropout=0.2:0.6;units=choice:256,512,1024';

/** `lr=1e-4,3e-4;l2=1e-4,1e-3` -> the cartesian product of the values, as jobs. */
export function gridJobs(grid: string): SweepJob[] {
  const axes = grid.split(';').map((s) => s.trim()).filter(Boolean).map((axis) => {
    const eq = axis.indexOf('=');
    if (eq < 1) throw new Error(`--grid: ${JSON.stringify(axis)} is not key=v1,v2,...`);
    return { key: axis.slice(0, eq).trim(), values: splitTopLevel(axis.slice(eq + 1)) };
  });
  let combos: string[][] = [[]];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => [...c, `${a.key}=${v}`]));
  return combos.filter((c) => c.length).map((sets) => ({ id: jobId(sets), sets }));
}

/**
 * `n` seeded random draws from `space`: `key=log:lo:hi` (log-uniform), `key=lo:hi` (uniform),
 * `key=choice:a,b,c`, `key=int:lo:hi`.
 */
export function randomJobs(n: number, space: string, seed: number): SweepJob[] {
  const rand = mulberry32(seed);
  const axes = space.split(';').map((x) => x.trim()).filter(Boolean).map((axis) => {
    const eq = axis.indexOf('=');
    if (eq < 1) throw new Error(`--space: ${JSON.stringify(axis)} is not key=spec`);
    return { key: axis.slice(0, eq).trim(), spec: axis.slice(eq + 1).trim() };
  });
  const jobs: SweepJob[] = [];
  for (let i = 0; i < n; i++) {
    const sets = axes.map(({ key, spec }) => {
      const parts = spec.split(':');
      let v: string;
      if (parts[0] === 'log') v = String(+Math.exp(Math.log(+parts[1]) + rand() * (Math.log(+parts[2]) - Math.log(+parts[1]))).toPrecision(3));
      else if (parts[0] === 'choice') {
        const opts = splitTopLevel(parts.slice(1).join(':'));
        v = opts[Math.floor(rand() * opts.length)];
      } else if (parts[0] === 'int') v = String(Math.floor(+parts[1] + rand() * (+parts[2] - +parts[1] + 1)));
      else if (parts.length === 2) v = String(+(+parts[0] + rand() * (+parts[1] - +parts[0])).toPrecision(3));
      else throw new Error(`--space ${key}=${spec}: expected log:lo:hi, lo:hi, int:lo:hi or choice:a,b`);
      return `${key}=${v}`;
    });
    jobs.push({ id: jobId(sets), sets });
  }
  return jobs;
}

/** Options of {@link runSweep}. */
export interface RunSweepOptions {
  model: string;
  data?: string;
  jobs: SweepJob[];
  out: string;
  parallel?: number;
  /** Overrides shared by every job (before the job's own). */
  baseSets?: string[];
  /** `fer train --preset` of every job (default paper). */
  preset?: string;
  /** A fer.config file registering user models (passed to each `fer train`). */
  config?: string;
  backend?: string;
  log?: (line: string) => void;
  /** Runs one job; default: a `fer train` child process. Resolves true on success. */
  runJob?: (job: SweepJob, dir: string, resume: boolean) => Promise<void>;
}

/**
 * Runs the jobs (at most `parallel` at once, each a `fer train` child process into out/jobs/<id>),
 * skipping finished ones (metrics.json present) and resuming interrupted ones, then ranks them by
 * validation (PublicTest) accuracy into out/leaderboard.json and out/leaderboard.md.
 */
export async function runSweep(o: RunSweepOptions): Promise<LeaderboardRow[]> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  await mkdir(join(o.out, 'jobs'), { recursive: true });
  await writeFile(join(o.out, 'sweep.json'), `${JSON.stringify({ model: o.model, data: dataPath(o.data) ?? 'synthetic', preset: o.preset ?? 'paper', config: o.config ?? null, baseSets: o.baseSets ?? [], jobs: o.jobs }, null, 2)}\n`);
  const runJob = o.runJob ?? ((job: SweepJob, dir: string, resume: boolean) => trainChild(o, job, dir, resume));
  const errors = new Map<string, string>();
  const queue = [...o.jobs];
  let done = 0;
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const dir = join(o.out, 'jobs', job.id);
      if (existsSync(join(dir, 'metrics.json'))) {
        log(`[${++done}/${o.jobs.length}] ${job.id}: finished before, skipped`);
        continue;
      }
      const resume = existsSync(join(dir, 'checkpoints'));
      log(`[start] ${job.id}${resume ? ' (resuming)' : ''}`);
      try {
        await runJob(job, dir, resume);
        log(`[${++done}/${o.jobs.length}] ${job.id}: done`);
      } catch (e) {
        errors.set(job.id, (e as Error).message.slice(0, 500));
        log(`[${++done}/${o.jobs.length}] ${job.id}: FAILED ${(e as Error).message.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel ?? 1) }, worker));
  const rows: LeaderboardRow[] = [];
  for (const job of o.jobs) {
    const file = join(o.out, 'jobs', job.id, 'metrics.json');
    if (existsSync(file)) {
      const m = JSON.parse(await readFile(file, 'utf8')) as { bestValAccuracy: number | null; accuracy: number; bestEpoch: number | null; epochs: number; trainSeconds: number };
      rows.push({ rank: 0, id: job.id, sets: job.sets, valAccuracy: m.bestValAccuracy ?? m.accuracy, bestEpoch: m.bestEpoch, epochs: m.epochs, seconds: m.trainSeconds, status: 'done' });
    } else {
      rows.push({ rank: 0, id: job.id, sets: job.sets, valAccuracy: null, bestEpoch: null, epochs: null, seconds: null, status: 'failed', error: errors.get(job.id) ?? 'no metrics.json' });
    }
  }
  rows.sort((a, b) => (b.valAccuracy ?? -1) - (a.valAccuracy ?? -1) || a.id.localeCompare(b.id));
  rows.forEach((r, i) => (r.rank = i + 1));
  await writeFile(join(o.out, 'leaderboard.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const md = markdownTable({
    header: ['rank', 'job', 'overrides', 'val acc (PublicTest)', 'best epoch', 'epochs', 'seconds', 'status'],
    rows: rows.map((r) => [r.rank, r.id, r.sets.join(' '), r.valAccuracy === null ? null : `${(r.valAccuracy * 100).toFixed(2)}%`, r.bestEpoch, r.epochs, r.seconds === null ? null : Math.round(r.seconds), r.status]),
  });
  await writeFile(join(o.out, 'leaderboard.md'), `# Sweep of ${o.model}\n\nRanked by validation (PublicTest) accuracy; PrivateTest is never used here.\n\n${md}\n`);
  return rows;
}

export default defineCommand({
  meta: { name: 'sweep', description: "The paper's validation search: grid or random over learning rate, L2, dropout, hidden sizes; parallel, resumable, ranked by PublicTest accuracy." },
  args: {
    model: { type: 'string', description: 'registry name', required: true },
    data: SHARED_ARGS.data,
    grid: { type: 'string', description: "e.g. 'lr=1e-4,3e-4;l2=1e-4,1e-3'" },
    random: { type: 'string', description: 'number of random draws from --space' },
    space: { type: 'string', description: `random search space (default ${DEFAULT_SPACE}; for paper-deep give units as arrays, e.g. units=choice:[256,512],[512,512])` },
    seed: { type: 'string', description: 'seed of the random draws', default: '1' },
    set: { type: 'string', description: 'override shared by every job (repeatable), as in fer train' },
    preset: { type: 'string', description: 'fer train --preset of every job: smoke | quick | paper (default paper)', default: 'paper' },
    config: SHARED_ARGS.config,
    out: { type: 'string', description: 'output folder', required: true },
    parallel: { type: 'string', description: 'jobs at once (child processes)', default: '1' },
    backend: { type: 'string', description: 'backend of each job', default: 'auto' },
    queue: { type: 'string', description: 'redis://HOST:PORT: run the jobs on `fer worker`s through this Redis queue (BullMQ); --out must be the folder the workers share (docs/distributed.md)' },
    attempts: { type: 'string', description: 'with --queue: attempts of a failing job before it ends as failed (default 3)' },
  },
  async run({ args, rawArgs }) {
    if (!args.grid === !args.random) throw new Error('fer sweep: give exactly one of --grid or --random N.');
    const jobs = args.grid ? gridJobs(args.grid) : randomJobs(intFlag(args.random, '--random', { min: 1 })!, args.space ?? DEFAULT_SPACE, intFlag(args.seed, '--seed', { min: 0 }) ?? 0);
    // --queue: every job at once on the queue's workers (a job enqueued twice runs once).
    const queued = args.queue ? await (await import('../queue/sweep.js')).createSweepQueue({
      url: args.queue, model: args.model, data: args.data, backend: args.backend, baseSets: collectRepeated(rawArgs, 'set'), out: resolve(args.out),
      preset: args.preset, ...(args.config ? { config: userPath(args.config) } : {}),
      attempts: intFlag(args.attempts, '--attempts', { min: 1 }), log: (l) => process.stdout.write(`${l}\n`),
    }) : undefined;
    const rows = await runSweep({
      model: args.model, data: args.data, jobs, out: resolve(args.out), parallel: queued ? jobs.length : intFlag(args.parallel, '--parallel', { min: 1 })!,
      baseSets: collectRepeated(rawArgs, 'set'), backend: args.backend, preset: args.preset, config: args.config, ...(queued ? { runJob: queued.runJob } : {}),
    }).finally(() => queued?.close());
    process.stdout.write(`${await readFile(join(resolve(args.out), 'leaderboard.md'), 'utf8')}`);
    if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
  },
});

// --- Internal helpers ---

function trainChild(o: RunSweepOptions, job: SweepJob, dir: string, resume: boolean): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = join(here, '..', 'cli.ts');
  const args = ['--conditions=@fer/source', '--import', 'tsx', cli, 'train', '--model', o.model, '--out', dir, '--backend', o.backend ?? 'auto'];
  if (o.data) args.push('--data', o.data);
  if (o.preset) args.push('--preset', o.preset);
  if (o.config) args.push('--config', userPath(o.config));
  for (const s of [...(o.baseSets ?? []), ...job.sets]) args.push('--set', s);
  if (resume) args.push('--resume');
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { cwd: resolve(here, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', rej);
    child.on('exit', (code) => {
      void writeFile(join(dir, 'train.log'), tail).catch(() => undefined);
      if (code === 0) res();
      else rej(new Error(`fer train exited ${code}: ${tail.slice(-600)}`));
    });
  });
}

function jobId(sets: string[]): string {
  return sets.map((s) => s.replace(/[^A-Za-z0-9.=+-]+/g, '_')).join('_').slice(0, 120) || 'base';
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = '';
  for (const ch of s) {
    if (ch === '[' || ch === '{') depth++;
    if (ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
