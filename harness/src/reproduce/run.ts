// `pnpm reproduce`: resolve the run, plan the jobs, warm up for an ETA, train every job once,
// then write report.md, report.html, results.json, config.json and env.json.
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { splitIndices, type FerDataset } from '@fer/data';
import { createDataParallelStepper, describeBackend, disposeBackend } from '@fer/engine';
import { hogImage, type HogOptions } from '@fer/hog';
import { renderPng, type VegaLiteSpec } from '@fer/metrics';
import { loadModel, localStepper, type ModelRegistry, type StepperFactory } from '@fer/models';
import { startBackend, type StartedBackend as BackendInfo } from '../backend.js';
import { dataPath, resolveData } from '../data.js';
import { loadProject } from '../project.js';
import { deepDream } from '../figures/pictures.js';
import { encodePng, grayTile, grid } from '../figures/png.js';
import { buildSection, type Figure, type Section } from '../report/sections.js';
import { renderHtml, renderMarkdown, type JobRow } from '../report/render.js';
import { MODEL_DIR, runJob, sampleRows, scaledConfig, type JobOutcome } from './job.js';
import { parseOverrides } from './overrides.js';
import { jobImages, planJobs, type Job, type Plan } from './plan.js';
import { augmentSpecs, prepareData, rowSets, trainSource, type PreparedData } from './prepare.js';
import { BUDGET_SETTINGS, BUDGETS, SpecError, validateExperiment, type BudgetName, type ExperimentSpec } from './spec.js';

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
  experiments?: readonly ExperimentSpec[];
}

export interface ReproduceResult { outDir: string; plan: Plan; outcomes: Map<string, JobOutcome>; sections: Section[] }

const fmt = (s: number) => (!Number.isFinite(s) ? '?' : s < 90 ? `${Math.round(s)}s` : s < 5400 ? `${(s / 60).toFixed(1)}min` : `${(s / 3600).toFixed(1)}h`);

export { dataIdentity } from '../data.js';
export type { BackendInfo };

export function selectExperiments(all: readonly ExperimentSpec[], only: readonly string[] | undefined): ExperimentSpec[] {
  if (!only || only.length === 0) return [...all];
  const ids = all.map((e) => e.id);
  for (const id of only) if (!ids.includes(id)) throw new SpecError('E_UNKNOWN_EXPERIMENT', `--only ${id}: unknown experiment. Known: ${ids.join(', ')}.`);
  return all.filter((e) => only.includes(e.id));
}

export async function reproduce(opts: ReproduceOptions = {}): Promise<ReproduceResult> {
  try {
    return await reproduceOn(opts);
  } finally {
    // NOTE: releases the WebGPU device (if one was started), else Node does not exit.
    await disposeBackend();
  }
}

