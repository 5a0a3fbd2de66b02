// `fer worker`: takes jobs from the BullMQ queue and trains each in a child process (so a CPU-bound
// step never stalls the lock renewal that tells the queue this worker is alive), writing into the
// shared results folder. Delivery is at-least-once: a job whose worker dies is taken again by
// another worker after the lock expires (stalled-job check) and resumes from its last checkpoint.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job as BullJob } from 'bullmq';
import { QUEUE_DEFAULTS, QUEUE_NAME, QueueError, checkRedis, closeQueueObject, createConnection, redactUrl } from './connection.js';
import { checkFence, claimJobFolder, writeFileAtomicSync } from './fence.js';
import { jobFinished } from '../job/execute.js';
import { epochsIn } from './sweep.js';
import type { AttemptRecord, ChildMessage, ChildRequest, QueueJobData, QueueProgress, QueueRunInfo, SweepJobData } from './protocol.js';

export interface QueueWorkerOptions {
  /** redis://HOST:PORT */
  url: string;
  /** Jobs at once (each its own child process). Default 1. */
  concurrency?: number;
  /** Backend for every job (else the submitter's). */
  backend?: string;
  /** This machine's path (or URL) of the data set (else the submitter's path). */
  data?: string;
  /** This machine's path of the shared results folder (else the submitter's `--out`). */
  results?: string;
  /** This machine's path of the submitter's fer.config file (user models), if it is elsewhere here. */
  config?: string;
  /** Worker name in progress and reports; default `<hostname>:<pid>`. */
  name?: string;
  /** Lock duration = stalled-check interval, ms (QUEUE_DEFAULTS.stallMs). */
  stallMs?: number;
  /** Recoveries from dead workers before a job fails (QUEUE_DEFAULTS.maxStalls). */
  maxStalls?: number;
  /**
   * Stop (done resolves) once the queue has had nothing waiting, delayed or running for this many seconds
   * (a Kubernetes Job's pods then complete). Default: run until closed.
   */
  idleExitSeconds?: number;
  /** Tests: after this epoch's checkpoint a job's next training step never returns, so a test can kill the worker mid-job. */
  holdAfterEpoch?: number;
  /** Tests: a job held by holdAfterEpoch goes on once this file exists (a fencing test lets the old attempt resume). */
  holdReleaseFile?: string;
  log?: (line: string) => void;
}

export interface QueueWorkerHandle {
  name: string;
  /** Resolves when the worker has stopped (close(), or Redis lost: then it rejects). */
  done: Promise<void>;
  /** Stops taking jobs; running jobs go back to the queue (their checkpoints stay) and the children end. */
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const harnessRoot = resolve(here, '..', '..');

/**
 * Starts a worker on the queue at `url` (E_QUEUE_UNREACHABLE within seconds if Redis is not there).
 * @example
 * const w = await startQueueWorker({ url: 'redis://127.0.0.1:6379', concurrency: 1, data: '/data/fer2013.csv.gz' });
 * process.on('SIGTERM', () => void w.close());
 */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<QueueWorkerHandle> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const concurrency = o.concurrency ?? 1;
  const stallMs = o.stallMs ?? QUEUE_DEFAULTS.stallMs;
  const maxStalls = o.maxStalls ?? QUEUE_DEFAULTS.maxStalls;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new QueueError('E_BAD_OPTION', `--concurrency ${concurrency}: expected a positive integer.`);
  if (!Number.isFinite(stallMs) || stallMs < 500) throw new QueueError('E_BAD_OPTION', `--stall-ms ${stallMs}: expected at least 500 (ms).`);
  if (!Number.isInteger(maxStalls) || maxStalls < 0) throw new QueueError('E_BAD_OPTION', `--max-stalls ${maxStalls}: expected a non-negative integer.`);
  await checkRedis(o.url);
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const children = new Set<ChildProcess>();
  let stopping = false;
  let settle!: { res: () => void; rej: (e: unknown) => void };
  const done = new Promise<void>((res, rej) => { settle = { res, rej }; });
  const conn = createConnection(o.url, {
    blocking: true,
    onEnd: () => {
      if (stopping) return;
      stopping = true;
      for (const c of children) c.kill('SIGTERM');
      settle.rej(new QueueError('E_QUEUE_UNREACHABLE', `lost Redis at ${redactUrl(o.url)} and could not reconnect; this worker stops (its jobs go back to the queue when their locks expire).`));
    },
  });

