// `fer sweep --queue URL`: each run of a trial (`fer train --model M --set ... [--stop-after-epoch N]` into
// <out>/trials/<key>) goes to the BullMQ queue that `fer worker`s take jobs from; runSweep's `runTrial` enqueues
// one and waits for it. Job id = a hash of the run's config (model, preset, overrides, data, backend, the epoch it
// pauses at), so a run enqueued twice runs once; a trial whose results are already in the shared folder is never
// enqueued (runSweep answers it from the folder first).
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { TrialRunner } from '../sweep/run.js';
import { hashConfig } from '../job/hash.js';
import { jobFinished } from '../job/execute.js';
import { QUEUE_DEFAULTS, QUEUE_NAME, QueueError, checkRedis, closeQueueObject, createConnection, redactUrl } from './connection.js';
import type { QueueJobData, QueueProgress, QueueRunInfo, SweepJobData } from './protocol.js';

export interface SweepQueueOptions {
  url: string;
  model: string;
  /** The data path ('' or undefined: the worker's FER2013_PATH, else synthetic). */
  data?: string;
  backend: string;
  /** fer train --preset of every job (default paper). */
  preset?: string;
  /** The sweep's fer.config file (user models), absolute: every worker's `fer train` child gets it (a worker's `--config` replaces it). */
  config?: string;
  /** The sweep's output folder: the workers' shared results folder. */
  out: string;
  attempts?: number;
  pollMs?: number;
  log: (line: string) => void;
}

/**
 * A `runTrial` for runSweep that runs each trial on the queue's workers.
 * @example
 * const q = await createSweepQueue({ url, model: 'paper-shallow', backend: 'auto', out, log });
 * try { await runSweep({ model, out, trials: 24, sample, parallel: 24, runTrial: q.runTrial }); } finally { await q.close(); }
 */
export async function createSweepQueue(o: SweepQueueOptions): Promise<{ runTrial: TrialRunner; close: () => Promise<void> }> {
  await checkRedis(o.url);
  const url = redactUrl(o.url);
  const attempts = o.attempts ?? QUEUE_DEFAULTS.attempts;
  const conn = createConnection(o.url, { blocking: false });
  const queue = new Queue<QueueJobData, QueueRunInfo>(QUEUE_NAME, { connection: conn });
  const data = o.data && !/^[a-z][a-z0-9+.-]*:\/\//i.test(o.data) ? resolve(o.data) : o.data ?? '';
  const runTrial: TrialRunner = async (t): Promise<void> => {
    const { sets, dir } = t;
    const until = t.stopAfterEpoch;
    const id = `sweep-${hashConfig({ kind: 'sweep', model: o.model, sets, data, backend: o.backend, ...(o.preset && o.preset !== 'paper' ? { preset: o.preset } : {}), ...(o.config ? { config: o.config } : {}), ...(until !== undefined ? { until } : {}) })}`;
    const label = `trial ${t.key}${until !== undefined ? ` to epoch ${until}` : ''} (${id})`;
    const old = await queue.getJob(id);
    const state = old ? await old.getState() : undefined;
    if (old && (state === 'failed' || state === 'completed')) await old.remove();
    if (!old || state === 'failed' || state === 'completed') {
      const d: SweepJobData = { kind: 'sweep', label, model: o.model, data, sets, backend: o.backend, root: o.out, rel: relative(o.out, dir), ...(o.preset ? { preset: o.preset } : {}), ...(o.config ? { config: o.config } : {}), ...(until !== undefined ? { stopAfterEpoch: until } : {}) };
      await queue.add(o.model, d, { jobId: id, attempts, backoff: { type: 'exponential', delay: QUEUE_DEFAULTS.backoffMs }, removeOnComplete: false, removeOnFail: false });
      o.log(`[queue] ${label}: enqueued on ${url}`);
    } else o.log(`[queue] ${label}: already in the queue (${state})`);
    let seen = '';
    for (;;) {
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      // NOTE: a stopping sweep stops waiting; the run goes on on its worker and its results are kept for the next sweep.
      if (t.stop.aborted) return;
      const j = await queue.getJob(id);
      if (!j) throw new QueueError('E_JOBS_FAILED', `${label}: the job was removed from the queue by someone else.`);
      const st = await j.getState();
      if (st === 'completed') {
        if (!jobFinished(dir) && !(until !== undefined && epochsIn(dir) >= until)) throw new QueueError('E_RESULT_MISSING', `${label} finished on worker ${j.returnvalue?.worker ?? '?'}, which wrote to ${j.returnvalue?.dir ?? '?'}, but ${join(dir, 'result.json')} does not exist. The workers' --results and the sweep's --out must be the same shared folder.`);
        o.log(`[queue] ${label}: done on ${j.returnvalue?.worker ?? '?'}`);
        return;
      }
      if (st === 'failed') throw new QueueError('E_JOBS_FAILED', `${label} failed after ${j.attemptsMade} attempt(s) on the queue: ${j.failedReason}`);
      const p = (typeof j.progress === 'object' ? j.progress : {}) as Partial<QueueProgress>;
      const line = st === 'active' && p.worker ? `running on ${p.worker}, epoch ${p.epoch ?? 0}/${p.epochs ?? '?'}` : st;
      if (line !== seen) { seen = line; o.log(`[queue] ${label}: ${line}`); }
    }
  };
  return { runTrial, close: () => closeQueueObject(queue, conn) };
}

/** Epochs in a run folder's history.json (0 when there is none). */
export function epochsIn(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as unknown[]).length;
  } catch {
    return 0;
  }
}