async function reproduceOn(opts: ReproduceOptions): Promise<ReproduceResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const t0 = performance.now();
  const project = await loadProject({ config: opts.config });
  const registry = project.registry;
  // Validate everything before any work.
  const exps = selectExperiments(opts.experiments ?? project.experiments, opts.only);
  for (const e of exps) validateExperiment(e, registry.list());
  const cli = parseOverrides(opts.set ?? []);
  if (opts.budget !== undefined && !BUDGETS.includes(opts.budget)) throw new SpecError('E_BAD_OPTION', `--budget ${opts.budget}: expected one of ${BUDGETS.join(', ')}.`);
  const seeds = opts.seeds ?? 1;

  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new SpecError('E_BAD_OPTION', `--workers ${workers}: expected a positive integer.`);
  const backend = await startBackend(opts.backend ?? 'auto');
  const budget: BudgetName = opts.budget ?? (backend.gpu ? 'paper' : 'quick');
  const { ds, identity } = await resolveData(opts.data, log);
  const plan = planJobs({ experiments: exps, budget, seeds, data: identity, cli, registry });
  const hogOf = (job: Job): HogOptions | undefined => (registry.get(job.model.name).inputs.hog ? (registry.resolveConfig(job.model.name, job.model.config).hog as HogOptions) : undefined);
  // Check every job's augmentation names before any work (hybrids get HOG of the augmented image: see prepare.ts).
  for (const j of plan.jobs) augmentSpecs(j.train.augment);
  const outDir = resolve(opts.out ?? join('results', `${budget}-${identity.id}`));
  mkdirSync(join(outDir, 'figures'), { recursive: true });
  mkdirSync(join(outDir, 'jobs'), { recursive: true });
  log(`fer reproduce: budget ${budget} (${BUDGET_SETTINGS[budget].description}); backend ${backend.backend} (${backend.reason}); ${seeds} seed(s); out ${outDir}`);

  // NOTE: the workers run their own tfjs (wasm, or cpu when the main backend is cpu), whatever the main backend.
  const stepperFactory: StepperFactory | undefined = workers > 1 ? createDataParallelStepper({ workers, backend: backend.backend === 'cpu' ? 'cpu' : 'wasm' }) : undefined;
  const prepCache = new Map<string, PreparedData>();
  const prepared = (job: Job): PreparedData => {
    const hog = hogOf(job);
    const key = JSON.stringify([job.train.trainLimit, job.train.evalLimit, job.train.normalize, hog ?? null]);
    let p = prepCache.get(key);
    if (!p) { p = prepareData(ds, rowSets(ds, job.train), job.train, hog); prepCache.set(key, p); }
    return p;
  };

  // The plan and a measured ETA.
  const trainRows = splitIndices(ds, 'Training').length;
  const rate = opts.noWarmup || opts.queue ? new Map<string, number>() : await warmup(plan, registry, ds, prepared, stepperFactory, log);
  let etaTotal = 0;
  log(`plan: ${plan.jobs.length} training job(s) for ${exps.length} experiment(s)`);
  for (const j of plan.jobs) {
    const imgs = jobImages(j, trainRows);
    const secs = (rate.get(j.model.name) ?? NaN) * imgs;
    if (Number.isFinite(secs)) etaTotal += secs;
    const done = existsSync(join(outDir, 'jobs', j.hash, 'result.json'));
    log(`  ${j.hash}  ${j.model.name.padEnd(22)} seed ${j.seed}  ${j.train.epochs} ep x ${Math.min(j.train.trainLimit || trainRows, trainRows)} img = ${imgs} img  ${done ? 'done (cached)' : `~${fmt(secs)}`}  <- ${[...new Set(j.uses.map((u) => u.experiment))].join(', ')}`);
  }
  if (rate.size) log(`ETA (from a measured warm-up, training only): ~${fmt(etaTotal)}`);
  if (opts.dryRun) return { outDir, plan, outcomes: new Map(), sections: [] };

  // The job executor: here (runJob), or `fer worker`s through a Redis queue (--queue: every job is enqueued now, then awaited).
  const execute = opts.queue
    ? (await (await import('../queue/submit.js')).createQueueRunner({ url: opts.queue, plan, outDir, data: dataPath(opts.data) ?? '', fingerprint: identity.fingerprint, backend: opts.backend ?? 'auto', threads: workers, attempts: opts.queueAttempts, log })).run
    : runJob;

  // Train.
  const outcomes = new Map<string, JobOutcome>();
  const tty = process.stdout.isTTY && !opts.log;
  let spent = 0;
  for (const [k, job] of plan.jobs.entries()) {
    const label = `[${k + 1}/${plan.jobs.length}] ${job.model.name} seed ${job.seed}`;
    const jt = performance.now();
    const expected = (rate.get(job.model.name) ?? NaN) * jobImages(job, trainRows);
    const o = await execute({
      job, dir: join(outDir, 'jobs', job.hash), registry, dataset: ds, data: prepared(job), settings: plan.settings, stepperFactory,
      onProgress: tty ? (p) => {
        process.stdout.write(`\r${label} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)} | ${p.imagesPerSecond.toFixed(1)} img/s | job ETA ${fmt(p.etaSeconds)}   `);
      } : undefined,
      onEpoch: (l) => {
        const el = (performance.now() - jt) / 1000;
        const left = (el / l.epoch) * (job.train.epochs - l.epoch);
        const rest = Math.max(0, etaTotal - spent - el);
        if (tty) process.stdout.write('\n');
        log(`${label} epoch ${l.epoch}/${job.train.epochs}: loss ${l.loss.toFixed(3)} acc ${(l.accuracy * 100).toFixed(1)}% | val loss ${l.valLoss.toFixed(3)} acc ${(l.valAccuracy * 100).toFixed(1)}% | ${l.seconds.toFixed(1)}s | job ETA ${fmt(left)}${rate.size ? `, all ETA ~${fmt(rest)}` : ''}`);
      },
    });
    spent += Number.isFinite(expected) ? expected : 0;
    outcomes.set(job.hash, o);
    log(`${label}: ${o.status === 'cached' ? 'cached' : 'done'} — validation ${(o.validation.accuracy * 100).toFixed(1)}%, test ${(o.test.accuracy * 100).toFixed(1)}% (best epoch ${o.bestEpoch}, ${fmt(o.wallSeconds)})`);
  }

  // Figures that need more than one job: HOG glyphs, DeepDream from the best model.
  const anyJob = plan.jobs[0];
  const data0 = anyJob ? prepared(anyJob) : undefined;
  const extra: Record<string, Figure[]> = {};
  if (data0 && exps.some((e) => e.produce === 'hybrid')) extra.hog = [hogFigure(outDir, registry, data0)];
  if (data0 && exps.some((e) => e.produce === 'deepdream')) {
    const exp = exps.find((e) => e.produce === 'deepdream')!;
    extra.deepdream = await deepDreamFigures(outDir, exp, plan, outcomes, registry, log);
  }

  const chart = async (spec: VegaLiteSpec, name: string) => {
    const file = `figures/${name}.png`;
    writeFileSync(join(outDir, file), await renderPng(spec, { scale: 2 }));
    return file;
  };
  const picture = (src: string, name: string) => {
    const file = `figures/${name}.png`;
    copyFileSync(join(outDir, src), join(outDir, file));
    return file;
  };
  const sections: Section[] = [];
  const testActual = data0?.test.y ?? new Uint8Array();
  const valActual = data0?.val.y ?? new Uint8Array();
  for (const exp of exps) {
    const rows = new Map<string, JobOutcome[]>();
    for (const c of plan.cells.filter((c) => c.experiment === exp.id)) rows.set(c.row, c.jobs.map((h) => outcomes.get(h)!).filter(Boolean));
    sections.push(await buildSection({ exp, rows, testActual, valActual, settings: plan.settings, chart, picture, extra }));
  }

  const totalSeconds = (performance.now() - t0) / 1000;
  const jobs: JobRow[] = plan.jobs.map((j) => {
    const o = outcomes.get(j.hash)!;
    return { hash: j.hash, model: j.model.name, seed: j.seed, epochs: j.train.epochs, trainRows: o.trainRows, status: o.status, wallSeconds: o.wallSeconds, bestEpoch: o.bestEpoch, usedBy: [...new Set(j.uses.map((u) => u.experiment))].join(', '), ...(o.worker ? { worker: `${o.worker.name}, ${fmt(o.worker.seconds)}${o.worker.resumedFrom ? `, resumed from epoch ${o.worker.resumedFrom}` : ''}` } : {}) };
  });
  const notes = reportNotes(backend, plan, workers);
  const title = 'Alizadeh & Fazel 2017 on FER2013, re-done with TensorFlow.js';
  const md = renderMarkdown({ title, synthetic: identity.synthetic, dataSource: `${identity.source} (${ds.count} rows, fingerprint ${identity.fingerprint})`, budget, budgetDescription: BUDGET_SETTINGS[budget].description, seeds, backend: `${backend.backend}`, sections, jobs, notes, totalSeconds });
  writeFileSync(join(outDir, 'report.md'), md);
  writeFileSync(join(outDir, 'report.html'), renderHtml(md, outDir, title));
  const banner = identity.synthetic ? 'SYNTHETIC DATA: numbers say nothing about the paper' : undefined;
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({
    banner, budget, seeds, data: identity,
    sections: sections.map((s) => ({ id: s.id, ref: s.ref, title: s.title, figures: s.figures, verdicts: s.verdicts })),
    jobs: jobs.map((j) => ({ ...j, validation: outcomes.get(j.hash)!.validation.accuracy, test: outcomes.get(j.hash)!.test.accuracy, history: outcomes.get(j.hash)!.history })),
    totalSeconds,
  }, null, 2));
  writeFileSync(join(outDir, 'config.json'), JSON.stringify({ banner, budget, seeds, backend: opts.backend ?? 'auto', workers, only: opts.only ?? null, set: opts.set ?? [], data: identity, settings: plan.settings, experiments: exps, jobs: plan.jobs }, null, 2));
  writeFileSync(join(outDir, 'env.json'), JSON.stringify(environment(backend), null, 2));
  log(`report: ${join(outDir, 'report.html')} (${fmt(totalSeconds)})`);
  return { outDir, plan, outcomes, sections };
}