  /** Why this worker cannot do jobs (set once; the worker then leaves its jobs to others and stops). */
  let unfit: QueueError | undefined;
  const leave = async (job: BullJob<QueueJobData, QueueRunInfo>, token: string | undefined, why: string): Promise<never> => {
    if (!unfit) {
      unfit = new QueueError('E_WORKER_UNFIT', `fer worker ${name} cannot run jobs: ${why}. It left ${job.data.label} to the other workers and stops; fix this worker's options (--results, --data, --config) and start it again.`);
      log(unfit.message);
      void close(unfit);
    }
    // Back to the queue without using up an attempt (as when this worker stops).
    if (token) await job.moveToWait(token).catch(() => undefined);
    throw new WaitingError();
  };

  const processJob = async (job: BullJob<QueueJobData, QueueRunInfo>, token?: string): Promise<QueueRunInfo> => {
    const d = job.data;
    const dir = resolve(o.results ?? d.root, d.rel);
    const attempt = job.attemptsStarted || job.attemptsMade + 1;
    const t0 = performance.now();
    if (unfit) return leave(job, token, unfit.message);
    if (jobFinished(dir) || (d.kind === 'sweep' && d.stopAfterEpoch !== undefined && epochsIn(dir) >= d.stopAfterEpoch)) {
      log(`${d.label} result exists in ${dir}: not run again`);
      return { worker: name, seconds: 0, attempt, resumedFrom: 0, dir, cached: true, finishedAt: new Date().toISOString() };
    }
    // Claim the job folder (src/queue/fence.ts): an older attempt still running there stops at its next write.
    let fence: string;
    try {
      mkdirSync(dir, { recursive: true });
      fence = claimJobFolder(dir, { worker: name, attempt });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      return leave(job, token, `the results folder is not writable here (${code} while writing ${join(dir, 'attempt.json')}: ${(e as Error).message}; results ${o.results ?? `${d.root} (the submitter's --out)`})`);
    }
    const record = (r: Omit<AttemptRecord, 'attempt' | 'worker' | 'at'>) => {
      checkFence(dir, fence);
      appendFileSync(join(dir, 'attempts.jsonl'), `${JSON.stringify({ ...r, attempt, worker: name, at: new Date().toISOString() })}\n`);
    };
    record({ event: 'start' });
    log(`${d.label} attempt ${attempt}: started on ${name} (${dir})`);
    let startEpoch = 0;
    const report = (p: Omit<QueueProgress, 'worker' | 'startEpoch'>) => {
      job.updateProgress({ ...p, worker: name, startEpoch } satisfies QueueProgress).catch(() => undefined);
    };
    try {
      const r = d.kind === 'reproduce'
        ? await trainInChild(d, dir, fence, o, children, (m) => {
          if (m.type === 'started') {
            startEpoch = m.startEpoch;
            if (m.startEpoch > 0) log(`${d.label} resuming from the checkpoint of epoch ${m.startEpoch}`);
            report({ epoch: m.startEpoch, epochs: d.job.train.epochs, step: 0, steps: 0 });
          } else if (m.type === 'progress') report({ epoch: m.epoch, epochs: m.epochs, step: m.step, steps: m.steps, loss: m.loss });
          else if (m.type === 'epoch') {
            report({ epoch: m.epoch, epochs: m.epochs, step: 0, steps: 0, loss: m.loss, valAccuracy: m.valAccuracy });
            log(`${d.label} epoch ${m.epoch}/${m.epochs}: loss ${m.loss.toFixed(3)}, val acc ${(m.valAccuracy * 100).toFixed(1)}% (${m.seconds.toFixed(1)}s)`);
          } else if (m.type === 'held') log(`${d.label} held after epoch ${m.epoch} (test hook holdAfterEpoch; child pid ${m.pid})`);
        })
        : await sweepInChild(d, dir, o, children, (epoch, epochs) => report({ epoch, epochs, step: 0, steps: 0 }));
      const seconds = (performance.now() - t0) / 1000;
      const info: QueueRunInfo = { worker: name, seconds, attempt, resumedFrom: r.resumedFrom, dir, cached: r.cached, finishedAt: new Date().toISOString() };
      checkFence(dir, fence);
      writeJsonAtomic(join(dir, 'queue.json'), info);
      record({ event: 'end', status: 'done', resumedFrom: r.resumedFrom, seconds });
      log(`${d.label} done on ${name} in ${seconds.toFixed(1)}s${r.resumedFrom > 0 ? ` (resumed from epoch ${r.resumedFrom})` : ''}`);
      return info;
    } catch (e) {
      const seconds = (performance.now() - t0) / 1000;
      const msg = (e as Error).message;
      if ((e as { code?: string }).code === 'E_FENCED' || /\bE_FENCED\b/.test(msg)) {
        // A newer attempt owns the folder: write nothing there; the queue no longer counts this attempt (its lock expired).
        log(`${d.label} attempt ${attempt} on ${name} stopped: a newer attempt took the job over (its queue lock had expired); nothing written`);
        throw e;
      }
      if (stopping) {
        try { record({ event: 'end', status: 'interrupted', seconds }); } catch { /* fenced off: write nothing */ }
        // Back to the queue without using up an attempt; the next worker resumes from the checkpoint.
        if (token) await job.moveToWait(token).catch(() => undefined);
        throw new WaitingError();
      }
      const cannot = workerCannot(e);
      if (cannot) {
        try { record({ event: 'end', status: 'interrupted', seconds, error: `left to other workers: ${cannot}` }); } catch { /* fenced off */ }
        return leave(job, token, cannot);
      }
      try { record({ event: 'end', status: 'failed', seconds, error: msg.slice(0, 2000) }); } catch { /* fenced off */ }
      log(`${d.label} attempt ${attempt} FAILED on ${name}: ${msg.slice(0, 400)}`);
      if ((e as { permanent?: boolean }).permanent) throw new UnrecoverableError(msg);
      throw e;
    }
  };

  const worker = new Worker<QueueJobData, QueueRunInfo>(QUEUE_NAME, processJob, {
    connection: conn, concurrency, name, lockDuration: stallMs, stalledInterval: stallMs, maxStalledCount: maxStalls,
  });
  worker.on('error', (e) => { if (!stopping) log(`fer worker ${name}: queue error: ${e.message}`); });
  await worker.waitUntilReady();
  log(`fer worker ${name}: ready on ${redactUrl(o.url)} (queue ${QUEUE_NAME}, concurrency ${concurrency}, backend ${o.backend ?? "the submitter's"}, data ${o.data ?? "the submitter's path"}, results ${o.results ?? "the submitter's --out"}, lock/stall check ${stallMs} ms)`);

  let idleTimer: NodeJS.Timeout | undefined;
  let idleQueue: Queue | undefined;
  let idleConn: ReturnType<typeof conn.duplicate> | undefined;
  const close = async (failure?: QueueError) => {
    if (stopping) return done.catch(() => undefined);
    stopping = true;
    clearTimeout(idleTimer);
    for (const c of children) c.kill('SIGTERM');
    await worker.close();
    if (idleQueue) await closeQueueObject(idleQueue, idleConn);
    conn.disconnect();
    if (failure) {
      settle.rej(failure);
      return done.catch(() => undefined);
    }
    settle.res();
    return done;
  };
  if (o.idleExitSeconds !== undefined) {
    // NOTE: the queue as a whole must be idle (not just this worker), so a retry waiting out its backoff still finds a worker.
    idleConn = conn.duplicate();
    idleQueue = new Queue(QUEUE_NAME, { connection: idleConn });
    let idleSince = performance.now();
    const check = async () => {
      const c = await idleQueue!.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused').catch(() => undefined);
      const busy = !c || Object.values(c).some((n) => n > 0) || children.size > 0;
      if (busy) idleSince = performance.now();
      else if (performance.now() - idleSince >= o.idleExitSeconds! * 1000) {
        log(`fer worker ${name}: the queue has been idle for ${o.idleExitSeconds}s, stopping (--idle-exit)`);
        void close();
        return;
      }
      if (!stopping) idleTimer = setTimeout(() => void check(), Math.min(2000, Math.max(200, o.idleExitSeconds! * 250)));
    };
    void check();
  }
  void done.catch(async () => { await worker.close(true).catch(() => undefined); conn.disconnect(); });
  return { name, done, close: () => close() };
}

/** Writes JSON via a temporary file and rename, so readers never see half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomicSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

// --- Internal helpers ---

type Failure = Error & { permanent?: boolean };

/**
 * Why this worker (not the job) cannot run a job, from the failure: its results folder is not writable
 * (EACCES, EROFS, EPERM), or a model of the job is not in its registry (a missing or other `--config`).
 * Another worker may well run it. Undefined for a failure of the job itself.
 */
export function workerCannot(e: unknown): string | undefined {
  const msg = (e as Error)?.message ?? String(e);
  const code = (e as { code?: string })?.code;
  if (code === 'E_UNKNOWN_MODEL' || /\bE_UNKNOWN_MODEL\b/.test(msg)) return `a model of the job is not known here (a fer.config model: start the worker with --config PATH, or check that the submitter's file exists here): ${firstLine(msg)}`;
  if (code === 'E_BAD_CONFIG_FILE' || /\bE_BAD_CONFIG_FILE\b/.test(msg)) return `the job's fer.config file does not load here (fer worker --config PATH gives this machine's path): ${firstLine(msg)}`;
  const fsCode = /\b(EACCES|EROFS|EPERM)\b/.exec(msg);
  if (fsCode) return `the results folder is not writable here (${fsCode[1]}): ${firstLine(msg)}`;
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim())?.slice(0, 400) ?? s.slice(0, 400);
}

function trainInChild(d: QueueJobData, dir: string, fence: string, o: QueueWorkerOptions, children: Set<ChildProcess>, onMessage: (m: ChildMessage) => void): Promise<{ resumedFrom: number; cached: boolean }> {
  const execArgv = process.execArgv.includes('tsx') ? process.execArgv : [...process.execArgv, '--conditions=@fer/source', '--import', 'tsx'];
  const child = fork(join(here, '_child.ts'), [], { cwd: harnessRoot, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  const req: ChildRequest = { data: d, dir, fence, ...(o.backend ? { backend: o.backend } : {}), ...(o.data !== undefined ? { dataPath: o.data } : {}), ...(o.config ? { config: o.config } : {}), ...(o.holdAfterEpoch ? { holdAfterEpoch: o.holdAfterEpoch } : {}), ...(o.holdReleaseFile ? { holdReleaseFile: o.holdReleaseFile } : {}) };
  return new Promise((res, rej) => {
    let result: { resumedFrom: number; cached: boolean } | undefined;
    let failure: Failure | undefined;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'done') result = { resumedFrom: m.resumedFrom, cached: m.cached };
      else if (m.type === 'error') failure = Object.assign(new Error(m.code && !m.message.includes(m.code) ? `${m.code}: ${m.message}` : m.message), { permanent: m.permanent });
      else onMessage(m);
    });
    child.on('error', (e) => { failure ??= e; });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (result && code === 0) res(result);
      else rej(failure ?? new Error(`the training process of ${d.label} exited with ${signal ? `signal ${signal}` : `code ${code}`} before finishing (out of memory? see the worker's log).`));
    });
    child.send(req);
  });
}

