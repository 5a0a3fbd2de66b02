// Real FER2013: runs only when FER2013_PATH is set, and is skipped with FER_SKIP_SLOW=1.
// A short training of a width-reduced paper-shallow (the paper's layer structure with 4/8 filters and
// 64 hidden units; the full-width model trains at ~16 img/s on one WASM thread, ~30 min per epoch) for
// two epochs over all 28,709 Training rows, checked on all of PublicTest against the majority-class rate
// (Happy, 895/3589 = 24.9%). Measured on the 2-core dev machine while two other trainings ran:
// seed 2: 39.5% PublicTest in 5m07s (per-class recall Fear 14%, Happy 71%, Sad 28%, Surprise 62%,
// Neutral 46%). One epoch at batch 32: 37.2% (seed 1) and 34.0% (seed 2). `pnpm bench accuracy`
// (recipe `ci`, the same settings) trains it here and in PyTorch (harness/peers/torch_train.py).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECIPES } from '../bench/accuracy.js';
import { runTrain } from './train.js';

const path = process.env.FER2013_PATH;
const run = Boolean(path) && process.env.FER_SKIP_SLOW !== '1';

describe.runIf(run)('real FER2013 (FER2013_PATH; skip with FER_SKIP_SLOW=1)', () => {
  it('a short paper-shallow training beats the majority-class rate on PublicTest', async () => {
    const out = await mkdtemp(join(tmpdir(), 'fer-real-'));
    try {
      const { metrics: m } = await runTrain({
        model: 'paper-shallow', data: path, out, backend: 'wasm', log: () => undefined, onProgress: () => undefined,
        sets: REAL_SETS,
      });
      const metrics = m!;
      expect(metrics.synthetic).toBe(false);
      expect(metrics.perClass.reduce((n, c) => n + c.support, 0)).toBe(3589);
      // Clearly above the majority rate (24.9%), and not by predicting one or two classes.
      expect(metrics.accuracy).toBeGreaterThan(0.34);
      expect(metrics.perClass.filter((c) => c.recall > 0.1).length).toBeGreaterThanOrEqual(4);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 900_000);
});

/**
 * The short recipe: `pnpm bench accuracy --recipe ci` (seed 2), so the benchmark and this test train the same thing;
 * here validated on all of PublicTest (the recipe's 500-row subset is the benchmark's speed-up, and a job's
 * result is measured on its own PublicTest rows).
 */
export const REAL_SETS = [...RECIPES.ci.sets, `epochs=${RECIPES.ci.epochs}`, 'seed=2', 'data.validationLimit=0'];
