// The training child process of `fer worker`: one per job, so a CPU-bound training step never
// stalls the worker's queue-lock renewal. Gets a ChildRequest over IPC, trains the job (resuming
// from its checkpoint), reports progress, and exits. Dies with its worker (IPC disconnect).
// Not part of any public API.
import { existsSync } from 'node:fs';
import { makeSyntheticFer } from '@fer/data';
import { disposeBackend } from '@fer/engine';
import { builtinModels, createRegistry, localStepper, type StepperFactory, type TrainStepper } from '@fer/models';
import { executeJob, isFinished } from '../job/execute.js';
import { stepperFor } from '../job/stepper.js';
import { startBackend } from '../backend.js';
import { SYNTHETIC_SEED, dataIdentity, resolveData } from '../data.js';
import { loadProject } from '../project.js';
import { checkFence } from './fence.js';
import type { ChildMessage, ChildRequest, ReproduceJobData } from './protocol.js';

let finished = false;
// The worker stops (SIGTERM): training ends at the next step with a mid-epoch checkpoint.
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
// NOTE: the worker died (kill -9, lost machine): stop at once, so this orphan never races the
// attempt another worker starts from the same checkpoint folder.
process.on('disconnect', () => {
  if (!finished) process.exit(70);
});

const send = (m: ChildMessage): Promise<void> => new Promise((res) => {
  if (!process.connected) return res();
  process.send!(m, undefined, {}, () => res());
});

process.once('message', (req: ChildRequest) => {
  void run(req).then(
    async (m) => { finished = true; await send(m); process.exit(0); },
    async (e: unknown) => {
      finished = true;
      const err = e as Error & { code?: unknown };
      const code = typeof err?.code === 'string' ? err.code : undefined;
      // A worker with other data than the submitter's will never succeed: no retries.
      await send({ type: 'error', code, message: err?.message ?? String(e), permanent: code === 'E_DATA_MISMATCH' });
      process.exit(1);
    },
  );
});

async function run(req: ChildRequest): Promise<ChildMessage> {
  if (req.data.kind !== 'reproduce') throw new Error(`training child: job kind ${req.data.kind} is not run here`);
  const d: ReproduceJobData = req.data;
  const backend = req.backend ?? d.backend ?? 'auto';
  await startBackend(backend);
  try {
    const dataPath = req.dataPath ?? d.data;
    // NOTE: no path = the submitter trained on the synthetic set: so does this worker, whatever its FER2013_PATH.
    const synthetic = () => { const ds = makeSyntheticFer({ seed: SYNTHETIC_SEED }); return { ds, identity: dataIdentity(ds) }; };
    const { ds, identity: id } = dataPath ? await resolveData(dataPath, () => undefined) : synthetic();
    if (id.fingerprint !== d.fingerprint) {
      throw Object.assign(new Error(`data ${dataPath || 'synthetic'} has fingerprint ${id.fingerprint}, the job was planned on data with fingerprint ${d.fingerprint}. Give this worker the submitter's data set (fer worker --data PATH).`), { code: 'E_DATA_MISMATCH' });
    }
    // The submitter's fer.config (user models), if it had one: the same registry there and here.
    const config = req.config ?? d.config;
    const registry = config ? (await loadProject({ config })).registry : createRegistry(builtinModels);
    const job = d.job;
    const workers = d.workers ?? d.threads ?? 1;
    const base = stepperFor(workers, backend);
    const hold = req.holdAfterEpoch ?? 0;
    let heldAfter = 0;
    let started = false;
    let lastProgress = 0;
    const outcome = await executeJob({
      job, dir: req.dir, registry, dataset: ds, pictures: d.pictures === undefined ? d.settings.snapshots : d.pictures ?? undefined, stop: stop.signal, runtime: { backend, workers },
      ...(req.fence ? { fence: () => checkFence(req.dir, req.fence!) } : {}),
      stepper: hold > 0 ? holdingStepper(base ?? localStepper, () => heldAfter, req.holdReleaseFile) : base,
      onProgress: (p) => {
        if (!started) { started = true; void send({ type: 'started', startEpoch: p.epoch - 1 }); }
        const now = performance.now();
        if (now - lastProgress < 1000) return;
        lastProgress = now;
        void send({ type: 'progress', epoch: p.epoch, epochs: p.epochs, step: p.step, steps: p.steps, loss: p.loss });
      },
      onEpoch: (l) => {
        void send({ type: 'epoch', epoch: l.epoch, epochs: job.train.epochs, loss: l.loss, valAccuracy: l.valAccuracy, seconds: l.seconds });
        if (hold > 0 && l.epoch >= hold && l.epoch < job.train.epochs) heldAfter = l.epoch;
      },
    });
    if (!isFinished(outcome)) throw Object.assign(new Error(`stopped in epoch ${outcome.at.epoch} step ${outcome.at.step}/${outcome.at.steps} (checkpoint written)`), { code: 'E_STOPPED' });
    return { type: 'done', resumedFrom: outcome.resumedFrom, cached: outcome.status === 'cached' };
  } finally {
    await disposeBackend();
  }
}

/**
 * Test hook (ChildRequest.holdAfterEpoch = N): after epoch N's checkpoint, the next training step
 * never returns, so a test can SIGKILL the worker mid-job at a known point. The event loop stays free
 * (the IPC disconnect still ends this process). With `releaseFile` (ChildRequest.holdReleaseFile), the held step
 * goes on once that file exists, and the job does not hold again.
 */
function holdingStepper(base: StepperFactory, heldAfter: () => number, releaseFile?: string): StepperFactory {
  let released = false;
  return async (args) => {
    const st = await base(args);
    return new Proxy(st, {
      get(target, prop) {
        if (prop === 'step') {
          return async (...a: Parameters<TrainStepper['step']>) => {
            if (heldAfter() > 0 && !released) {
              await send({ type: 'held', epoch: heldAfter(), pid: process.pid });
              if (!releaseFile) await new Promise(() => undefined);
              while (!existsSync(releaseFile!)) await new Promise((r) => setTimeout(r, 100));
              released = true;
            }
            return target.step(...a);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
}