function sweepInChild(d: SweepJobData, dir: string, o: QueueWorkerOptions, children: Set<ChildProcess>, onEpoch: (epoch: number, epochs: number) => void): Promise<{ resumedFrom: number; cached: boolean }> {
  const resume = existsSync(join(dir, 'checkpoints'));
  const data = o.data ?? d.data;
  const args = ['--conditions=@fer/source', '--import', 'tsx', join(harnessRoot, 'src', 'cli.ts'), 'train', '--model', d.model, '--out', dir, '--backend', o.backend ?? d.backend];
  if (data) args.push('--data', data);
  if (d.preset) args.push('--preset', d.preset);
  const config = o.config ?? d.config;
  if (config) args.push('--config', config);
  for (const s of d.sets) args.push('--set', s);
  if (d.stopAfterEpoch !== undefined) args.push('--stop-after-epoch', String(d.stopAfterEpoch));
  if (resume) args.push('--resume');
  // A sweep's trial reads PublicTest only (selection); PrivateTest is never read.
  args.push('--withhold-test');
  const child = spawn(process.execPath, args, { cwd: harnessRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  return new Promise((res, rej) => {
    let tail = '';
    let resumedFrom = 0;
    const keep = (b: Buffer) => {
      const s = b.toString();
      tail = (tail + s).slice(-4000);
      for (const m of s.matchAll(/epoch (\d+)\/(\d+)/g)) onEpoch(Number(m[1]), Number(m[2]));
      const r = /resum\w* from (?:the checkpoint of )?epoch (\d+)/i.exec(s);
      if (r) resumedFrom = Number(r[1]);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', rej);
    child.on('exit', (code, signal) => {
      children.delete(child);
      try { writeFileSync(join(dir, 'train.log'), tail); } catch { /* the folder may be gone */ }
      if (code === 0) res({ resumedFrom, cached: false });
      else rej(new Error(`fer train exited with ${signal ? `signal ${signal}` : `code ${code}`}: ${tail.slice(-600)}`));
    });
  });
}
