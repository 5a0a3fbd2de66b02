// `pnpm reproduce`: resolve the run, plan the jobs, warm up for an ETA, train every job once,
// then write report.md, report.html, results.json, config.json and env.json.
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { splitIndices } from '@fer/data';
import { describeBackend, disposeBackend } from '@fer/engine';
import { hogImage, type HogOptions } from '@fer/hog';
import { renderPng, type VegaLiteSpec } from '@fer/metrics';
import { loadModel, localStepper, type ModelRegistry, type ProgressEvent, type StepperFactory } from '@fer/models';
import { backendLine, backendName, startBackend, type StartedBackend as BackendInfo } from '../backend.js';
import { dataFlagsArgv, dataPath, resolveData, SYNTHETIC_DATA, type DataFlags } from '../data.js';
import { lockFolder, lockFolderWaiting, type FolderLock } from '../lock.js';
import { mergeExperiments, readEarlierRun } from './_merge.js';
import { loadProject } from '../project.js';
import { deepDream } from '../figures/pictures.js';
import { encodePng, grayTile, grid, markSyntheticPng, textRaster } from '../figures/png.js';
import { buildSection, EXPERIMENT_KINDS, type Figure, type Section } from '../report/sections.js';
import { readSpecSweeps, runSpecSweeps, sweepSection, type SpecSweepResult } from '../sweep/reproduce.js';
import type { TrialRunnerFactory } from '../sweep/run.js';
import { renderHtml, renderMarkdown, type JobRow } from '../report/render.js';
import { estimatePlan, formatBytes, machineKey, modelKey, SpeedStore, type PlanEstimate } from './_eta.js';
import { continueCommand, createStopControl, holdAfterSteps, type StopControl } from '../job/stop.js';
import { measureSpeeds } from './_warmup.js';
import { unknownNameHint } from '../suggest.js';
import { executeJob, isFinished, JOB_FILES, MODEL_DIR, sampleRows, type JobOutcome, type JobProgress } from '../job/execute.js';
import { stepperFor } from '../job/stepper.js';
import { parseOverrides } from '../job/overrides.js';
import { planJobs, type Job, type Plan } from './plan.js';
import { augmentSpecs, prepareData, rowSets, type PreparedData } from '../job/prepare.js';
import { BUDGET_SETTINGS, BUDGETS, CLASS_NAMES, SpecError, validateExperiment, type BudgetName, type ExperimentSpec } from '../job/spec.js';

export interface ReproduceOptions {
  data?: string;
  /** A fer.config file registering user models/experiments; default fer.config.* in the current folder (src/project.ts). */
  config?: string;
  budget?: BudgetName;
  seeds?: number;
  backend?: string;
  workers?: number;
  only?: string[];
  out?: string;
  set?: string[];
  /** Where progress goes; default console.log. */
  log?: (line: string) => void;
  /** Skip the warm-up ETA (tests). */
  noWarmup?: boolean;
  /** Run the jobs on `fer worker`s through the Redis queue at this URL (redis://HOST:PORT) instead of here (docs/distributed.md). */
  queue?: string;
  /** Attempts of a queued job that throws before it ends as failed (default 3). */
  queueAttempts?: number;
  /** Print the plan and the measured ETA, then stop. */
  dryRun?: boolean;
  /** Stop at the next training step once this many hours are spent, write the report so far and say how to continue. */
  hours?: number;
  /** Keep the optimizer checkpoints of finished jobs (default: deleted, the model and history stay). */
  keepCheckpoints?: boolean;
  /** Stop on SIGINT / SIGTERM like `--hours` does (the CLI sets it). */
  handleSignals?: boolean;
  /** An outside stop: aborting it stops the run like `--hours` (tests, embedding programs). */
  stopSignal?: AbortSignal;
  /** The clock `--hours` reads, in seconds (tests: a step counter, so the stop is deterministic). */
  clock?: () => number;
  /** Where measured speeds are stored (default ~/.cache/fer; FER_CACHE_DIR). */
  cacheDir?: string;
  experiments?: readonly ExperimentSpec[];
  /** --skip-bad-rows, --drop-test-duplicates, --split-seed (../data.ts). */
  dataFlags?: DataFlags;
  /** The backend's details in the log, not just its one line. */
  verbose?: boolean;
  /** How the trials of a `sweep` experiment are trained (commands/reproduce.ts: in this process, as `fer train`); default a `fer train` child process each. */
  sweepTrialRunner?: TrialRunnerFactory;
  /** Tests: hold the run after this many training steps until a stop arrives (so a test can stop it mid-epoch). */
  holdAfterSteps?: number;
}

