// Shared helpers of `fer train`, `fer sweep`, `fer evaluate` and `fer predict` (the @fer/models commands).
import * as tf from '@tensorflow/tfjs';
import * as engine from '@fer/engine';
import {
  createBatcher, fitNormalizer, loadDataset, makeSyntheticFer, splitIndices, SPLITS,
  type AugmentSpec, type FerDataset, type Normalizer, type SplitName,
} from '@fer/data';
import { hogBatch } from '@fer/hog';
import type { ProgressEvent, StepperFactory, TrainSource, ValidationSet } from '@fer/models';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * An error of the `fer` commands that is not a library's: a `code` (E_RUN_EXISTS, E_FS, E_IMAGE, ...) and
 * a message saying what was got, what was expected and how to fix it. The CLI prints the message once.
 */
export class FerCliError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FerCliError';
    this.code = code;
  }
}

/** A file-system error as E_FS: `<CODE> while <phase> <path>: <meaning>` (read-only says read-only, full says full). */
export function fsError(e: unknown, phase: string, path: string): FerCliError {
  if (e instanceof FerCliError) return e;
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EIO';
  const meaning: Record<string, string> = {
    ENOSPC: 'the disk is full. Free space or choose another --out, then rerun with --resume',
    EDQUOT: 'the disk quota is used up. Free space or choose another --out, then rerun with --resume',
    EROFS: 'the file system is read-only. Choose a writable --out folder',
    EACCES: 'the folder is read-only or not writable by this user (permission denied). Choose a writable --out or fix its permissions',
    EPERM: 'the folder is read-only or the operation is not permitted. Choose a writable --out or fix its permissions',
    ENOTDIR: `a part of the path is a file, not a folder (${basename(dirname(path))}). Choose another --out or remove that file`,
    EEXIST: 'a file is in the way where a folder is needed. Choose another --out or remove that file',
    EISDIR: 'a folder is in the way where a file is needed. Remove that folder',
  };
  return new FerCliError('E_FS', `${code} while ${phase} ${path}: ${meaning[code] ?? `${(e as Error)?.message ?? String(e)}. Check the path and the disk`}.`, { cause: e });
}

/** Writes a run file atomically (`<path>.tmp-<pid>-<time>`, then rename), so a reader or a kill never sees it half written. */
export async function writeRunFile(path: string, data: string | Uint8Array, what: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw fsError(e, `writing ${what}`, path);
  }
}

/** The run-file writes of `fer train`, behind one object so tests can observe them. */
export const runFiles = { write: writeRunFile };

/** Removes leftover `*.tmp-<pid>-<time>` files (of a killed run) in `dirs`; returns their paths. */
export async function removeStaleTempFiles(dirs: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw fsError(e, 'listing the run folder', dir);
    }
    for (const n of names.filter((x) => /\.tmp-\d+(-\d+)?$/.test(x) && !x.includes(`.tmp-${process.pid}-`))) {
      try {
        await rm(join(dir, n), { force: true });
      } catch (e) {
        throw fsError(e, 'removing a stale temp file', join(dir, n));
      }
      removed.push(join(dir, n));
    }
  }
  return removed;
}

/** CLI-level data config (`--set data.<key>=...`). */
export interface DataConfig {
  /** @fer/data normalizer kind. */
  normalizer: string;
  /** Augmentations applied on the fly (AugmentSpec[] of @fer/data). */
  augment: AugmentSpec[];
  /** Use at most this many Training rows (seeded random subset); 0 = all. */
  limit: number;
  /** Use at most this many PublicTest rows for validation; 0 = all. */
  validationLimit: number;
  /** Class-balanced sampling. */
  classBalanced: boolean;
  /** 'none' | 'balanced' (inverse frequency loss weights from @fer/data's classWeights). */
  classWeights: string;
}

export const DATA_DEFAULTS: DataConfig = { normalizer: 'global', augment: [], limit: 0, validationLimit: 0, classBalanced: false, classWeights: 'none' };

