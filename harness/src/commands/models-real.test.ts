// Real FER2013: runs only when FER2013_PATH is set, and is skipped with FER_SKIP_SLOW=1.
// A short training of a width-reduced paper-shallow (same layer structure, fewer filters/units; the
// full-width model trains at ~3 img/s on this 2-core machine's WASM backend) on a seeded subsample of
// Training, checked against the majority-class rate of PublicTest (Happy, 895/3589 = 24.9%).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTrain } from './train.js';

const path = process.env.FER2013_PATH;
const run = Boolean(path) && process.env.FER_SKIP_SLOW !== '1';

describe.runIf(run)('real FER2013 (FER2013_PATH; skip with FER_SKIP_SLOW=1)', () => {
  it('a short paper-shallow training beats the majority-class rate on PublicTest', async () => {
    const out = await mkdtemp(join(tmpdir(), 'fer-real-'));
    try {
      const { metrics } = await runTrain({
        model: 'paper-shallow', data: path, out, backend: 'wasm', log: () => undefined, onProgress: () => undefined,
        sets: REAL_SETS,
      });
      expect(metrics.synthetic).toBe(false);
      expect(metrics.perClass.reduce((n, c) => n + c.support, 0)).toBe(3589);
      expect(metrics.accuracy).toBeGreaterThan(0.28);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 900_000);
});

/** The short recipe (measured: see the @fer/models report). */
export const REAL_SETS = [
  'model.filters=[4,8]', 'model.denseUnits=64', 'model.convDropout=0', 'model.denseDropout=0.2',
  'limit=3000', 'epochs=2', 'batch=32', 'lr=1e-3', 'data.validationLimit=500',
];
