// Queue fencing (issue 22, item 4): a job attempt whose folder a newer attempt claimed stops before its next
// write; temp files have unique names. And which failures mean "this worker cannot", not "this job fails" (item 5).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticFer } from '@fer/data';
import { initBackend } from '@fer/engine';
import { builtinModels, createRegistry } from '@fer/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { executeJob } from '../job/execute.js';
import type { ResolvedJob } from '../job/resolve.js';
import { prepareData, rowSets } from '../job/prepare.js';
import { DEFAULTS } from '../job/spec.js';
import { ATTEMPT_FILE, checkFence, claimJobFolder, writeFileAtomicSync } from './fence.js';
import { workerCannot, writeJsonAtomic } from './worker.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'fer-fence-'));

describe('job folder fencing', () => {
  it('a newer claim fences the older attempt off, naming who holds the folder now', () => {
    const dir = fresh();
    const a = claimJobFolder(dir, { worker: 'w1', attempt: 1 });
    expect(() => checkFence(dir, a)).not.toThrow();
    const b = claimJobFolder(dir, { worker: 'w2', attempt: 2 });
    expect(() => checkFence(dir, a)).toThrow(expect.objectContaining({ code: 'E_FENCED', message: expect.stringContaining('claimed by attempt 2 on worker w2') }));
    expect(() => checkFence(dir, b)).not.toThrow();
    expect(readdirSync(dir)).toEqual([ATTEMPT_FILE]);
  });

  it('temp files have unique names: a leftover (or another writer\'s) result.json.tmp is never reused', () => {
    const dir = fresh();
    // The fixed name of old: a directory there (or a concurrent writer's file) broke or mixed the write.
    mkdirSync(join(dir, 'result.json.tmp'));
    mkdirSync(join(dir, 'queue.json.1.tmp'));
    writeFileAtomicSync(join(dir, 'result.json'), '{"a":1}');
    writeJsonAtomic(join(dir, 'queue.json'), { b: 2 });
    expect(readdirSync(dir).sort()).toEqual(['queue.json', 'queue.json.1.tmp', 'result.json', 'result.json.tmp']);
  });

  describe('executeJob checks the fence before every write', () => {
    beforeAll(async () => { await initBackend({ backend: 'wasm' }); });
    const ds = makeSyntheticFer({ seed: 4, counts: { Training: 35, PublicTest: 14, PrivateTest: 14 } });
    const registry = createRegistry(builtinModels);
    const pictures = { samples: 2, maxEpochs: 2 };
    const train = { ...DEFAULTS.train, epochs: 2, batchSize: 16, learningRate: 0.001 };
    const job: ResolvedJob = { hash: 'fence', model: { name: 'paper-shallow', config: {} }, modelScale: 0.125, train, seed: 3, budget: 'smoke', data: 'synthetic' };
    const data = prepareData(ds, rowSets(ds, train), train, undefined);

    it('an attempt taken over mid-epoch stops without writing a checkpoint, test curve or result', async () => {
      const dir = fresh();
      const mine = claimJobFolder(dir, { worker: 'old', attempt: 1 });
      let steps = 0;
      const run = executeJob({
        job, dir, registry, dataset: ds, data, pictures, fence: () => checkFence(dir, mine),
        onProgress: () => { if (++steps === 1) claimJobFolder(dir, { worker: 'new', attempt: 2 }); },
      });
      await expect(run).rejects.toMatchObject({ code: 'E_FENCED' });
      expect(steps).toBe(1);
      expect(existsSync(join(dir, 'result.json'))).toBe(false);
      expect(existsSync(join(dir, 'test-curve.json'))).toBe(false);
      expect(existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')) : []).toEqual([]);
      // The owner of the folder runs the job to its end.
      writeFileSync(join(dir, 'unrelated'), '');
      const owner = claimJobFolder(dir, { worker: 'new', attempt: 2 });
      const done = await executeJob({ job, dir, registry, dataset: ds, data, pictures, fence: () => checkFence(dir, owner) });
      expect(done.status).toBe('trained');
      expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
    }, 120_000);
  });
});

describe('a worker that cannot run a job says so (it is not the job failing)', () => {
  it('classifies an unwritable results folder and a model unknown to this worker', () => {
    expect(workerCannot(Object.assign(new Error('boom'), { code: 'E_UNKNOWN_MODEL' }))).toMatch(/not known here.*--config/);
    expect(workerCannot(new Error('fer train exited with code 1: fer: error E_UNKNOWN_MODEL: Unknown model "my-net"'))).toMatch(/not known here/);
    expect(workerCannot(new Error('E_FS: EROFS while writing training history /r/jobs/x/history.json'))).toMatch(/results folder is not writable here \(EROFS\)/);
    expect(workerCannot(new Error('E_NON_FINITE_LOSS: the loss became NaN'))).toBeUndefined();
  });
});
