// A short warm-up for the plan's ETA: models with no stored speed on this machine (see ./_eta.ts) train a
// couple of small steps; all of them together stop after `limitSeconds` (~30 s), the rest are measured by
// their first real epoch. Stored speeds are reused, so a second `--dry-run` trains nothing.
import type { FerDataset } from '@fer/data';
import { localStepper, type ModelRegistry, type StepperFactory } from '@fer/models';
import { modelKey, type SpeedStore } from './_eta.js';
import { scaledConfig } from './job.js';
import type { Job } from './plan.js';
import { trainSource, type PreparedData } from './prepare.js';

/** Warm-up batches hold at most this many images (per-image speed at the job's own batch size is refined by training). */
const WARMUP_BATCH = 16;

export async function measureSpeeds(args: {
  jobs: readonly Job[];
  registry: ModelRegistry;
  dataset: FerDataset;
  prepared: (job: Job) => PreparedData;
  stepper?: StepperFactory;
  store: SpeedStore;
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
    if ((performance.now() - t0) / 1000 > limit) {
      skipped.push(key);
      continue;
    }
    const model = args.registry.create(job.model.name, scaledConfig(args.registry, job.model.name, job.model.config, job.modelScale), { seed: 1 });
    try {
      const params = model.countParams();
      if (known) {
        args.store.set(key, { ...known, params });
        continue;
      }
      const lr = job.train.learningRate;
      const st = await (args.stepper ?? localStepper)({ model, optimizer: { name: job.train.optimizer, learningRate: lr }, seed: 1 });
      try {
        // The first batch of the job's own batches (augmentation and HOG included), cut to WARMUP_BATCH images.
        const [full] = trainSource(args.dataset, args.prepared(job), job.train, 1).epoch(0);
        const n = Math.min(full.size, WARMUP_BATCH);
        const batch = { ...full, size: n, x: full.x.subarray(0, n * 2304), y: full.y.subarray(0, n), ...(full.hog ? { hog: full.hog.subarray(0, (full.hog.length / full.size) * n) } : {}) };
        await st.step(batch, lr); // untimed: first-use compilation and primitive creation
        const t = performance.now();
        let steps = 0;
        do {
          await st.step(batch, lr);
          steps++;
        } while (steps < 3 && performance.now() - t < 1000);
        const perImage = (performance.now() - t) / 1000 / (steps * n);
        args.store.set(key, { trainPerImage: perImage, params, source: 'warm-up' });
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