/** Times a few training steps of each model (after one untimed step) -> seconds per image. */
async function warmup(plan: Plan, registry: ModelRegistry, ds: FerDataset, prepared: (j: Job) => PreparedData, stepper: StepperFactory | undefined, log: (l: string) => void): Promise<Map<string, number>> {
  const rate = new Map<string, number>();
  for (const job of plan.jobs) {
    if (rate.has(job.model.name)) continue;
    const data = prepared(job);
    const model = registry.create(job.model.name, scaledConfig(registry, job.model.name, job.model.config, job.modelScale), { seed: 1 });
    const lr = job.train.learningRate;
    const st = await (stepper ?? localStepper)({ model, optimizer: { name: job.train.optimizer, learningRate: lr }, seed: 1 });
    // The first batch of the job's own batches (same batch size, augmentation and HOG).
    const [batch] = trainSource(ds, data, job.train, 1).epoch(0);
    const n = batch.size;
    await st.step(batch, lr); // untimed (first-use compilation); the model is thrown away after
    const t = performance.now();
    const steps = 2;
    for (let i = 0; i < steps; i++) await st.step(batch, lr);
    const perImg = (performance.now() - t) / 1000 / (steps * n);
    rate.set(job.model.name, perImg * 1.1); // + ~10% for validation passes
    await st.dispose();
    model.dispose();
    log(`warm-up: ${job.model.name} ${(1 / perImg).toFixed(1)} img/s`);
  }
  return rate;
}

