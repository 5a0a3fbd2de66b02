// A short warm-up for the plan's ETA: models with no stored speed on this machine (see ./_eta.ts) train a
// few small steps (three timed of each of two sizes, medians); all of them together stop after `limitSeconds`
// (~30 s; a --dry-run times every model), the rest are measured by their first real epoch. Stored speeds are
// reused, so a second `--dry-run` trains nothing.
import * as tf from '@tensorflow/tfjs';
import type { FerDataset } from '@fer/data';
import { localStepper, resolveTrainConfig, type ModelRegistry, type OptimizerSpec, type StepperFactory } from '@fer/models';
import { modelKey, type SpeedStore } from './_eta.js';
import { scaledConfig, trainConfig } from '../job/resolve.js';
import type { Job } from './plan.js';
import { trainSource, type PreparedData } from '../job/prepare.js';

/** Warm-up steps hold at most this many images (the speed at the job's own batch size is refined by its first epoch). */
const WARMUP_BATCH = 32;
/** Timed steps of each size; the median of each is used (one slow step on a loaded machine moves nothing). */
const REPEATS = 3;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Seconds per image at batch size `batch` from timed steps of `small` and `large` images. A step costs a + b * n
 * (a: the per-step optimizer update, large for paper-shallow's 18.9M dense weights; b: per image), fitted through the
 * medians of the repeats and clamped to a >= 0, b >= 0, so noise never turns the per-step cost into a per-image one
 * (the old fallback, the large step's time per image, counted `a` four times over at batch 128 and ranked
 * paper-shallow slower than paper-deep on a loaded machine).
 * @example
 * perImageAt({ small: [0.416], large: [0.464] }, 8, 32, 128) // (0.4 + 0.002 * 128) / 128 = 0.005125
 */
export function perImageAt(times: { small: readonly number[]; large: readonly number[] }, small: number, large: number, batch: number): number {
  const ts = median(times.small), tl = median(times.large);
  const b = Math.max(0, (tl - ts) / (large - small));
  const a = Math.max(0, tl - b * large);
  return (a + b * batch) / batch;
}

export async function measureSpeeds(args: {
  jobs: readonly Job[];
  registry: ModelRegistry;
  dataset: FerDataset;
  prepared: (job: Job) => PreparedData;
  stepper?: StepperFactory;
  store: SpeedStore;
  /** Parameter counts of models that were not timed (for the disk estimate). */
  params: Map<string, number>;
  log: (line: string) => void;
  limitSeconds?: number;
}): Promise<{ measured: string[]; skipped: string[] }> {
  const limit = args.limitSeconds ?? 30;
  const t0 = performance.now();
  const measured: string[] = [], skipped: string[] = [];
  const seen = new Set<string>();
  for (const job of args.jobs) {
    const key = modelKey(job);
    if (seen.has(key)) continue;
    seen.add(key);
    const known = args.store.get(key);
    if (known && known.params !== undefined) continue;
    const late = (performance.now() - t0) / 1000 > limit;
    const model = args.registry.create(job.model.name, scaledConfig(args.registry, job.model.name, job.model.config, job.modelScale), { seed: 1 });
    try {
      const params = model.countParams();
      // Past the time limit only the parameter count is taken (for the disk estimate): the first epoch measures the speed.
      if (known || late) {
        if (known) args.store.set(key, { ...known, params });
        else args.params.set(key, params);
        if (late && !known) skipped.push(key);
        continue;
      }
      // The job's own optimizer (../job/resolve.ts trainConfig: the one translation of the train spec), at its learning rate.
      const optimizer = resolveTrainConfig(trainConfig(job.train, 1, job.train.classWeights === 'balanced' ? args.prepared(job).trainLabels : undefined)).optimizer as OptimizerSpec;
      const lr = optimizer.learningRate;
      const st = await (args.stepper ?? localStepper)({ model, optimizer, seed: 1 });
      try {
        // The first batch of the job's own batches (augmentation and HOG included), cut to a few images: one untimed
        // step of each size, then one timed step of `small` and one of `large` images. A step costs a + b * n (a: the per-step optimizer update,
        // large for paper-shallow's 18.9M dense weights; b: per image), so the job's own batch size B costs (a + b B) / B.
        const [full] = trainSource(args.dataset, args.prepared(job), job.train, 1).epoch(0);
        const cut = (n: number) => ({ ...full, size: n, x: full.x.subarray(0, n * 2304), y: full.y.subarray(0, n), ...(full.hog ? { hog: full.hog.subarray(0, (full.hog.length / full.size) * n) } : {}) });
        const large = Math.min(full.size, WARMUP_BATCH), small = Math.max(1, Math.floor(large / 4));
        // Untimed: first-use compilation and primitive creation, for both shapes.
        await st.step(cut(large), lr);
        await st.step(cut(small), lr);
        const time = async (n: number) => {
          const t = performance.now();
          await st.step(cut(n), lr);
          return (performance.now() - t) / 1000;
        };
        // Interleaved, so a burst of load hits both sizes alike.
        const times = { small: [] as number[], large: [] as number[] };
        for (let r = 0; r < REPEATS; r++) {
          times.small.push(await time(small));
          times.large.push(await time(large));
        }
        const perImage = perImageAt(times, small, large, job.train.batchSize);
        // Inference as evaluateArrays runs it (forward only): one untimed and one timed predict of `large` images.
        const ev = await timePredict(model, cut(large));
        args.store.set(key, { trainPerImage: perImage, evalPerImage: ev, params, source: 'warm-up' });
        measured.push(key);
        args.log(`warm-up: ${key}: ${(1 / perImage).toFixed(1)} img/s`);
      } finally {
        await st.dispose();
      }
    } finally {
      model.dispose();
    }
  }
  if (skipped.length) args.log(`warm-up: stopped after ${limit} s; not measured yet (their first epoch will be): ${skipped.join(', ')}`);
  args.store.save();
  return { measured, skipped };
}

/** Seconds per image of a forward pass (the second of two, so first-use costs are left out). */
async function timePredict(model: tf.LayersModel, b: { x: Float32Array; hog?: Float32Array; size: number }): Promise<number> {
  const run = async () => {
    const t = performance.now();
    const out = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, 48, 48, 1]);
      const input = b.hog ? [x, tf.tensor2d(b.hog, [b.size, b.hog.length / b.size])] : x;
      return model.predict(input) as tf.Tensor;
    });
    await out.data();
    out.dispose();
    return (performance.now() - t) / 1000;
  };
  await run();
  return (await run()) / b.size;
}