export interface ReproduceResult {
  outDir: string;
  plan: Plan;
  outcomes: Map<string, JobOutcome>;
  sections: Section[];
  /** Set when the run stopped on purpose (--hours, Ctrl-C, SIGTERM) before every job finished. */
  stopped: { reason: string; command: string; inProgress: JobProgress[] } | null;
  eta?: PlanEstimate;
}

const fmt = (s: number) => (!Number.isFinite(s) ? '?' : s < 90 ? `${Math.round(s)}s` : s < 5400 ? `${(s / 60).toFixed(1)}min` : `${(s / 3600).toFixed(1)}h`);

export { dataIdentity } from '../data.js';
export type { BackendInfo };

/** The experiments `--only` names (all but the sweeps when it is not given: a sweep runs only when named, e.g. `--only sweep`). */
export function selectExperiments(all: readonly ExperimentSpec[], only: readonly string[] | undefined): ExperimentSpec[] {
  if (!only || only.length === 0) return all.filter((e) => e.produce !== 'sweep');
  const ids = all.map((e) => e.id);
  for (const id of only) if (!ids.includes(id)) throw new SpecError('E_UNKNOWN_EXPERIMENT', `--only ${id}: unknown experiment.${unknownNameHint(id, ids)}`);
  return all.filter((e) => only.includes(e.id));
}

export async function reproduce(opts: ReproduceOptions = {}): Promise<ReproduceResult> {
  const stop = createStopControl({ hours: opts.hours, clock: opts.clock, handleSignals: opts.handleSignals, signal: opts.stopSignal, log: opts.log ?? ((l) => console.log(l)) });
  // One writer per output folder (src/lock.ts): taken in reproduceOn before anything there is written.
  const held: { lock?: FolderLock } = {};
  try {
    return await reproduceOn(opts, stop, held);
  } finally {
    held.lock?.release();
    stop.dispose();
    // NOTE: releases the WebGPU device (if one was started), else Node does not exit.
    await disposeBackend();
  }
}

