// The submitting side of `pnpm reproduce --queue URL`: enqueue every training job of the plan (job id =
// the job's config hash, so a job enqueued twice runs once; a job whose result is already in the
// shared results folder is not enqueued), then wait for them, showing progress per job and overall.
// `run` is a drop-in for job/execute.ts `executeJob`: run.ts calls it per job, in plan order.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Queue, QueueEvents, type Job as BullJob } from 'bullmq';
import type { executeJob, JobOutcome, JobProgress } from '../job/execute.js';
import type { Job, Plan } from '../reproduce/plan.js';
import type { RunSettings } from '../job/spec.js';
import { QUEUE_DEFAULTS, QUEUE_NAME, QueueError, checkRedis, closeQueueObject, createConnection, redactUrl } from './connection.js';
import type { QueueJobData, QueueProgress, QueueRunInfo, ReproduceJobData } from './protocol.js';

export interface QueueRunnerOptions {
  /** redis://HOST:PORT */
  url: string;
  plan: Plan;
  /** The shared results folder (the workers write `jobs/<hash>/` there). */
  outDir: string;
  /** The data path the workers get by default, made absolute here ('' = the embedded synthetic set). */
  data: string;
  /** dataIdentity(ds).fingerprint: workers with other data refuse the jobs. */
  fingerprint: string;
  backend: string;
  /** Data-parallel worker threads per job (reproduce --workers). */
  workers: number;
  /** The fer.config file that registered user models (src/project.ts): workers load it too. */
  config?: string;
  /** Attempts before a throwing job ends as failed (QUEUE_DEFAULTS.attempts). */
  attempts?: number;
  /** The pictures a job draws (../job/execute.ts `pictures`), by job; default none. */
  pictures?: (job: Job) => RunSettings['snapshots'] | undefined;
  /** How often the jobs that changed (queue events) are read, ms (default 1000). */
  pollMs?: number;
  /**
   * Jobs re-read per poll whatever the events said (round robin over the unsettled ones), so a missed event
   * (a reconnect, a trimmed event stream) is caught up (default 20). Redis work per poll is bounded by this
   * plus the jobs that changed, not by the number of queued jobs.
   */
  reconcilePerPoll?: number;
  log: (line: string) => void;
}

export interface QueueRunner {
  /**
   * Waits for one job of the plan (enqueued by createQueueRunner) and returns its outcome, like executeJob. When
   * `args.stop` aborts (--hours, Ctrl-C), stops waiting: the job comes back 'in progress' (it goes on on
   * its worker; the same command run again collects it) and the connection closes.
   */
  run: (args: Parameters<typeof executeJob>[0]) => Promise<JobOutcome | JobProgress>;
  /** What enqueueing did: job hashes newly added, already in the queue, already finished (result on disk). */
  enqueued: { added: string[]; queued: string[]; finished: string[] };
  /** Stops waiting and closes the connection (done by itself once every job has settled). */
  close(): Promise<void>;
  /** Polls done and jobs read so far (a job read = getJob + getState). */
  stats: { polls: number; reads: number };
}

type Settled = { ok: true; outcome: JobOutcome } | { ok: false; error: string; attempts: number };

/**
 * Enqueues the plan's jobs and starts following them.
 * @example
 * const q = await createQueueRunner({ url: 'redis://127.0.0.1:6379', plan, outDir, data: '', fingerprint, backend: 'auto', workers: 1, log: console.log });
 * for (const job of plan.jobs) outcomes.set(job.hash, await q.run({ job, ... }));
 */
