// Runs one training job of the plan into <out>/jobs/<hash>/ (skipped when finished, resumed when
// interrupted): trains, picks the best PublicTest epoch, predicts PrivateTest, saves pictures.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelRegistry } from '@fer/models';
import { activationTiles, filterTiles } from '../figures/pictures.js';
import { encodePng } from '../figures/png.js';
import type { Job } from './plan.js';
import type { PreparedData } from './prepare.js';
import type { RunSettings } from './spec.js';
import { argmaxRows, predictSplit, trainModel, type EpochLog, type StepperFactory } from './trainer.js';

export interface JobOutcome {
  hash: string;
  model: string;
  config: Record<string, unknown>;
  seed: number;
  epochs: number;
  status: 'trained' | 'cached';
  wallSeconds: number;
  params: number;
  history: EpochLog[];
  bestEpoch: number;
  resumedFrom: number;
  trainRows: number;
  validation: { accuracy: number; rows: number; predicted: number[] };
  test: { accuracy: number; rows: number; predicted: number[] };
  /** Activation-map pictures, relative to the job folder. */
  activations: { epoch: number; layer: string; file: string }[];
  filters?: { layer: string; count: number; file: string };
}

/** Keys of model configs that hold widths (filters/units) and shrink with `modelScale`. */
const WIDTH_KEYS = ['filters', 'denseUnits', 'baseFilters', 'moduleFilters', 'hogUnits', 'units'];

/** The model config a job builds: the row's config, widths scaled by `modelScale` (smoke budget). */
export function scaledConfig(registry: ModelRegistry, name: string, config: Record<string, unknown>, scale: number): Record<string, unknown> {
  const resolved = registry.resolveConfig(name, config);
  if (scale === 1) return resolved;
  const s = (v: number) => (v > 0 ? Math.max(2, Math.round(v * scale)) : v);
  for (const k of WIDTH_KEYS) {
    const v = resolved[k];
    if (typeof v === 'number') resolved[k] = s(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) resolved[k] = v.map(s);
  }
  return resolved;
}

/** Epochs at which activation maps are saved: `k` spread over 1..epochs, always including the last. */
export function snapshotEpochs(epochs: number, k: number): number[] {
  if (k <= 1) return [epochs];
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.max(1, Math.round(1 + ((epochs - 1) * i) / (k - 1))));
  return [...out].sort((a, b) => a - b);
}

/** Sample faces for activation maps: the first PublicTest row of Happy, Surprise, Angry, Sad, ... */
export function sampleRows(labels: Uint8Array, samples: number): number[] {
  const order = [3, 5, 0, 4, 2, 6, 1];
  const out: number[] = [];
  for (const c of order) {
    if (out.length >= samples) break;
    const i = labels.indexOf(c);
    if (i >= 0) out.push(i);
  }
  return out;
}

export async function runJob(args: {
  job: Job;
  dir: string;
  registry: ModelRegistry;
  data: PreparedData;
  settings: RunSettings;
  stepperFactory?: StepperFactory;
  onBatch?: (step: number, steps: number, epoch: number, loss: number) => void;
  onEpoch?: (log: EpochLog) => void;
}): Promise<JobOutcome> {
  const { job, dir, registry, data, settings } = args;
  const resultFile = join(dir, 'result.json');
  if (existsSync(resultFile)) return { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as JobOutcome), status: 'cached' };
  mkdirSync(join(dir, 'activations'), { recursive: true });
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job, null, 2));
  const t0 = performance.now();
  const config = scaledConfig(registry, job.model.name, job.model.config, job.modelScale);
  const model = registry.create(job.model.name, config, { seed: job.seed });
  const hybrid = model.inputs.length > 1;
  const snaps = new Set(snapshotEpochs(job.train.epochs, settings.snapshots.maxEpochs));
  const sample = sampleRows(data.val.y, settings.snapshots.samples);
  const sx = new Float32Array(sample.length * 2304);
  const sraw = new Uint8Array(sample.length * 2304);
  sample.forEach((r, j) => { sx.set(data.val.x.subarray(r * 2304, (r + 1) * 2304), j * 2304); sraw.set(data.rawVal.subarray(r * 2304, (r + 1) * 2304), j * 2304); });
  const activations: JobOutcome['activations'] = [];
  try {
    const trained = await trainModel({
      model, train: data.train, val: data.val, config: job.train, seed: job.seed, dir: join(dir, 'checkpoint'),
      stepperFactory: args.stepperFactory,
      onBatch: args.onBatch,
      onEpoch: (log, m) => {
        args.onEpoch?.(log);
        if (hybrid || !snaps.has(log.epoch) || sample.length === 0) return;
        for (const [li, t] of activationTiles(m, sx, sraw, sample.length).entries()) {
          const file = `activations/e${String(log.epoch).padStart(3, '0')}-l${li}.png`;
          writeFileSync(join(dir, file), encodePng(t.raster));
        }
      },
    });
    // Collect the snapshot list from disk so a resumed job still lists earlier epochs.
    for (const e of [...snaps].sort((a, b) => a - b)) {
      for (const [li, l] of (hybrid ? [] : ['first conv', 'deeper conv']).entries()) {
        const file = `activations/e${String(e).padStart(3, '0')}-l${li}.png`;
        if (existsSync(join(dir, file))) activations.push({ epoch: e, layer: l, file });
      }
    }
    const valPred = argmaxRows(await predictSplit(model, data.val));
    const testPred = argmaxRows(await predictSplit(model, data.test));
    const acc = (p: Uint8Array, y: Uint8Array) => p.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / Math.max(1, y.length);
    let filters: JobOutcome['filters'];
    const ft = filterTiles(model);
    if (ft) {
      writeFileSync(join(dir, 'filters.png'), encodePng(ft.raster));
      filters = { layer: ft.layer, count: ft.count, file: 'filters.png' };
    }
    const outcome: JobOutcome = {
      hash: job.hash, model: job.model.name, config, seed: job.seed, epochs: job.train.epochs, status: 'trained',
      // epochs trained by earlier, interrupted runs count too
      wallSeconds: (performance.now() - t0) / 1000 + trained.history.slice(0, trained.resumedFrom).reduce((a, h) => a + h.seconds, 0),
      params: model.countParams(),
      history: trained.history, bestEpoch: trained.bestEpoch, resumedFrom: trained.resumedFrom,
      trainRows: data.train.count,
      validation: { accuracy: acc(valPred, data.val.y), rows: data.val.count, predicted: [...valPred] },
      test: { accuracy: acc(testPred, data.test.y), rows: data.test.count, predicted: [...testPred] },
      activations, filters,
    };
    writeFileSync(resultFile, JSON.stringify(outcome));
    return outcome;
  } finally {
    model.dispose();
  }
}