async function reproduceOn(opts: ReproduceOptions, stop: StopControl, held: { lock?: FolderLock }): Promise<ReproduceResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const t0 = performance.now();
  const project = await loadProject({ config: opts.config });
  const registry = project.registry;
  // Validate everything before any work.
  const exps = selectExperiments(opts.experiments ?? project.experiments, opts.only);
  for (const e of exps) validateExperiment(e, registry.list());
  const cli = parseOverrides(opts.set ?? []);
  if (opts.budget !== undefined && !BUDGETS.includes(opts.budget)) throw new SpecError('E_BAD_OPTION', `--preset ${opts.budget}: expected one of ${BUDGETS.join(', ')} (--budget is another name for --preset).`);
  const seeds = opts.seeds ?? 1;
  // NOTE: `fer worker`s load the data file themselves, without these flags: refused rather than failing on every worker.
  const dataArgs = dataFlagsArgv(opts.dataFlags ?? {});
  if (opts.queue && dataArgs.length) throw new SpecError('E_BAD_OPTION', `--queue with ${dataArgs.join(' ')}: the workers load ${opts.data ?? 'the data'} themselves and do not take these flags yet. Fix the data file (or add its Usage column) and run without them, or run without --queue.`);

  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new SpecError('E_BAD_OPTION', `--workers ${workers}: expected a positive integer.`);
  const backend = await startBackend(opts.backend ?? 'auto');
  // No data: the smoke budget (a first look in a minute or two); real data: quick on a CPU, paper on a GPU.
  const budget: BudgetName = opts.budget ?? (backend.gpu ? 'paper' : dataPath(opts.data) ? 'quick' : 'smoke');
  const { ds, identity } = await resolveData(opts.data, log, {}, { ...opts.dataFlags, needSplits: true });
  const outDir = resolve(opts.out ?? join('results', `${budget}-${identity.id}`));
  // NOTE: with --queue, two submitters of one reproduction may share --out (the queue runs each job once); they
  // take the lock only to write the report (below). A local run writes job folders: it holds it throughout, from
  // before it reads an earlier run's report there.
  if (!opts.queue) held.lock = lockFolder(outDir, 'pnpm reproduce');
  // An earlier run's report in outDir keeps its sections (merged when compatible, else refused: ./_merge.ts).
  const reportExps = mergeExperiments({
    earlier: readEarlierRun(outDir), current: exps, all: opts.experiments ?? project.experiments, models: registry.list(), outDir,
    run: { budget, seeds, set: opts.set ?? [], fingerprint: identity.fingerprint, source: identity.source },
  });
  const kept = reportExps.filter((e) => !exps.includes(e)).map((e) => e.id);
  const plan = planJobs({ experiments: reportExps, budget, seeds, data: identity, cli, registry });
  // This run trains the jobs of its own experiments; the earlier run's other sections come from the job cache.
  const current = new Set(exps.map((e) => e.id));
  const trainJobs = plan.jobs.filter((j) => j.uses.some((u) => current.has(u.experiment)));
  const hogOf = (job: Job): HogOptions | undefined => (registry.get(job.model.name).inputs.hog ? (registry.resolveConfig(job.model.name, job.model.config).hog as HogOptions) : undefined);
  // Check every job's augmentation names before any work (hybrids get HOG of the augmented image: see prepare.ts).
  for (const j of plan.jobs) augmentSpecs(j.train.augment);
  mkdirSync(join(outDir, 'figures'), { recursive: true });
  mkdirSync(join(outDir, 'jobs'), { recursive: true });
  log(`fer reproduce: budget ${budget} (${BUDGET_SETTINGS[budget].description}); ${seeds} seed(s); out ${outDir}`);
  log(backendLine(backend, opts.verbose));
  if (kept.length) log(`report: ${outDir} holds an earlier run of the same data and budget; its ${kept.join(', ')} section(s) stay in the report (finished jobs from jobs/, nothing retrained)`);
  const rowsOf = (job: Job) => {
    const r = rowSets(ds, job.train);
    return { train: r.train.length, val: r.val.length, test: r.test.length };
  };
  if (plan.jobs[0]) {
    const r = rowsOf(plan.jobs[0]);
    log(`data: ${identity.source}${identity.synthetic ? ' (synthetic)' : ''}: ${r.train} of ${splitIndices(ds, 'Training').length} training rows used, ${r.val} PublicTest and ${r.test} PrivateTest rows`);
  }

  // NOTE: the workers run their own tfjs (wasm, or cpu when the main backend is cpu), whatever the main backend.
  const parallel = stepperFor(workers, backend.backend);
  const holdAfter = opts.holdAfterSteps ?? 0;
  const stepperFactory: StepperFactory | undefined = holdAfter > 0 ? holdAfterSteps(parallel ?? localStepper, holdAfter, stop.signal, () => log(`test hook: holding after ${holdAfter} steps until a stop arrives`)) : parallel;
  const prepCache = new Map<string, PreparedData>();
  const prepared = (job: Job): PreparedData => {
    const hog = hogOf(job);
    const key = JSON.stringify([job.train.trainLimit, job.train.evalLimit, job.train.normalize, hog ?? null]);
    let p = prepCache.get(key);
    if (!p) { p = prepareData(ds, rowSets(ds, job.train), job.train, hog); prepCache.set(key, p); }
    return p;
  };

  // The plan, its ETA (speeds stored for this machine, else a warm-up of at most ~30 s; cached jobs count 0) and its disk.
  // A dry run times every model (no cap), so the stored speeds make the next dry run take seconds.
  const jobDir = (j: Job) => join(outDir, 'jobs', j.hash);
  const isDone = (j: Job) => existsSync(join(jobDir(j), JOB_FILES.result));
  const speeds = new SpeedStore(machineKey(backend.backend, describeBackend(), workers), opts.cacheDir);
  const params = new Map<string, number>();
  if (!opts.noWarmup && !opts.queue && !stop.reason) await measureSpeeds({ jobs: trainJobs.filter((j) => !isDone(j)), registry, dataset: ds, prepared, stepper: stepperFactory, store: speeds, params, log, ...(opts.dryRun ? { limitSeconds: Infinity } : {}) });
  const eta = estimatePlan({ jobs: trainJobs, rows: rowsOf, store: speeds, isDone, jobDir, budget, keepCheckpoints: Boolean(opts.keepCheckpoints), params });
  log(`plan: ${trainJobs.length} training job(s) for ${exps.length} experiment(s)`);
  for (const j of trainJobs) {
    const e = eta.perJob.get(j.hash)!;
    const r = rowsOf(j);
    const state = e.cached ? 'done (cached): 0s' : `~${fmt(e.trainSeconds + e.evalSeconds)}${e.epochsLeft < j.train.epochs ? ` (${j.train.epochs - e.epochsLeft} epoch(s) done, resumes)` : ''}`;
    log(`  ${j.hash}  ${j.model.name.padEnd(22)} seed ${j.seed}  ${j.train.epochs} ep x ${r.train} img = ${j.train.epochs * r.train} img  ${state}  <- ${[...new Set(j.uses.map((u) => u.experiment))].join(', ')}`);
  }
  const lower = eta.unknown.length ? ` (a lower bound: no speed measured yet for ${eta.unknown.join(', ')})` : '';
  log(`ETA ~${fmt(eta.total)}${lower}: training ${fmt(eta.train)} + evaluation ${fmt(eta.eval)} + figures and report ~${fmt(eta.figures)}; ${eta.cached} of ${trainJobs.length} job(s) cached (0s). Speeds: ${speeds.file}`);
  log(`disk: ~${formatBytes(eta.keptBytes + eta.checkpointBytes)} at most (models and pictures kept: ${formatBytes(eta.keptBytes)}; optimizer checkpoints ${opts.keepCheckpoints ? `kept (--keep-checkpoints): ${formatBytes(eta.checkpointBytes)}` : `up to ${formatBytes(eta.checkpointBytes)} while a job trains, deleted when it finishes (--keep-checkpoints keeps them)`})`);
  if (eta.total > 2 * 3600 && opts.hours === undefined) log(`tip: this is a long run here; it can go in pieces: --hours H stops it cleanly after H hours (Ctrl-C too) and the same command continues exactly.`);
  if (opts.dryRun) return { outDir, plan, outcomes: new Map(), sections: [], stopped: null, eta };

  // Pictures (activation maps, filters) only for the jobs of experiments that show them.
  const kindOf = new Map(reportExps.map((e) => [e.id, EXPERIMENT_KINDS[e.produce]]));
  const picturesOf = (j: Job) => (j.uses.some((u) => kindOf.get(u.experiment)?.pictures) ? plan.settings.snapshots : undefined);
  // The job executor: here (../job/execute.ts), or `fer worker`s through a Redis queue (--queue: every job is enqueued now, then awaited).
  const execute = opts.queue
    ? (await (await import('../queue/submit.js')).createQueueRunner({ url: opts.queue, plan, outDir, data: dataPath(opts.data) ?? '', fingerprint: identity.fingerprint, backend: opts.backend ?? 'auto', workers, attempts: opts.queueAttempts, config: project.configFile, pictures: picturesOf, log })).run
    : executeJob;

  // The validation sweeps (the kinds that train no jobs of the plan: sweeps, only when named by --only), before the table jobs.
  const sweepResults = new Map<string, SpecSweepResult[]>();
  for (const exp of exps.filter((e) => !EXPERIMENT_KINDS[e.produce].trains)) {
    if (stop.reason) break;
    sweepResults.set(exp.id, await runSpecSweeps({ exp, budget, outDir, data: opts.data, config: opts.config, backend: opts.backend ?? 'auto', set: opts.set ?? [], seed: plan.settings.seed, stop, log, ...(opts.sweepTrialRunner ? { trialRunner: opts.sweepTrialRunner } : {}) }));
  }

  // Train. --hours, Ctrl-C and SIGTERM stop at the next step boundary with a checkpoint (../job/stop.ts).
  const outcomes = new Map<string, JobOutcome>();
  const inProgress = new Map<string, JobProgress>();
  const tty = process.stdout.isTTY && !opts.log;
  let spent = 0;
  for (const j of plan.jobs) {
    if (trainJobs.includes(j) || !isDone(j)) continue;
    outcomes.set(j.hash, { ...(JSON.parse(readFileSync(join(jobDir(j), JOB_FILES.result), 'utf8')) as JobOutcome), status: 'cached' });
  }
  for (const [k, job] of trainJobs.entries()) {
    stop.check();
    if (stop.reason) break;
    const label = `[${k + 1}/${trainJobs.length}] ${job.model.name} seed ${job.seed}`;
    const jt = performance.now();
    // Epochs this process trained (a resumed job starts past epoch 1): the job ETA is their mean times what is left.
    let seenEpochs = 0;
    const est = eta.perJob.get(job.hash)!;
    const expected = est.trainSeconds + est.evalSeconds;
    let last: ProgressEvent | undefined;
    let midLine = false;
    const o = await execute({
      job, dir: jobDir(job), registry, dataset: ds, data: prepared(job), pictures: picturesOf(job), stepper: stepperFactory,
      stop: stop.signal, keepCheckpoints: opts.keepCheckpoints, runtime: { backend: backend.backend, workers },
      onProgress: (p) => {
        last = p;
        stop.check();
        if (!tty) return;
        midLine = true;
        process.stdout.write(`\r${label} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)} | ${p.imagesPerSecond.toFixed(1)} img/s | job ETA ${fmt(p.etaSeconds)}   `);
      },
      onEpoch: (l) => {
        const el = (performance.now() - jt) / 1000;
        seenEpochs += 1;
        const left = (el / seenEpochs) * (job.train.epochs - l.epoch);
        const rest = Math.max(0, eta.total - spent - el);
        if (midLine) process.stdout.write('\n');
        midLine = false;
        // This machine's real speed, for the next plan's ETA.
        if (last && last.imagesPerSecond > 0) {
          // The epoch's seconds beyond its training steps went to the validation pass.
          const valRows = prepared(job).val.count;
          const evalSeconds = l.seconds - prepared(job).trainCount / last.imagesPerSecond;
          speeds.set(modelKey(job), { trainPerImage: 1 / last.imagesPerSecond, ...(evalSeconds > 0 && valRows > 0 ? { evalPerImage: evalSeconds / valRows } : {}), source: 'training' });
          speeds.save();
        }
        log(`${label} epoch ${l.epoch}/${job.train.epochs}: loss ${l.loss.toFixed(3)} acc ${(l.accuracy * 100).toFixed(1)}% | val loss ${l.valLoss.toFixed(3)} acc ${(l.valAccuracy * 100).toFixed(1)}%${l.testAccuracy !== undefined ? ` | test acc ${(l.testAccuracy * 100).toFixed(1)}%` : ''} | ${l.seconds.toFixed(1)}s | job ETA ${fmt(left)}, all ETA ~${fmt(rest)}`);
      },
    });
    if (midLine) process.stdout.write('\n');
    if (!isFinished(o)) {
      inProgress.set(job.hash, o);
      log(`${label}: stopped in epoch ${o.at.epoch} of ${o.epochs} (step ${o.at.step} of ${o.at.steps}); checkpoint saved, ${o.history.length} epoch(s) completed`);
      break;
    }
    spent += Number.isFinite(expected) ? expected : 0;
    outcomes.set(job.hash, o);
    log(`${label}: ${o.status === 'cached' ? 'cached' : 'done'} — validation ${(o.validation.accuracy * 100).toFixed(1)}%, test ${(o.test.accuracy * 100).toFixed(1)}% (best epoch ${o.bestEpoch}, ${fmt(o.wallSeconds)})`);
  }

  if (opts.queue) held.lock = await lockFolderWaiting(outDir, 'pnpm reproduce --queue (writing the report)', 120_000);
  const tReport = performance.now();
  const unfinished = [...trainJobs.filter((j) => !outcomes.has(j.hash)), ...[...sweepResults.values()].flat().filter((r) => r.stopped)];
  const why = { hours: `--hours ${opts.hours} spent`, SIGINT: 'Ctrl-C (SIGINT)', SIGTERM: 'SIGTERM', signal: 'a stop was requested' };
  const command = continueCommand({ data: opts.data === SYNTHETIC_DATA ? SYNTHETIC_DATA : dataPath(opts.data), budget, seeds, backend: opts.backend ?? 'auto', workers, only: opts.only, set: opts.set, out: outDir, hours: opts.hours, keepCheckpoints: opts.keepCheckpoints, queue: opts.queue, dataArgs: dataFlagsArgv(opts.dataFlags ?? {}) });
  const stopped = stop.reason && unfinished.length ? { reason: why[stop.reason], command, inProgress: [...inProgress.values()] } : null;
  // No verdicts on a pipeline check or on synthetic faces.
  const notAResult = [budget === 'smoke' ? 'smoke budget (a pipeline check: tiny subsets, 2 epochs, models at 1/8 width)' : '', identity.synthetic ? 'synthetic data (the embedded synthetic faces say nothing about FER2013)' : ''].filter(Boolean).join('; ') || undefined;

  // Figures that need more than one job: HOG glyphs, DeepDream from the best model.
  const anyJob = plan.jobs[0];
  const data0 = anyJob ? prepared(anyJob) : undefined;
  const extra: Record<string, Figure[]> = {};
  // Every PNG of a report on the synthetic faces carries a banner saying so (figures get copied out of reports).
  const marked = (png: Uint8Array) => (identity.synthetic ? markSyntheticPng(png) : png);
  if (data0 && reportExps.some((e) => EXPERIMENT_KINDS[e.produce].extra === 'hog')) extra.hog = [hogFigure(outDir, registry, data0, marked)];
  if (data0 && reportExps.some((e) => EXPERIMENT_KINDS[e.produce].extra === 'deepdream')) {
    const exp = reportExps.find((e) => EXPERIMENT_KINDS[e.produce].extra === 'deepdream')!;
    extra.deepdream = await deepDreamFigures(outDir, exp, plan, outcomes, registry, log, marked);
  }

  const chart = async (spec: VegaLiteSpec, name: string) => {
    const file = `figures/${name}.png`;
    writeFileSync(join(outDir, file), marked(await renderPng(spec, { scale: 2 })));
    return file;
  };
  const picture = (src: string, name: string) => {
    const file = `figures/${name}.png`;
    if (identity.synthetic) writeFileSync(join(outDir, file), marked(readFileSync(join(outDir, src))));
    else copyFileSync(join(outDir, src), join(outDir, file));
    return file;
  };
  const sections: Section[] = [];
  const testActual = data0?.test.y ?? new Uint8Array();
  const valActual = data0?.val.y ?? new Uint8Array();
  for (const exp of reportExps) {
    if (!EXPERIMENT_KINDS[exp.produce].section) {
      // NOTE: a sweep of an earlier run into this folder (kept, not re-run) is read from its leaderboard files.
      sections.push(sweepSection(exp, sweepResults.get(exp.id) ?? readSpecSweeps(exp, budget, outDir), picture));
      continue;
    }
    const rows = new Map<string, JobOutcome[]>();
    const going = new Map<string, JobProgress[]>();
    for (const c of plan.cells.filter((c) => c.experiment === exp.id)) {
      rows.set(c.row, c.jobs.map((h) => outcomes.get(h)!).filter(Boolean));
      going.set(c.row, c.jobs.map((h) => inProgress.get(h)!).filter(Boolean));
    }
    sections.push(await buildSection({ exp, rows, testActual, valActual, settings: plan.settings, chart, picture, extra, notAResult, inProgress: going }));
  }

  const totalSeconds = (performance.now() - t0) / 1000;
  const jobs: JobRow[] = plan.jobs.map((j) => {
    const o = outcomes.get(j.hash);
    if (!o) {
      const p = inProgress.get(j.hash);
      const status = p ? `in progress: epoch ${p.at.epoch} of ${p.epochs} (step ${p.at.step}/${p.at.steps})` : 'not started';
      return { hash: j.hash, model: j.model.name, seed: j.seed, epochs: j.train.epochs, trainRows: rowsOf(j).train, status, wallSeconds: p?.wallSeconds ?? 0, bestEpoch: NaN, usedBy: [...new Set(j.uses.map((u) => u.experiment))].join(', ') };
    }
    return { hash: j.hash, model: j.model.name, seed: j.seed, epochs: j.train.epochs, trainRows: o.trainRows, status: o.status, wallSeconds: o.wallSeconds, bestEpoch: o.bestEpoch, usedBy: [...new Set(j.uses.map((u) => u.experiment))].join(', '), ...(o.worker ? { worker: `${o.worker.name}, ${fmt(o.worker.seconds)}${o.worker.resumedFrom ? `, resumed from epoch ${o.worker.resumedFrom}` : ''}` } : {}) };
  });
  const notes = reportNotes(backend, plan, workers);
  const next = stopped ? undefined : identity.synthetic ? {
    text: 'that was the synthetic set (a pipeline check, not a result). For the paper\'s numbers, get fer2013.csv (Kaggle "Challenges in Representation Learning: Facial Expression Recognition Challenge") and run:',
    commands: ['pnpm reproduce --data /path/to/fer2013.csv --dry-run   # the plan, its ETA and disk, in seconds', 'pnpm reproduce --data /path/to/fer2013.csv             # budget quick on a CPU (add --preset paper --hours 8 for the paper\'s schedule, in pieces)'],
  } : budget === 'quick' ? {
    text: 'the quick budget is a first look (a 4,000-row subsample, 2 epochs). The paper\'s schedule, in pieces of 8 hours on a CPU:',
    commands: [continueCommand({ data: dataPath(opts.data), budget: 'paper', seeds, backend: opts.backend ?? 'auto', workers, out: resolve(join('results', `paper-${identity.id}`)), hours: 8, dataArgs: dataFlagsArgv(opts.dataFlags ?? {}) })],
  } : undefined;
  const title = 'Alizadeh & Fazel 2017 on FER2013, re-done with TensorFlow.js';
  const md = renderMarkdown({
    title, synthetic: identity.synthetic, dataSource: `${identity.source} (${ds.count} rows, fingerprint ${identity.fingerprint})`, budget, budgetDescription: BUDGET_SETTINGS[budget].description, seeds, backend: backendName(backend), sections, jobs, notes, totalSeconds,
    notAResult, ...(next ? { next } : {}), ...(stopped ? { stopped: { why: stopped.reason, command, finished: outcomes.size, total: plan.jobs.length, inProgress: stopped.inProgress.map((p) => `${p.model} seed ${p.seed} at epoch ${p.at.epoch} of ${p.epochs}`) } } : {}),
  });
  writeFileSync(join(outDir, 'report.md'), md);
  writeFileSync(join(outDir, 'report.html'), renderHtml(md, outDir, title));
  const banner = identity.synthetic ? 'SYNTHETIC DATA: numbers say nothing about the paper' : undefined;
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({
    banner, budget, synthetic: identity.synthetic, notAResult: notAResult ?? null, seeds, data: identity,
    complete: !stopped, stopped: stopped ? { reason: stopped.reason, command } : null,
    sections: sections.map((s) => ({ id: s.id, ref: s.ref, title: s.title, figures: s.figures, verdicts: s.verdicts })),
    jobs: jobs.map((j) => {
      const o = outcomes.get(j.hash), p = inProgress.get(j.hash);
      return { ...j, validation: o?.validation.accuracy ?? null, test: o?.test.accuracy ?? null, history: o?.history ?? p?.history ?? [], ...(p ? { at: p.at } : {}) };
    }),
    totalSeconds,
  }, null, 2));
  writeFileSync(join(outDir, 'config.json'), JSON.stringify({ banner, budget, seeds, backend: opts.backend ?? 'auto', workers, only: opts.only ?? null, set: opts.set ?? [], data: identity, settings: plan.settings, experiments: reportExps, jobs: plan.jobs }, null, 2));
  writeFileSync(join(outDir, 'env.json'), JSON.stringify({ budget, synthetic: identity.synthetic, data: identity, ...environment(backend) }, null, 2));
  if (!stopped) {
    speeds.setReportSeconds(budget, (performance.now() - tReport) / 1000);
    speeds.save();
  }
  log(`report: ${join(outDir, 'report.html')} (${fmt(totalSeconds)})`);
  if (stopped) {
    log(`Stopped on request, ${stopped.reason}: ${outcomes.size} of ${plan.jobs.length} job(s) finished${stopped.inProgress.length ? `, ${stopped.inProgress.map((p) => `${p.model} at epoch ${p.at.epoch} of ${p.epochs}`).join(', ')} checkpointed` : ''}. The report above shows everything so far.`);
    // NOTE: under `pnpm reproduce`, pnpm got the Ctrl-C too and prints ELIFECYCLE after us whatever our exit code (pnpm/pnpm#9626).
    if (stop.reason === 'SIGINT' && /pnpm/.test(process.env.npm_execpath ?? '')) log('(This run stopped cleanly and exits with 0; the "ELIFECYCLE Command failed" line pnpm may print next is pnpm reporting the Ctrl-C it saw too.)');
    log(`Continue exactly where it stopped with:\n  ${command}`);
  } else if (identity.synthetic) {
    log(`That was the synthetic set (a pipeline check, not a result). For the paper's numbers, get fer2013.csv (Kaggle "Challenges in Representation Learning: Facial Expression Recognition Challenge") and run:\n  pnpm reproduce --data /path/to/fer2013.csv --dry-run   # the plan, its ETA and disk, in seconds\n  pnpm reproduce --data /path/to/fer2013.csv             # budget quick on a CPU (add --preset paper --hours 8 for the paper's schedule, in pieces)`);
  }
  return { outDir, plan, outcomes, sections, stopped, eta };
}

