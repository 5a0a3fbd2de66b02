// The job is the spine: `fer train --preset paper --model paper-shallow` and the reproduction's job of the same hash
// (here, and on a `fer worker` through a real Redis queue) write the same folder layout (../job/execute.ts
// JOB_FILES) with byte-identical resolved config, history, test curve and weights. Tiny (synthetic data, 1/8
// width, 64 rows, 2 epochs); the queue part starts its own redis-server and is skipped (loudly) without one.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasRedisServer, MIN, Proc, startRedis } from '../_test-procs.js';
import { runTrain } from '../commands/train.js';
import { reproduce } from '../reproduce/run.js';
import { defineExperiment } from './spec.js';
import { JOB_FILES } from './execute.js';

const quiet = () => undefined;
const sets = ['limit=64', 'train.evalLimit=28', 'epochs=2', 'batch=16', 'modelScale=0.125', 'augment=hflip'];
// One row: paper-shallow as the paper trains it (the accuracy table's row, alone).
const experiment = defineExperiment({
  id: 'one', ref: 'test', title: 'one job', produce: 'accuracy', description: 'paper-shallow alone',
  base: {}, rows: [{ row: 'shallow', label: 'paper-shallow', model: { name: 'paper-shallow', config: {} }, paper: {} }],
});
/** The files that must be byte-identical between two executions of one job (result.json holds timings). */
const SAME = [JOB_FILES.config, JOB_FILES.history, JOB_FILES.testCurve, 'model/model.json', 'model/weights.bin'];

/** Every file under `dir`, relative, sorted (the layout). */
function layout(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .filter((f) => !/^(attempt\.json|attempts\.jsonl|queue\.json)$/.test(f)) // the queue's own records
    .sort();
}

function expectSameJob(a: string, b: string): void {
  expect(layout(b)).toEqual(layout(a));
  for (const f of SAME) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
}

describe('one job, one executor, one folder layout', () => {
  const root = mkdtempSync(join(tmpdir(), 'fer-same-job-'));
  const trained = join(root, 'train');
  let hash = '';

  it('fer train --preset paper and the reproduction\'s job of the same hash write the same files, byte for byte', async () => {
    const t = await runTrain({ model: 'paper-shallow', preset: 'paper', data: 'synthetic', sets, out: trained, backend: 'cpu', log: quiet, onProgress: quiet });
    hash = t.hash;
    expect(t.metrics).not.toBeNull();
    const files = layout(trained);
    for (const f of [...SAME, JOB_FILES.result, 'model/fer.json']) expect(files, f).toContain(f);
    expect(files.some((f) => f.startsWith(`${JOB_FILES.checkpoints}/`))).toBe(true);

    const out = join(root, 'reproduce');
    const r = await reproduce({ experiments: [experiment], budget: 'paper', set: sets, data: 'synthetic', out, backend: 'cpu', noWarmup: true, keepCheckpoints: true, log: quiet, cacheDir: join(root, 'cache') });
    expect(r.plan.jobs.map((j) => j.hash)).toEqual([hash]);
    expectSameJob(trained, join(out, 'jobs', hash));
  }, 10 * MIN);

  const hasRedis = hasRedisServer();
  if (!hasRedis) console.warn('\n*** SKIPPED the queue part of harness/src/job/same-job.e2e.test.ts: redis-server is not installed (apt-get install redis-server). ***\n');
  const procs: Proc[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  it.skipIf(!hasRedis)('... and so does the same job run by a fer worker through the queue', async () => {
    expect(hash).not.toBe('');
    const { proc: redis, url } = await startRedis();
    procs.push(redis);
    const harness = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const worker = Proc.spawn('fer worker', process.execPath, ['--conditions=@fer/source', '--import', 'tsx', join(harness, 'src', 'cli.ts'), 'worker', '--queue', url, '--name', 'spine'], { cwd: harness, env: { ...process.env, FER2013_PATH: '', FER_ENGINE_WEBGPU: '0' } });
    procs.push(worker);
    await worker.waitFor(/ready on/);
    const out = join(root, 'queue');
    const r = await reproduce({ experiments: [experiment], budget: 'paper', set: sets, data: 'synthetic', out, backend: 'cpu', noWarmup: true, queue: url, log: quiet, cacheDir: join(root, 'cache') });
    expect(r.stopped).toBeNull();
    const dir = join(out, 'jobs', hash);
    expect(existsSync(join(dir, JOB_FILES.result))).toBe(true);
    // A queued job keeps no checkpoints once finished (no --keep-checkpoints on the queue); all else is the same.
    const withoutCheckpoints = (d: string) => layout(d).filter((f) => !f.startsWith(`${JOB_FILES.checkpoints}/`));
    expect(withoutCheckpoints(dir)).toEqual(withoutCheckpoints(trained));
    for (const f of SAME) expect(readFileSync(join(dir, f)).equals(readFileSync(join(trained, f))), f).toBe(true);
  }, 10 * MIN);
});