/** Short aliases for `--set` / `--grid` keys. */
export const SET_ALIASES: Record<string, string> = {
  lr: 'train.optimizer.learningRate',
  epochs: 'train.epochs',
  batch: 'train.batchSize',
  seed: 'train.seed',
  optimizer: 'train.optimizer.name',
  l2: 'model.l2',
  dropout: 'model.denseDropout',
  units: 'model.denseUnits',
  limit: 'data.limit',
};

/** Parses `key=value` overrides into { model, train, data } objects (values parsed as JSON when they parse). */
export function parseSets(sets: string[]): { model: Record<string, unknown>; train: Record<string, unknown>; data: Record<string, unknown> } {
  const out = { model: {} as Record<string, unknown>, train: {} as Record<string, unknown>, data: {} as Record<string, unknown> };
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new Error(`--set ${JSON.stringify(s)}: expected key=value, e.g. --set lr=3e-4 or --set train.epochs=5`);
    let key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    key = SET_ALIASES[key] ?? key;
    const [head, ...rest] = key.split('.');
    if (!(head === 'model' || head === 'train' || head === 'data') || rest.length === 0) {
      throw new Error(`--set ${JSON.stringify(s)}: keys start with model., train. or data. (or are one of the aliases ${Object.keys(SET_ALIASES).join(', ')}).`);
    }
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let obj = out[head];
    for (const k of rest.slice(0, -1)) {
      if (typeof obj[k] !== 'object' || obj[k] === null) obj[k] = {};
      obj = obj[k] as Record<string, unknown>;
    }
    obj[rest[rest.length - 1]] = value;
  }
  return out;
}

/** Merges a partial data config over the defaults; unknown keys throw. */
export function resolveDataConfig(given: Record<string, unknown>): DataConfig {
  for (const k of Object.keys(given)) {
    if (!(k in DATA_DEFAULTS)) throw new Error(`unknown data config key "${k}". Allowed keys: ${Object.keys(DATA_DEFAULTS).join(', ')}.`);
  }
  const c = { ...DATA_DEFAULTS, ...given } as DataConfig;
  if (!['none', 'balanced'].includes(c.classWeights)) throw new Error(`data.classWeights is ${JSON.stringify(c.classWeights)}, expected "none" or "balanced".`);
  return c;
}

/** Loads --data, else FER2013_PATH, else the synthetic data set (said loudly through `log`). */
export async function loadData(path: string | undefined, log: (line: string) => void): Promise<FerDataset> {
  const p = path || process.env.FER2013_PATH;
  if (!p) {
    log('!!! No --data and no FER2013_PATH: using the SYNTHETIC FER-like data set (makeSyntheticFer). Numbers are NOT FER2013 results. !!!');
    return makeSyntheticFer({ seed: 1 });
  }
  return loadDataset(p);
}

/** Initializes the tfjs backend with @fer/engine (WASM training kernels, WebGPU, ...). */
export async function setupBackend(backend: string, threads?: number): Promise<{ backend: string; reason: string }> {
  // An explicit `--backend webgpu` is honoured on a software adapter too (auto never picks one).
  const info = await engine.initBackend({ backend: backend as never, ...(threads ? { threads } : {}), ...(backend === 'webgpu' ? { allowSoftwareAdapter: true } : {}) });
  return { backend: info.backend, reason: info.reason };
}

/** The data-parallel stepper of @fer/engine when workers > 1 and it is available. */
export function stepperFor(workers: number, backend: string): StepperFactory | undefined {
  if (!workers || workers <= 1) return undefined;
  const create = (engine as unknown as Record<string, unknown>).createDataParallelStepper;
  if (typeof create !== 'function') throw new Error('--workers needs @fer/engine createDataParallelStepper, which this build lacks. Drop --workers.');
  return (create as (o: { workers: number; backend: string }) => StepperFactory)({ workers, backend: backend === 'cpu' ? 'cpu' : 'wasm' });
}

/** Seeded subset of `idx` of at most `limit` rows (all when limit is 0), in the original order. */
export function subsample(idx: Uint32Array, limit: number, seed: number): Uint32Array {
  if (!limit || limit >= idx.length) return idx;
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = Array.from(idx);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return Uint32Array.from(a.slice(0, limit).sort((x, y) => x - y));
}