function hogFigure(outDir: string, registry: ModelRegistry, data: PreparedData, marked: (png: Uint8Array) => Uint8Array): Figure {
  const hogOpts = registry.resolveConfig('paper-hybrid-deep', {}).hog as HogOptions;
  const rows = sampleRows(data.val.y, 4).map((r) => {
    const face = data.val.raw.subarray(r * 2304, (r + 1) * 2304);
    const pic = hogImage({ data: face, width: 48, height: 48 }, hogOpts);
    return [grayTile(face, 48, 48, 3), grayTile(pic.data, pic.width, pic.height, 3)];
  }).flat();
  const file = 'figures/hybrid-hog-glyphs.png';
  writeFileSync(join(outDir, file), marked(encodePng(grid([rows], 4))));
  return { file, caption: 'Sample faces and their HOG glyphs (the hybrid networks\' second input; @fer/hog hogImage with the hybrid models\' HOG options).' };
}

async function deepDreamFigures(outDir: string, exp: ExperimentSpec, plan: Plan, outcomes: Map<string, JobOutcome>, registry: ModelRegistry, log: (l: string) => void, marked: (png: Uint8Array) => Uint8Array): Promise<Figure[]> {
  const candidates = plan.cells.filter((c) => c.experiment === exp.id).flatMap((c) => c.jobs.map((h) => outcomes.get(h)!)).filter(Boolean);
  if (candidates.length === 0) return [];
  const best = candidates.reduce((a, b) => (b.validation.accuracy > a.validation.accuracy ? b : a));
  // The job's saved model (best PublicTest epoch); a fresh one if it is missing (nothing to dream from, but the figure is drawn).
  const saved = join(outDir, 'jobs', best.hash, MODEL_DIR);
  const model = existsSync(join(saved, 'fer.json')) ? (await loadModel(saved)).model : registry.create(best.model, best.config, { seed: best.seed });
  const d = plan.settings.deepdream;
  const tiles = [];
  for (let c = 0; c < 7; c++) {
    const img = await deepDream(model, c, { steps: d.steps, stepSize: d.stepSize, jitter: d.jitter, blurEvery: d.blurEvery, seed: plan.settings.seed });
    tiles.push(grayTile(img, 48, 48, 3));
  }
  model.dispose();
  const file = 'figures/deepdream.png';
  // Each picture with its class name under it.
  writeFileSync(join(outDir, file), marked(encodePng(grid([tiles, CLASS_NAMES.map((n) => textRaster(n, { scale: 2 }))], 6))));
  log(`deepdream: ${best.model} (validation ${(best.validation.accuracy * 100).toFixed(1)}%), ${d.steps} steps per class`);
  return [{ file, caption: `DeepDream from the best model (${best.model}, seed ${best.seed}, validation ${(best.validation.accuracy * 100).toFixed(1)}%), left to right: ${CLASS_NAMES.join(', ')} (each labelled).` }];
}

