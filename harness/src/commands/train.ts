import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { splitIndices } from '@fer/data';
import { confusionMatrix } from '@fer/metrics';
import { localStepper, type ProgressEvent } from '@fer/models';
import { backendLine, backendName, startBackend } from '../backend.js';
import { intFlag, SHARED_ARGS } from '../flags.js';
import { DATA_FLAG_ARGS, dataFlags, dataFlagsArgv, resolveData, type DataFlags } from '../data.js';
import { lockFolder, type FolderLock } from '../lock.js';
import { checkpointsDir, executeJob, isFinished, JOB_FILES, type JobOutcome, type JobProgress } from '../job/execute.js';
import { parseOverrides } from '../job/overrides.js';
import { prepareData, rowSets } from '../job/prepare.js';
import { resolveTrainJob, scaledConfig, TRAIN_SETTINGS } from '../job/resolve.js';
import { stepperFor } from '../job/stepper.js';
import { createStopControl, holdAfterSteps, trainContinueCommand } from '../job/stop.js';
import { testHoldAfterSteps } from './_test-hooks.js';
import { loadProject, requireModel } from '../project.js';
import { fileError, removeStaleTempFiles } from '../job/files.js';
import { createProgressRenderer, FerCliError, formatSeconds } from './_models-common.js';
import { plural } from '../format.js';

/** Options of {@link runTrain} (what `fer train` parses). */
export interface RunTrainOptions {
  model: string;
  data?: string;
  /** `--set key=value` overrides (the one grammar of src/job/overrides.ts). */
  sets?: string[];
  /** Budget of `pnpm reproduce` whose settings the run takes: smoke | quick | paper (default: paper, the model's own recipe). */
  preset?: string;
  /** A fer.config file registering user models (default fer.config.* in the current folder). */
  config?: string;
  out: string;
  backend?: string;
  workers?: number;
  /** CPU threads of the native kernels (@fer/engine initBackend `threads`); default one per core. */
  threads?: number;
  resume?: boolean;
  /** Delete another run's files in `out` first (a fresh run into a folder holding a run throws E_RUN_EXISTS otherwise). */
  overwrite?: boolean;
  /** --skip-bad-rows, --drop-test-duplicates, --split-seed (src/data.ts). */
  dataFlags?: DataFlags;
  /** Stop at the next training step after this many hours, with a checkpoint; the command that continues is printed. */
  hours?: number;
  /** Stop like --hours on SIGINT / SIGTERM (the CLI sets it). */
  handleSignals?: boolean;
  /** An outside stop (tests, embedding programs): aborting it stops the run like --hours. */
  stopSignal?: AbortSignal;
  /** The backend's details, not just its one line. */
  verbose?: boolean;
  /** A run whose ETA is longer than this many seconds says so, with how to stop and continue it (default {@link LONG_RUN_SECONDS}). */
  longRunSeconds?: number;
  log?: (line: string) => void;
  onProgress?: (p: ProgressEvent) => void;
  /** End after this epoch of the full schedule (@fer/models train `stopAfterEpoch`; fer sweep's rungs), unfinished (metrics null). */
  stopAfterEpoch?: number;
  /** Never read PrivateTest (fer sweep's trials; `--withhold-test`): the result has no test accuracy. */
  withholdTest?: boolean;
  /** Tests: hold after this many training steps until a stop arrives (so a test can stop a run mid-epoch). */
  holdAfterSteps?: number;
}

/** What {@link runTrain} gives: the job's outcome and metrics when it finished, else its progress and the command that continues. */
export type TrainRun =
  | { metrics: TrainMetrics; outcome: JobOutcome; hash: string; stopped?: undefined }
  | { metrics: null; outcome: JobProgress; hash: string; stopped: { reason: string; command: string } };

/** A run that ETA says takes longer than this gets a word up front on how to stop and continue it. */
export const LONG_RUN_SECONDS = 3600;

/** The PublicTest metrics `fer train` prints and returns (from the job's result.json). */
export interface TrainMetrics {
  model: string;
  split: 'PublicTest';
  accuracy: number;
  rows: number;
  perClass: { name: string; recall: number; support: number }[];
  bestEpoch: number | null;
  epochs: number;
  trainSeconds: number;
  backend: string;
  synthetic: boolean;
  trainRows: number;
}

export { resolveTrainJob };

/**
 * `fer train`: resolves the job (../job/resolve.ts, as `pnpm reproduce` resolves a table row: same inputs, same
 * hash), executes it into `out` (../job/execute.ts: the one folder layout of a job) and prints the result. A fresh
 * run into a folder holding another run throws E_RUN_EXISTS unless `overwrite`; `resume` refuses checkpoints of
 * another config.
 */
