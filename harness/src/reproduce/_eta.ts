// The plan's ETA and disk estimate without training: training speed per (machine, backend, model) is
// stored in a small JSON file in the user's cache folder (FER_CACHE_DIR, else $XDG_CACHE_HOME/fer, else
// ~/.cache/fer) and refreshed by every run's real epochs; a model with no stored speed gets a warm-up of a
// couple of small steps, all models together capped at ~30 s. Finished (cached) jobs count 0.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { checkpointsDir } from '../job/execute.js';
import type { Job } from './plan.js';

export interface SpeedEntry {
  /** Seconds per training image (forward + backward + update). */
  trainPerImage: number;
  /** Seconds per evaluated image (forward only, large batches); when unknown, a third of trainPerImage. */
  evalPerImage?: number;
  /** Trainable + non-trainable parameters (for the disk estimate). */
  params?: number;
  source: 'warm-up' | 'training';
  date: string;
}

interface SpeedFile {
  version: 1;
  machines: Record<string, { models: Record<string, SpeedEntry>; report: Record<string, number> }>;
}

/** The cache folder for measurements (never inside the repo or the output folder). */
export function cacheDir(): string {
  return process.env.FER_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fer');
}

/** What makes speeds comparable: CPU model, cores, backend and its native kernels, threads, workers. */
export function machineKey(backend: string, engine: { native?: { active?: boolean; isa?: string; threads?: number } } | undefined, workers: number): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown cpu';
  const n = engine?.native;
  const native = n?.active ? `native ${n.isa ?? ''} ${n.threads ?? ''}t` : 'no native';
  return `${cpu} | ${cpus().length} cores | ${backend} | ${native} | ${workers} worker(s)`;
}

/** One stored speed per model name, width scale and batch size. */
export const modelKey = (job: Pick<Job, 'model' | 'modelScale' | 'train'>) => `${job.model.name} x${job.modelScale} b${job.train.batchSize}`;