function reportNotes(backend: BackendInfo, plan: Plan, workers: number): string[] {
  const notes: string[] = [];
  notes.push(`Training: @fer/models \`train()\` (${describeOptimizers(plan.jobs)}; a checkpoint every epoch), batches from @fer/data \`createBatcher\` (seeded shuffle and augmentation); HOG features from @fer/hog \`hogBatch\`.`);
  if (workers > 1) notes.push(`Data-parallel training on ${workers} worker threads (@fer/engine createDataParallelStepper, ${backend.backend === 'cpu' ? 'cpu' : 'wasm'} in each worker).`);
  notes.push(`Model selection: the epoch with the best PublicTest accuracy is kept; PrivateTest is predicted once with it (never used for any choice).`);
  notes.push(`Normalization: ${plan.settings.train.normalize}, fitted on the training rows only. Augmentation: ${plan.settings.train.augment || 'none'}.`);
  if (plan.settings.modelScale !== 1) notes.push(`Model widths scaled by ${plan.settings.modelScale} (filters and units of every layer), so these are not the paper's networks.`);
  notes.push(`Backend: ${backend.backend} — ${backend.reason}.`);
  return notes;
}

/**
 * The optimizers and learning-rate schedules of the jobs, as resolved (each model's recipe may differ), grouped.
 * @example
 * describeOptimizers(plan.jobs) // "Adam, learning rate 0.0001, constant schedule (paper-deep, paper-shallow); SGD momentum 0.9 ..."
 */