/** Raw pixels and labels of rows `idx`. */
export function gather(ds: FerDataset, idx: ArrayLike<number>): { pixels: Uint8Array; labels: Uint8Array; count: number } {
  const px = ds.width * ds.height;
  const pixels = new Uint8Array(idx.length * px);
  const labels = new Uint8Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    pixels.set(ds.pixels.subarray(idx[i] * px, (idx[i] + 1) * px), i * px);
    labels[i] = ds.labels[idx[i]];
  }
  return { pixels, labels, count: idx.length };
}

/** Training source + validation set for the trainer, with HOG features for hybrid models. */
export function prepareTrainingData(args: {
  ds: FerDataset; data: DataConfig; batchSize: number; seed: number; hog?: Record<string, unknown>;
  trainSplit?: SplitName; valSplit?: SplitName;
}): { train: TrainSource; validation: ValidationSet; normalizer: Normalizer; trainIdx: Uint32Array; trainLabels: Uint8Array } {
  const { ds, data, batchSize, seed, hog } = args;
  const trainIdx = subsample(splitIndices(ds, args.trainSplit ?? 'Training'), data.limit, seed);
  const valIdx = subsample(splitIndices(ds, args.valSplit ?? 'PublicTest'), data.validationLimit, seed + 1);
  const normalizer = fitNormalizer(ds, trainIdx, { kind: data.normalizer as never });
  const batcher = createBatcher({ dataset: ds, indices: trainIdx, batchSize, seed, augment: data.augment, normalizer, classBalanced: data.classBalanced, keepRaw: Boolean(hog) });
  // NOTE: hybrids get the HOG of the image the network sees: training batches' HOG is computed per batch
  // from the batcher's `raw` (augmented, 0-255, before normalization), so every augmentation is allowed;
  // validation HOG once, on the raw (un-augmented) 0-255 pixels of its rows.
  const hogOf = (pixels: Uint8Array | Float32Array, count: number) =>
    hogBatch(pixels, { count, width: ds.width, height: ds.height, ...hog } as never);
  const train: TrainSource = {
    stepsPerEpoch: batcher.stepsPerEpoch,
    *epoch(e: number) {
      for (const b of batcher.epoch(e)) yield { x: b.x, y: b.y, size: b.size, ...(hog ? { hog: hogOf(b.raw!, b.size) } : {}) };
    },
  };
  const val = gather(ds, valIdx);
  const validation: ValidationSet = { x: normalizer.apply(val.pixels, val.count), y: val.labels, count: val.count, ...(hog ? { hog: hogOf(val.pixels, val.count) } : {}) };
  const trainLabels = gather(ds, trainIdx).labels;
  return { train, validation, normalizer, trainIdx, trainLabels };
}

/** Draws progress: a redrawn bar on a TTY, plain lines (every ~10% of an epoch) otherwise. */
export function createProgressRenderer(stream: NodeJS.WriteStream = process.stderr): { update(p: ProgressEvent): void; done(): void } {
  const tty = Boolean(stream.isTTY);
  let lastPlain = -1;
  return {
    update(p) {
      const frac = p.step / p.steps;
      const text = `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} acc ${(p.accuracy * 100).toFixed(1)}% ${p.imagesPerSecond.toFixed(0)} img/s ETA ${formatSeconds(p.etaSeconds)}`;
      if (tty) {
        const width = 24;
        const filled = Math.round(frac * width);
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      } else {
        const bucket = Math.floor(frac * 10);
        if (bucket !== lastPlain || p.step === p.steps) {
          lastPlain = bucket;
          stream.write(`${text}\n`);
        }
        if (p.step === p.steps) lastPlain = -1;
      }
    },
    done() {
      if (tty) stream.write('\n');
    },
  };
}

/** 3725 -> "1h02m05s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function isSplit(s: string): s is SplitName {
  return (SPLITS as readonly string[]).includes(s);
}

export { tf };