export async function runTrain(o: RunTrainOptions): Promise<TrainRun> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  // Ctrl-C, SIGTERM and --hours stop at the next step with a checkpoint (the one mechanism of pnpm reproduce, ../job/stop.ts).
  const stop = createStopControl({ hours: o.hours, handleSignals: o.handleSignals, signal: o.stopSignal, log, writes: 'a checkpoint' });
  // One writer per run folder (src/lock.ts): taken in prepareRunFolder before anything there is touched.
  const held: { lock?: FolderLock } = {};
  try {
    return await runTrainLocked(o, log, stop, held);
  } finally {
    held.lock?.release();
    stop.dispose();
  }
}

async function runTrainLocked(o: RunTrainOptions, log: (line: string) => void, stop: ReturnType<typeof createStopControl>, held: { lock?: FolderLock }): Promise<TrainRun> {
  intFlag(o.workers, '--workers', { min: 1 });
  intFlag(o.threads, '--threads', { min: 1 });
  intFlag(o.stopAfterEpoch, '--stop-after-epoch', { min: 1 });
  const { registry, configFile } = await loadProject({ config: o.config });
  const def = requireModel(registry, o.model, configFile);
  // Check the overrides before starting anything.
  const cli = parseOverrides(o.sets ?? [], TRAIN_SETTINGS);
  const backend = await startBackend(o.backend ?? 'auto', { threads: o.threads });
  log(backendLine(backend, o.verbose));
  const { ds, identity } = await resolveData(o.data, log, {}, { ...o.dataFlags, needSplits: true });
  const job = resolveTrainJob({ model: o.model, preset: o.preset, cli, data: identity, registry });
  const modelConfig = scaledConfig(registry, o.model, job.model.config, job.modelScale);
  checkClassCount(o.model, def.numClasses, modelConfig, ds.classNames);
  const data = prepareData(ds, rowSets(ds, job.train), job.train, def.inputs.hog ? (modelConfig.hog as never) : undefined);
  const valTotal = splitIndices(ds, 'PublicTest').length;
  const testTotal = splitIndices(ds, 'PrivateTest').length;
  held.lock = await prepareRunFolder(o.out, { resume: o.resume ?? false, overwrite: o.overwrite ?? false });
  const command = trainContinueCommand({
    model: o.model, out: o.out, data: o.data, preset: o.preset, set: o.sets, config: o.config, backend: o.backend, workers: o.workers,
    threads: o.threads, hours: o.hours, dataArgs: dataFlagsArgv(o.dataFlags ?? {}),
  });
  const bar = o.onProgress ? undefined : createProgressRenderer();
  // A long run says so once its speed is known (a few steps in): how long, and how to stop and continue it.
  let told = false;
  const tellIfLong = (p: ProgressEvent) => {
    if (told || p.step < Math.min(3, p.steps)) return;
    told = true;
    if (p.etaSeconds <= (o.longRunSeconds ?? LONG_RUN_SECONDS)) return;
    bar?.done();
    log(`note: this run is long here: ETA ${formatSeconds(p.etaSeconds)} for ${job.train.epochs - p.epoch + 1} epoch(s) at ${p.imagesPerSecond.toFixed(0)} img/s. Ctrl-C${o.hours === undefined ? ' (or --hours H)' : ''} stops it cleanly at the next step with a checkpoint; continue it with:\n  ${command}`);
  };
  const workers = o.workers ?? 1;
  const stepper = stepperFor(workers, backend.backend);
  log(`training ${o.model} (job ${job.hash}, preset ${job.budget}) on ${data.trainCount}${ds.synthetic ? ' SYNTHETIC' : ''} rows, validating on ${data.val.count} PublicTest rows, ${plural(job.train.epochs, 'epoch')} of ${plural(Math.ceil(data.trainCount / job.train.batchSize), 'step')}`);
  const outcome = await executeJob({
    job, dir: o.out, registry, dataset: ds, data,
    stepper: o.holdAfterSteps ? holdAfterSteps(stepper ?? localStepper, o.holdAfterSteps, stop.signal, () => log(`test hook: holding after ${o.holdAfterSteps} steps until a stop arrives`)) : stepper,
    stop: stop.signal, stopAfterEpoch: o.stopAfterEpoch, keepCheckpoints: true, runtime: { backend: backend.backend, workers }, withholdTest: o.withholdTest ?? false,
    onProgress: (p) => {
      stop.check();
      tellIfLong(p);
      if (o.onProgress) o.onProgress(p);
      else bar!.update(p);
    },
    onWarning: (w) => log(`warning: ${w.message}`),
    onEpoch: (r) => {
      bar?.done();
      log(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(2)}% val_loss ${r.valLoss.toFixed(4)} val_acc ${(r.valAccuracy * 100).toFixed(2)}% (PublicTest${data.val.count < valTotal ? ` subset, ${data.val.count} of ${valTotal} rows` : `, ${data.val.count} rows`}) lr ${r.lr} (${formatSeconds(r.seconds)})`);
    },
  });
  if (!isFinished(outcome)) {
    bar?.done();
    const checkpoints = checkpointsDir(o.out);
    if (outcome.paused) {
      // Paused on purpose after epoch N of the full schedule (fer sweep's rungs): --resume continues it.
      const until = `--stop-after-epoch ${o.stopAfterEpoch}`;
      log(`paused after epoch ${outcome.history.length} of ${job.train.epochs} (${until}); checkpoint in ${checkpoints}; --resume continues it`);
      return { metrics: null, outcome, hash: job.hash, stopped: { reason: until, command } };
    }
    const why = { hours: `--hours ${o.hours} spent`, SIGINT: 'Ctrl-C (SIGINT)', SIGTERM: 'SIGTERM', signal: 'a stop was requested' }[stop.reason ?? 'signal'];
    log(`Stopped on request (${why}) in epoch ${outcome.at.epoch} of ${job.train.epochs} (step ${outcome.at.step} of ${outcome.at.steps}); checkpoint saved in ${checkpoints}, ${outcome.history.length} epoch(s) completed.`);
    if (stop.reason === 'SIGINT' && /pnpm/.test(process.env.npm_execpath ?? '')) log('(This run stopped cleanly and exits with 0; the "ELIFECYCLE Command failed" line pnpm may print next is pnpm reporting the Ctrl-C it saw too.)');
    log(`Continue exactly where it stopped with:\n  ${command}`);
    return { metrics: null, outcome, hash: job.hash, stopped: { reason: why, command } };
  }
  const report = confusionMatrix({ actual: data.val.y, predicted: outcome.validation.predicted, numClasses: def.numClasses, classNames: [...ds.classNames] });
  const metrics: TrainMetrics = {
    model: o.model,
    split: 'PublicTest',
    accuracy: outcome.validation.accuracy,
    rows: outcome.validation.rows,
    perClass: report.perClass.map((c) => ({ name: c.name, recall: c.recall, support: c.support })),
    bestEpoch: outcome.bestEpoch,
    epochs: outcome.history.length,
    trainSeconds: outcome.wallSeconds,
    backend: backend.backend,
    synthetic: ds.synthetic,
    trainRows: outcome.trainRows,
  };
  const rows = outcome.validation.rows < valTotal ? `a ${outcome.validation.rows}-row subset of ${valTotal} (--set train.evalLimit=0 for all)` : `the full split, ${valTotal} rows`;
  log(`PublicTest accuracy ${(metrics.accuracy * 100).toFixed(2)}% on ${rows} (the best epoch's weights: epoch ${outcome.bestEpoch}), ${outcome.test.withheld ? 'PrivateTest not read (--withhold-test)' : `PrivateTest ${(outcome.test.accuracy * 100).toFixed(2)}%${outcome.test.rows < testTotal ? ` on a ${outcome.test.rows}-row subset of ${testTotal}` : ''}`}, ${formatSeconds(outcome.wallSeconds)} on ${backendName(backend)}${ds.synthetic ? ' -- SYNTHETIC data' : ''}${outcome.status === 'cached' ? ' (finished earlier: read from result.json)' : ''}`);
  return { metrics, outcome, hash: job.hash };
}

export default defineCommand({
  meta: { name: 'train', description: 'Train a registry model (its paper recipe by default: --preset paper) and save it with its resolved config (job hash), history and PublicTest metrics.' },
  args: {
    model: { type: 'string', description: 'registry name, e.g. paper-shallow, or a model of a fer.config file', required: true },
    out: { type: 'string', description: 'output folder', required: true },
    data: SHARED_ARGS.data,
    preset: { type: 'string', description: 'smoke | quick | paper: the pnpm reproduce budget to take (default paper: the model\'s recipe, as the reproduction trains it)', default: 'paper' },
    set: SHARED_ARGS.set,
    config: SHARED_ARGS.config,
    backend: SHARED_ARGS.backend,
    workers: { type: 'string', description: 'data-parallel worker threads (@fer/engine)', default: '1' },
    threads: { type: 'string', description: 'CPU threads of the native kernels (default: one per core)' },
    resume: { type: 'boolean', description: 'continue from out/checkpoints (refused when their config differs)', default: false },
    'stop-after-epoch': { type: 'string', description: 'end after this epoch of the schedule, resumable with --resume (fer sweep\'s rungs)' },
    'withhold-test': { type: 'boolean', description: 'never read PrivateTest (fer sweep\'s trials: selection data only); the result has no test accuracy', default: false },
    overwrite: { type: 'boolean', description: 'delete another run\'s files in --out first (a fresh run refuses a folder holding a run)', default: false },
    hours: { type: 'string', description: 'stop at the next training step after H hours (e.g. 2 or 0.5) with a checkpoint and print the command that continues (Ctrl-C and SIGTERM do the same)' },
    verbose: { type: 'boolean', description: 'print the backend\'s details (versions, libraries, kernels), not just its one line', default: false },
    ...DATA_FLAG_ARGS,
  },
  async run({ args, rawArgs }) {
    await runTrain({
      model: args.model,
      data: args.data,
      preset: args.preset,
      config: args.config,
      sets: collectRepeated(rawArgs, 'set'),
      out: args.out,
      backend: args.backend,
      workers: intFlag(args.workers, '--workers', { min: 1 }),
      ...(args.threads !== undefined ? { threads: intFlag(args.threads, '--threads', { min: 1 }) } : {}),
      resume: Boolean(args.resume),
      overwrite: Boolean(args.overwrite),
      dataFlags: dataFlags(args),
      ...(args.hours !== undefined ? { hours: positiveHours(args.hours) } : {}),
      ...(args['withhold-test'] ? { withholdTest: true } : {}),
      ...(args['stop-after-epoch'] !== undefined ? { stopAfterEpoch: intFlag(args['stop-after-epoch'], '--stop-after-epoch', { min: 1 }) } : {}),
      verbose: Boolean(args.verbose),
      handleSignals: true,
      holdAfterSteps: testHoldAfterSteps(),
    });
    // A stop on request is a success (exit 0): the checkpoint and the continue command are written.
  },
});

/** The files of a run in its `out` folder (../job/execute.ts JOB_FILES, and those of older layouts); `--overwrite` deletes them. */
const RUN_FILES = [...Object.values(JOB_FILES), 'activations', 'filters.png', 'metrics.json', 'job.json', 'checkpoint', 'train.log'];

/**
 * Creates `out` and takes its lock (E_FOLDER_LOCKED while another live run writes there), removes stale temp
 * files (only now: no other writer is left), and for a fresh run refuses a folder holding another run
 * (metrics.json, model/ or checkpoints) unless `overwrite`, which deletes that run's files.
 */
async function prepareRunFolder(out: string, o: { resume: boolean; overwrite: boolean }): Promise<FolderLock> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw fileError(e, 'creating the run folder', out);
  }
  const lock = lockFolder(out, 'fer train');
  try {
    await checkRunFolder(out, o);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

async function checkRunFolder(out: string, o: { resume: boolean; overwrite: boolean }): Promise<void> {
  removeStaleTempFiles([out, join(out, 'model'), join(out, 'checkpoints'), join(out, 'checkpoint')]);
  if (o.resume) return;
  const ckptDir = checkpointsDir(out);
  const ckpts = existsSync(ckptDir) ? (await readdir(ckptDir)).filter((n) => n.endsWith('.ferckpt')) : [];
  const found = [
    ...['result.json', 'metrics.json'].filter((f) => existsSync(join(out, f))),
    ...(existsSync(join(out, 'model')) ? ['model/'] : []),
    ...(ckpts.length ? [`${ckpts.length} checkpoint${ckpts.length > 1 ? 's' : ''} in ${ckptDir.slice(out.length + 1)}/`] : []),
  ];
  if (found.length === 0) return;
  if (!o.overwrite) {
    throw new FerCliError('E_RUN_EXISTS', `fer train: ${out} already holds another run (${found.join(', ')}); expected an empty or new folder for a fresh run. Pass --resume to continue that run, --overwrite to delete its files and start over, or choose another --out.`);
  }
  for (const f of RUN_FILES) {
    try {
      await rm(join(out, f), { recursive: true, force: true });
    } catch (e) {
      throw fileError(e, 'removing the old run\'s files (--overwrite)', join(out, f));
    }
  }
}

/**
 * A model whose output classes differ in number from the data's is refused before training (it used to train the
 * whole run and fail at saveModel): `numClasses` of the definition, of the resolved config, or the built output.
 */
function checkClassCount(model: string, numClasses: number, config: Record<string, unknown>, classNames: readonly string[]): void {
  const n = typeof config.numClasses === 'number' ? config.numClasses : numClasses;
  if (n === classNames.length) return;
  throw new FerCliError('E_CLASS_MISMATCH', `fer train: model ${model} has ${n} output classes, the data has ${classNames.length} (${classNames.join(', ')}); expected the same number. Set the model's numClasses to ${classNames.length} (e.g. --set model.numClasses=${classNames.length} when its config has that key) or train on data with ${n} classes.`);
}

function positiveHours(v: string): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new FerCliError('E_BAD_OPTION', `--hours ${v}: expected a positive number of hours, e.g. 2 or 0.5.`);
  return n;
}

/** All values of a repeatable `--name v` / `--name=v` flag. */
export function collectRepeated(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i];
    if (a === `--${name}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}