export class SpeedStore {
  readonly file: string;
  private data: SpeedFile;
  constructor(readonly machine: string, dir = cacheDir()) {
    this.file = join(dir, 'reproduce-speed.json');
    this.data = { version: 1, machines: {} };
    try {
      const d = JSON.parse(readFileSync(this.file, 'utf8')) as SpeedFile;
      if (d && d.version === 1 && typeof d.machines === 'object') this.data = d;
    } catch { /* no file yet, or unreadable: start afresh (it is only a cache) */ }
  }
  private get mine() {
    return (this.data.machines[this.machine] ??= { models: {}, report: {} });
  }
  get(key: string): SpeedEntry | undefined {
    return this.mine.models[key];
  }
  set(key: string, e: Omit<SpeedEntry, 'date'>): void {
    const old = this.mine.models[key];
    this.mine.models[key] = { ...old, ...e, params: e.params ?? old?.params, evalPerImage: e.evalPerImage ?? old?.evalPerImage, date: new Date().toISOString() };
  }
  reportSeconds(budget: string): number | undefined {
    return this.mine.report[budget];
  }
  setReportSeconds(budget: string, s: number): void {
    this.mine.report[budget] = s;
  }
  /** Writes the file atomically; a failure (read-only home) only costs the next run a warm-up. */
  save(): boolean {
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      const tmp = `${this.file}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify(this.data, null, 2));
      renameSync(tmp, this.file);
      return true;
    } catch {
      return false;
    }
  }
}

/** Epochs a job already completed (its newest epoch checkpoint, in checkpoints/ or an older job folder's checkpoint/), 0 when none. */
export function epochsDone(jobDir: string): number {
  const dir = checkpointsDir(jobDir);
  if (!existsSync(dir)) return 0;
  let best = 0;
  for (const n of readdirSync(dir)) {
    const m = /^ckpt-(\d+)\.ferckpt$/.exec(n);
    if (m) best = Math.max(best, Number(m[1]));
  }
  return best;
}

/** Bytes of the files under `dir` (0 when it does not exist). */
export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? folderBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

export interface JobEstimate {
  /** Finished earlier (result.json): costs nothing. */
  cached: boolean;
  epochsLeft: number;
  trainSeconds: number;
  evalSeconds: number;
  /** Bytes kept when the job is done (model + pictures), and the most its checkpoints take while it trains. */
  modelBytes: number;
  checkpointBytes: number;
}

/** Inference costs about a third of a training step per image (forward only). */
const EVAL_FRACTION = 1 / 3;

/**
 * Seconds and bytes one job still needs.
 * @example
 * estimateJob({ epochs: 2, images: 960, evalRows: 280, perImage: 0.002, params: 1e6, cached: false, done: 0 })
 */
export function estimateJob(a: { epochs: number; trainRows: number; valRows: number; testRows: number; perImage: number | undefined; evalPerImage?: number; params: number | undefined; cached: boolean; done: number }): JobEstimate {
  const modelBytes = (a.params ?? NaN) * 4 + 200_000; // weights.bin + model.json, fer.json, activation pictures
  // A checkpoint holds weights, Adam's two moments and the best weights (4 copies); the newest two are kept.
  const checkpointBytes = (a.params ?? NaN) * 4 * 4 * 2;
  if (a.cached) return { cached: true, epochsLeft: 0, trainSeconds: 0, evalSeconds: 0, modelBytes, checkpointBytes: 0 };
  const left = Math.max(0, a.epochs - a.done);
  const p = a.perImage ?? NaN;
  return {
    cached: false, epochsLeft: left,
    trainSeconds: p * a.trainRows * left,
    evalSeconds: (a.evalPerImage ?? p * EVAL_FRACTION) * (a.valRows * left + a.valRows + a.testRows),
    modelBytes, checkpointBytes,
  };
}

export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return '?';
  return b < 1e6 ? `${Math.round(b / 1e3)} kB` : b < 1e9 ? `${Math.round(b / 1e6)} MB` : `${(b / 1e9).toFixed(1)} GB`;
}

export interface PlanEstimate {
  perJob: Map<string, JobEstimate>;
  /** Seconds: training, evaluation (validation every epoch, the final predictions), figures and report. */
  train: number;
  eval: number;
  figures: number;
  total: number;
  /** Model keys without a stored speed (the ETA is then a lower bound). */
  unknown: string[];
  /** Bytes kept at the end; the most the optimizer checkpoints take at once while training. */
  keptBytes: number;
  checkpointBytes: number;
  cached: number;
}

/** Default seconds for the figures and the report when this machine has not measured them for a budget yet. */
const FIGURES_DEFAULT: Record<string, number> = { smoke: 20, quick: 60, paper: 90 };

/**
 * The plan's ETA and disk, from stored speeds; cached jobs cost 0 and a job with epoch checkpoints only its remaining epochs.
 * @example
 * const e = estimatePlan({ jobs, rows: (j) => ({ train: 480, val: 140, test: 140 }), store, isDone, jobDir, budget: 'smoke', keepCheckpoints: false })
 */
export function estimatePlan(a: {
  jobs: readonly Job[];
  rows: (job: Job) => { train: number; val: number; test: number };
  store: SpeedStore;
  isDone: (job: Job) => boolean;
  jobDir: (job: Job) => string;
  budget: string;
  keepCheckpoints: boolean;
  /** Parameter counts known without a stored speed (models the warm-up had no time to time). */
  params?: ReadonlyMap<string, number>;
}): PlanEstimate {
  const perJob = new Map<string, JobEstimate>();
  const unknown = new Set<string>();
  let train = 0, evalS = 0, kept = 0, ckMax = 0, ckSum = 0, cached = 0;
  for (const j of a.jobs) {
    const s = a.store.get(modelKey(j));
    const r = a.rows(j);
    const done = a.isDone(j);
    if (!s && !done) unknown.add(modelKey(j));
    const e = estimateJob({ epochs: j.train.epochs, trainRows: r.train, valRows: r.val, testRows: r.test, perImage: s?.trainPerImage, evalPerImage: s?.evalPerImage, params: s?.params ?? a.params?.get(modelKey(j)), cached: done, done: done ? 0 : epochsDone(a.jobDir(j)) });
    perJob.set(j.hash, e);
    if (done) cached++;
    if (Number.isFinite(e.trainSeconds)) train += e.trainSeconds;
    if (Number.isFinite(e.evalSeconds)) evalS += e.evalSeconds;
    // A finished job whose model has no stored speed here (another cache folder, another machine): what it holds on disk.
    kept += done && !Number.isFinite(e.modelBytes) ? folderBytes(a.jobDir(j)) : e.modelBytes;
    if (!done) {
      ckMax = Math.max(ckMax, e.checkpointBytes);
      ckSum += e.checkpointBytes;
    }
  }
  const figures = a.store.reportSeconds(a.budget) ?? FIGURES_DEFAULT[a.budget] ?? 60;
  return { perJob, train, eval: evalS, figures, total: train + evalS + figures, unknown: [...unknown], keptBytes: kept, checkpointBytes: a.keepCheckpoints ? ckSum : ckMax, cached };
}