function hogFigure(outDir: string, registry: ModelRegistry, data: PreparedData): Figure {
  const hogOpts = registry.resolveConfig('paper-hybrid-deep', {}).hog as HogOptions;
  const rows = sampleRows(data.val.y, 4).map((r) => {
    const face = data.val.raw.subarray(r * 2304, (r + 1) * 2304);
    const pic = hogImage({ data: face, width: 48, height: 48 }, hogOpts);
    return [grayTile(face, 48, 48, 3), grayTile(pic.data, pic.width, pic.height, 3)];
  }).flat();
  const file = 'figures/hybrid-hog-glyphs.png';
  writeFileSync(join(outDir, file), encodePng(grid([rows], 4)));
  return { file, caption: 'Sample faces and their HOG glyphs (the hybrid networks\' second input; @fer/hog hogImage with the hybrid models\' HOG options).' };
}

async function deepDreamFigures(outDir: string, exp: ExperimentSpec, plan: Plan, outcomes: Map<string, JobOutcome>, registry: ModelRegistry, log: (l: string) => void): Promise<Figure[]> {
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
  writeFileSync(join(outDir, file), encodePng(grid([tiles], 6)));
  log(`deepdream: ${best.model} (validation ${(best.validation.accuracy * 100).toFixed(1)}%), ${d.steps} steps per class`);
  return [{ file, caption: `DeepDream from the best model (${best.model}, seed ${best.seed}, validation ${(best.validation.accuracy * 100).toFixed(1)}%), left to right: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral.` }];
}

function reportNotes(backend: BackendInfo, plan: Plan, workers: number): string[] {
  const notes: string[] = [];
  notes.push('Training: @fer/models `train()` (Adam, constant learning rate, a checkpoint every epoch), batches from @fer/data `createBatcher` (seeded shuffle and augmentation); HOG features from @fer/hog `hogBatch`.');
  if (workers > 1) notes.push(`Data-parallel training on ${workers} worker threads (@fer/engine createDataParallelStepper, ${backend.backend === 'cpu' ? 'cpu' : 'wasm'} in each worker).`);
  notes.push(`Model selection: the epoch with the best PublicTest accuracy is kept; PrivateTest is predicted once with it (never used for any choice).`);
  notes.push(`Normalization: ${plan.settings.train.normalize}, fitted on the training rows only. Augmentation: ${plan.settings.train.augment || 'none'}.`);
  if (plan.settings.modelScale !== 1) notes.push(`Model widths scaled by ${plan.settings.modelScale} (filters and units of every layer), so these are not the paper's networks.`);
  notes.push(`Backend: ${backend.backend} — ${backend.reason}.`);
  return notes;
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
