// What travels through the queue (plain JSON): a job's data, its progress and its return value, and
// the messages between a worker and its training child process.
import type { Job } from '../reproduce/plan.js';
import type { RunSettings } from '../job/spec.js';

/** Where a job writes: `<results root>/<rel>`; a worker's `--results` replaces the submitter's root. */
export interface JobPlace {
  /** The submitter's results folder (absolute, as the submitter sees it). */
  root: string;
  /** The job's folder inside it, e.g. `jobs/<hash>`. */
  rel: string;
}

/** One `pnpm reproduce` training job: one resolved config + seed (job id = its hash). */
export interface ReproduceJobData extends JobPlace {
  kind: 'reproduce';
  label: string;
  job: Job;
  settings: RunSettings;
  /** The job's pictures (activation maps, filters: ../job/execute.ts `pictures`); absent in jobs enqueued by older versions (then settings.snapshots). */
  pictures?: RunSettings['snapshots'] | null;
  /** The submitter's data path ('' = the embedded synthetic set); a worker's `--data` replaces it. */
  data: string;
  /** dataIdentity().fingerprint of the submitter's data: a worker with other data refuses the job. */
  fingerprint: string;
  /** The submitter's `--backend` (a worker's `--backend` wins). */
  backend: string;
  /** Data-parallel worker threads per job (the submitter's `--workers`; `threads` of fer train is the native kernels' CPU threads). */
  workers: number;
  /** What jobs enqueued by older versions call {@link workers}. */
  threads?: number;
  /** The submitter's fer.config file (user models), absolute; a worker's `--config` replaces it. */
  config?: string;
}

/** One `fer sweep` job: `fer train --model <model> --set ...` into `<root>/<rel>`. */
export interface SweepJobData extends JobPlace {
  kind: 'sweep';
  label: string;
  model: string;
  data: string;
  sets: string[];
  backend: string;
  /** `fer train --preset` (absent: fer train's default). */
  preset?: string;
  /** The submitter's fer.config file (user models), absolute; a worker's `--config` replaces it. */
  config?: string;
  /** fer train --stop-after-epoch: an ASHA rung; the job is done once the history holds this many epochs. */
  stopAfterEpoch?: number;
}

export type QueueJobData = ReproduceJobData | SweepJobData;

/** `job.progress` as a worker reports it. */
export interface QueueProgress {
  worker: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss?: number;
  valAccuracy?: number;
  /** First epoch of this attempt (0 = from scratch; > 0 = resumed from a checkpoint). */
  startEpoch?: number;
}

/** A job's return value, also written to `<job folder>/queue.json`. */
export interface QueueRunInfo {
  worker: string;
  /** Seconds of the attempt that finished the job. */
  seconds: number;
  /** Attempt number (BullMQ attemptsStarted), 1 for a first run. */
  attempt: number;
  /** Epoch the finishing attempt started from (> 0: resumed from a checkpoint). */
  resumedFrom: number;
  /** The folder the worker wrote to (as the worker sees it). */
  dir: string;
  /** The job's result existed already; nothing was trained. */
  cached: boolean;
  finishedAt: string;
}

/** One line of `<job folder>/attempts.jsonl`: every attempt writes `start`, and `end` if it lives. */
export interface AttemptRecord {
  event: 'start' | 'end';
  attempt: number;
  worker: string;
  at: string;
  status?: 'done' | 'failed' | 'interrupted';
  resumedFrom?: number;
  seconds?: number;
  error?: string;
}

/** Worker -> child. */
export interface ChildRequest {
  data: QueueJobData; dir: string; backend?: string; dataPath?: string; config?: string;
  /** The attempt's fencing token (src/queue/fence.ts): checked before every write in `dir`. */
  fence?: string;
  /** Tests (QueueWorkerOptions.holdAfterEpoch): hold the job after this epoch's checkpoint. */
  holdAfterEpoch?: number;
  /** Tests (QueueWorkerOptions.holdReleaseFile): a held job goes on once this file exists (else it holds forever). */
  holdReleaseFile?: string;
}

/** Child -> worker. */
export type ChildMessage =
  | { type: 'progress'; epoch: number; epochs: number; step: number; steps: number; loss: number }
  | { type: 'epoch'; epoch: number; epochs: number; loss: number; valAccuracy: number; seconds: number }
  | { type: 'started'; startEpoch: number }
  | { type: 'held'; epoch: number; pid: number }
  | { type: 'done'; resumedFrom: number; cached: boolean }
  | { type: 'error'; code?: string; message: string; permanent: boolean };