export async function createQueueRunner(o: QueueRunnerOptions): Promise<QueueRunner> {
  const attempts = o.attempts ?? QUEUE_DEFAULTS.attempts;
  const dataPath = o.data && !/^[a-z][a-z0-9+.-]*:\/\//i.test(o.data) ? resolve(o.data) : o.data;
  if (!Number.isInteger(attempts) || attempts < 1) throw new QueueError('E_BAD_OPTION', `--attempts ${attempts}: expected a positive integer.`);
  const url = redactUrl(o.url);
  await checkRedis(o.url);
  let lost = false;
  const conn = createConnection(o.url, { blocking: false, onEnd: () => { lost = true; } });
  const queue = new Queue<QueueJobData, QueueRunInfo>(QUEUE_NAME, { connection: conn });
  const jobs = o.plan.jobs;
  const labels = new Map(jobs.map((j, k) => [j.hash, `[${k + 1}/${jobs.length}] ${j.model.name} seed ${j.seed} (${j.hash})`]));
  const resultFile = (hash: string) => join(o.outDir, 'jobs', hash, 'result.json');
  const enqueued: QueueRunner['enqueued'] = { added: [], queued: [], finished: [] };
  try {
    for (const j of jobs) {
      if (existsSync(resultFile(j.hash))) { enqueued.finished.push(j.hash); continue; }
      const old = await queue.getJob(j.hash);
      if (old) {
        const state = await old.getState();
        if (state !== 'failed' && state !== 'completed') { enqueued.queued.push(j.hash); continue; }
        // Failed before (retry it now) or finished without a result here (deleted: run it again).
        await old.remove();
      }
      const data: ReproduceJobData = {
        kind: 'reproduce', label: labels.get(j.hash)!, job: j, settings: o.plan.settings, pictures: o.pictures?.(j) ?? null, root: o.outDir, rel: join('jobs', j.hash),
        data: dataPath, fingerprint: o.fingerprint, backend: o.backend, workers: o.workers, ...(o.config ? { config: o.config } : {}),
      };
      await queue.add(j.model.name, data, { jobId: j.hash, attempts, backoff: { type: 'exponential', delay: QUEUE_DEFAULTS.backoffMs }, removeOnComplete: false, removeOnFail: false });
      enqueued.added.push(j.hash);
    }
  } catch (e) {
    await closeQueueObject(queue, conn);
    throw e instanceof QueueError ? e : new QueueError('E_QUEUE_UNREACHABLE', `enqueueing on ${url} failed: ${(e as Error).message}`, { cause: e });
  }
  o.log(`queue ${url}: ${enqueued.added.length} job(s) enqueued, ${enqueued.queued.length} already in the queue, ${enqueued.finished.length} finished before (results in ${join(o.outDir, 'jobs')})`);

  // --- Following the jobs: queue events mark the jobs that changed; one poll loop reads only those (and a few
  // others round robin), so the Redis work does not grow with the number of queued jobs (issue 22, item 12). ---
  const tracked = new Set(jobs.map((j) => j.hash));
  const dirty = new Set<string>(jobs.map((j) => j.hash).filter((h) => !enqueued.finished.includes(h)));
  const states = new Map<string, string>();
  const stats = { polls: 0, reads: 0 };
  let reconcileAt = 0;
  const eventsConn = createConnection(o.url, { blocking: true });
  const events = new QueueEvents(QUEUE_NAME, { connection: eventsConn });
  const mark = ({ jobId }: { jobId: string }) => { if (tracked.has(jobId) && !settled.has(jobId)) dirty.add(jobId); };
  for (const ev of ['active', 'progress', 'completed', 'failed', 'waiting', 'delayed', 'removed', 'stalled', 'retries-exhausted'] as const) events.on(ev, mark as never);
  events.on('error', () => undefined);
  const settled = new Map<string, Settled>();
  const waiters = new Map<string, ((s: Settled) => void)[]>();
  const seen = new Map<string, string>();
  const lastProgress = new Map<string, Partial<QueueProgress>>();
  let overall = '';
  let closed = false;
  let polls = 0;
  let allDone!: () => void;
  const everything = new Promise<void>((res) => { allDone = res; });
  const settle = (hash: string, s: Settled) => {
    if (settled.has(hash)) return;
    settled.set(hash, s);
    for (const w of waiters.get(hash) ?? []) w(s);
    if (settled.size === jobs.length) void close();
  };
  for (const h of enqueued.finished) settle(h, { ok: true, outcome: readOutcome(h, true) });

  function readOutcome(hash: string, cached: boolean): JobOutcome {
    const dir = join(o.outDir, 'jobs', hash);
    const outcome = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as JobOutcome;
    const info = existsSync(join(dir, 'queue.json')) ? (JSON.parse(readFileSync(join(dir, 'queue.json'), 'utf8')) as QueueRunInfo) : undefined;
    return {
      ...outcome, status: cached || info?.cached ? 'cached' : 'trained',
      ...(info ? { worker: { name: info.worker, seconds: info.seconds, attempt: info.attempt, resumedFrom: info.resumedFrom } } : {}),
    };
  }

  async function pollOne(hash: string): Promise<{ state: string; worker?: string }> {
    stats.reads++;
    const job = (await queue.getJob(hash)) as BullJob<QueueJobData, QueueRunInfo> | undefined;
    if (!job) {
      settle(hash, { ok: false, error: `the job is no longer in the queue ${url}: removed by someone (e.g. an obliterate), or Redis restarted without persistence and lost it. Run the same command again: it enqueues the jobs without a result again`, attempts: 0 });
      return { state: 'failed' };
    }
    const state = await job.getState();
    const label = labels.get(hash)!;
    if (state === 'completed') {
      const rv = job.returnvalue;
      if (!existsSync(resultFile(hash))) {
        settle(hash, { ok: false, attempts: job.attemptsMade, error: `E_RESULT_MISSING: finished on worker ${rv?.worker ?? '?'}, which wrote to ${rv?.dir ?? '?'}, but ${resultFile(hash)} does not exist. The workers' --results and reproduce's --out must be the same shared folder (e.g. an NFS mount), as each machine sees it.` });
        return { state: 'failed' };
      }
      const outcome = readOutcome(hash, false);
      o.log(`${label}: done on ${outcome.worker?.name ?? rv?.worker ?? '?'} in ${fmt(outcome.worker?.seconds ?? 0)}${outcome.resumedFrom > 0 ? ` (resumed from the checkpoint of epoch ${outcome.resumedFrom})` : ''}`);
      settle(hash, { ok: true, outcome });
      return { state };
    }
    if (state === 'failed') {
      const reason = job.failedReason || 'no reason recorded';
      o.log(`${label}: FAILED after ${job.attemptsMade} attempt(s): ${reason.slice(0, 300)}`);
      settle(hash, { ok: false, error: reason, attempts: job.attemptsMade });
      return { state };
    }
    const p = (typeof job.progress === 'object' ? job.progress : {}) as Partial<QueueProgress>;
    lastProgress.set(hash, p);
    const line = state === 'active' && p.worker
      ? `${label}: running on ${p.worker}, epoch ${p.epoch ?? 0}/${p.epochs ?? '?'}${p.valAccuracy !== undefined ? `, val acc ${(p.valAccuracy * 100).toFixed(1)}%` : ''}${p.startEpoch ? ` (resumed from epoch ${p.startEpoch})` : ''}${job.attemptsStarted > 1 ? `, attempt ${job.attemptsStarted}` : ''}`
      : `${label}: ${state}${job.attemptsMade > 0 ? ` (retry after ${job.attemptsMade} failed attempt(s): ${(job.failedReason ?? '').slice(0, 160)})` : ''}`;
    if (seen.get(hash) !== line) { seen.set(hash, line); o.log(line); }
    return { state, worker: p.worker };
  }

  const poll = async () => {
    if (closed) return;
    polls++;
    stats.polls++;
    try {
      const open = jobs.filter((j) => !settled.has(j.hash));
      // A few jobs re-read whatever the events said (round robin), so a missed event is caught up.
      for (let k = 0; k < Math.min(o.reconcilePerPoll ?? 20, open.length); k++) dirty.add(open[(reconcileAt + k) % open.length].hash);
      reconcileAt = open.length ? (reconcileAt + (o.reconcilePerPoll ?? 20)) % open.length : 0;
      const todo = [...dirty];
      dirty.clear();
      for (const h of todo) {
        if (settled.has(h)) continue;
        const { state } = await pollOne(h);
        states.set(h, state);
      }
      const counts: Record<string, number> = {};
      for (const j of jobs) if (!settled.has(j.hash)) { const st = states.get(j.hash) ?? 'waiting'; counts[st] = (counts[st] ?? 0) + 1; }
      const ok = [...settled.values()].filter((s) => s.ok).length;
      const line = `queue: ${ok}/${jobs.length} done, ${counts.active ?? 0} running, ${(counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0)} waiting, ${settled.size - ok} failed`;
      if (line !== overall) { overall = line; o.log(line); }
      if (polls % 30 === 1 && !counts.active && settled.size < jobs.length && (await queue.getWorkersCount()) === 0) {
        o.log(`queue: no fer worker is connected to ${url}; start some: pnpm fer worker --queue ${url} (see docs/distributed.md)`);
      }
    } catch (e) {
      if (lost || conn.status === 'end') {
        for (const j of jobs) settle(j.hash, { ok: false, attempts: 0, error: `E_QUEUE_UNREACHABLE: lost Redis at ${url} while waiting (${(e as Error).message}); the jobs go on on the workers, run the same command again to collect them` });
        return;
      }
      o.log(`queue: reading job states failed (${(e as Error).message}); trying again`);
    }
    if (!closed && settled.size < jobs.length) setTimeout(() => void poll(), o.pollMs ?? 1000);
  };
  void poll();

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    allDone();
    await closeQueueObject(events, eventsConn);
    await closeQueueObject(queue, conn);
  }

  const run = async (args: Parameters<typeof executeJob>[0]): Promise<JobOutcome | JobProgress> => {
    const hash = args.job.hash;
    if (!labels.has(hash)) throw new QueueError('E_BAD_OPTION', `job ${hash} is not in the plan this queue runner enqueued.`);
    const stop = args.stop;
    const s = settled.get(hash) ?? (await new Promise<Settled | 'stopped'>((res) => {
      waiters.set(hash, [...(waiters.get(hash) ?? []), res]);
      if (stop?.aborted) res('stopped');
      else stop?.addEventListener('abort', () => res('stopped'), { once: true });
    }));
    if (s === 'stopped') {
      if (!closed) o.log(`queue: stopped waiting; ${jobs.length - settled.size} job(s) go on on the workers (or wait for one): run the same command again to collect them`);
      await close();
      const p = lastProgress.get(hash) ?? {};
      return { hash, model: args.job.model.name, seed: args.job.seed, epochs: args.job.train.epochs, status: 'in progress', at: { epoch: p.epoch ?? 0, step: p.step ?? 0, steps: p.steps ?? 0 }, history: [], wallSeconds: 0, paused: false };
    }
    if (s.ok) return s.outcome;
    // Let every other job finish first, then name all the failed ones.
    await everything;
    const failed = jobs.filter((j) => settled.get(j.hash)?.ok === false);
    const lines = failed.map((j) => {
      const f = settled.get(j.hash) as Extract<Settled, { ok: false }>;
      return `${labels.get(j.hash)} failed after ${f.attempts} attempt(s): ${f.error.slice(0, 600)}`;
    });
    throw new QueueError('E_JOBS_FAILED', `${failed.length} of ${jobs.length} job(s) failed on the queue ${url}:\n  ${lines.join('\n  ')}\nThe other jobs' results are in ${join(o.outDir, 'jobs')}; fix the cause and run the same command again (finished jobs are not run again, failed ones are retried).`);
  };
  return { run, enqueued, close, stats };
}

const fmt = (s: number) => (s < 90 ? `${s.toFixed(1)}s` : s < 5400 ? `${(s / 60).toFixed(1)}min` : `${(s / 3600).toFixed(1)}h`);
