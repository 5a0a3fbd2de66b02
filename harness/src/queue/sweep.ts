// `fer sweep --queue URL`: each sweep job (`fer train --model M --set ...` into <out>/jobs/<id>) goes to
// the BullMQ queue that `fer worker`s take jobs from; runSweep's `runJob` enqueues one job and waits
// for it. Job id = a hash of the job's config (model, overrides, data, backend), so a job enqueued
// twice runs once; a job with metrics.json already in the shared folder is never enqueued (runSweep
// skips it first).
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { SweepJob } from '../commands/sweep.js';
import { hashConfig } from '../reproduce/hash.js';
import { QUEUE_DEFAULTS, QUEUE_NAME, QueueError, checkRedis, createConnection, redactUrl } from './connection.js';
import type { QueueJobData, QueueProgress, QueueRunInfo, SweepJobData } from './protocol.js';

export interface SweepQueueOptions {
  url: string;
  model: string;
  /** The data path ('' or undefined: the worker's FER2013_PATH, else synthetic). */
  data?: string;
  backend: string;
  /** `fer train --preset` of every job (default: fer train's). */
  preset?: string;
  /** The sweep's fer.config file (user models), absolute: every worker's `fer train` child gets it (a worker's `--config` replaces it). */
  config?: string;
  /** Overrides shared by every job (before the job's own). */
  baseSets: string[];
  /** The sweep's output folder: the workers' shared results folder. */
  out: string;
  attempts?: number;
  pollMs?: number;
  log: (line: string) => void;
}

/**
 * A `runJob` for runSweep that runs each job on the queue's workers.
 * @example
 * const q = await createSweepQueue({ url, model: 'paper-shallow', backend: 'auto', baseSets: [], out, log });
 * try { await runSweep({ model, jobs, out, parallel: jobs.length, runJob: q.runJob }); } finally { await q.close(); }
 */
export async function createSweepQueue(o: SweepQueueOptions): Promise<{ runJob: (job: SweepJob, dir: string) => Promise<void>; close: () => Promise<void> }> {
  await checkRedis(o.url);
  const url = redactUrl(o.url);
  const attempts = o.attempts ?? QUEUE_DEFAULTS.attempts;
  const conn = createConnection(o.url, { blocking: false });
  const queue = new Queue<QueueJobData, QueueRunInfo>(QUEUE_NAME, { connection: conn });
  const data = o.data && !/^[a-z][a-z0-9+.-]*:\/\//i.test(o.data) ? resolve(o.data) : o.data ?? '';
  const runJob = async (job: SweepJob, dir: string): Promise<void> => {
    const sets = [...o.baseSets, ...job.sets];
    const extra = { ...(o.preset ? { preset: o.preset } : {}), ...(o.config ? { config: o.config } : {}) };
    const id = `sweep-${hashConfig({ kind: 'sweep', model: o.model, sets, data, backend: o.backend, ...extra })}`;
    const label = `${job.id} (${id})`;
    const old = await queue.getJob(id);
    const state = old ? await old.getState() : undefined;
    if (old && (state === 'failed' || state === 'completed')) await old.remove();
    if (!old || state === 'failed' || state === 'completed') {
      const d: SweepJobData = { kind: 'sweep', label, model: o.model, data, sets, backend: o.backend, root: o.out, rel: relative(o.out, dir), ...extra };
      await queue.add(o.model, d, { jobId: id, attempts, backoff: { type: 'exponential', delay: QUEUE_DEFAULTS.backoffMs }, removeOnComplete: false, removeOnFail: false });
      o.log(`[queue] ${label}: enqueued on ${url}`);
    } else o.log(`[queue] ${label}: already in the queue (${state})`);
    let seen = '';
    for (;;) {
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      const j = await queue.getJob(id);
      if (!j) throw new QueueError('E_JOBS_FAILED', `${label}: the job was removed from the queue by someone else.`);
      const st = await j.getState();
      if (st === 'completed') {
        if (!existsSync(join(dir, 'metrics.json'))) throw new QueueError('E_RESULT_MISSING', `${label} finished on worker ${j.returnvalue?.worker ?? '?'}, which wrote to ${j.returnvalue?.dir ?? '?'}, but ${join(dir, 'metrics.json')} does not exist. The workers' --results and the sweep's --out must be the same shared folder.`);
        o.log(`[queue] ${label}: done on ${j.returnvalue?.worker ?? '?'}`);
        return;
      }
      if (st === 'failed') throw new QueueError('E_JOBS_FAILED', `${label} failed after ${j.attemptsMade} attempt(s) on the queue: ${j.failedReason}`);
      const p = (typeof j.progress === 'object' ? j.progress : {}) as Partial<QueueProgress>;
      const line = st === 'active' && p.worker ? `running on ${p.worker}, epoch ${p.epoch ?? 0}/${p.epochs ?? '?'}` : st;
      if (line !== seen) { seen = line; o.log(`[queue] ${label}: ${line}`); }
    }
  };
  return { runJob, close: async () => { await queue.close().catch(() => undefined); conn.disconnect(); } };
}