export function describeOptimizers(jobs: readonly Pick<Job, 'model' | 'train'>[]): string {
  const groups = new Map<string, Set<string>>();
  for (const j of jobs) {
    const t = j.train;
    const name = { adam: 'Adam', sgd: 'SGD', rmsprop: 'RMSprop' }[t.optimizer] ?? t.optimizer;
    const momentum = t.optimizer === 'adam' ? '' : ` momentum ${t.momentum}${t.nesterov ? ' (Nesterov)' : ''}`;
    const s = t.schedule;
    const schedule = s.kind === 'constant' ? 'constant schedule' : s.kind === 'step' ? `step schedule (x${s.gamma} every ${s.stepSize} epochs)` : s.kind === 'cosine' ? `cosine schedule (to ${s.minLearningRate})` : `plateau schedule (x${s.factor} after ${s.patience} epochs without progress)`;
    const key = `${name}${momentum}, learning rate ${t.learningRate}, ${schedule}${t.earlyStopping.patience > 0 ? `, early stopping after ${t.earlyStopping.patience} epochs` : ''}`;
    groups.set(key, (groups.get(key) ?? new Set()).add(j.model.name));
  }
  if (groups.size === 0) return 'no jobs';
  if (groups.size === 1) return [...groups.keys()][0];
  return [...groups].map(([k, models]) => `${k} (${[...models].sort().join(', ')})`).join('; ');
}

function environment(backend: BackendInfo): Record<string, unknown> {
  let commit = 'unknown', dirty = false;
  try {
    commit = execSync('git rev-parse HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    dirty = execSync('git status --porcelain', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().length > 0;
  } catch { /* not a git checkout */ }
  return {
    backend: backend.backend, backendReason: backend.reason, adapter: backend.adapter ?? null, gpu: backend.gpu,
    tfjs: tf.version.tfjs, node: process.version, platform: `${process.platform} ${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    git: { commit, dirty }, engine: describeBackend(), date: new Date().toISOString(),
  };
}
