import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { splitIndices } from '@fer/data';
import { confusionMatrix } from '@fer/metrics';
import {
  localStepper, predict, resolveTrainConfig, saveModel, train,
  type EpochRecord, type ModelRegistry, type ProgressEvent, type TrainConfig, type TrainResult,
} from '@fer/models';
import { backendLine, startBackend } from '../backend.js';
import { intFlag, SHARED_ARGS } from '../flags.js';
import { DATA_FLAG_ARGS, dataFlags, dataFlagsArgv, resolveData, type DataFlags, type DataIdentity } from '../data.js';
import { lockFolder, type FolderLock } from '../lock.js';
import { createStopControl, holdAfterSteps, trainContinueCommand } from '../reproduce/_stop.js';
import { loadProject, requireModel } from '../project.js';
import { scaledConfig, trainConfig } from '../reproduce/job.js';
import { DEFAULTS, BUDGETS, SpecError, type BudgetName } from '../reproduce/spec.js';
import { parseOverrides } from '../reproduce/overrides.js';
import { resolveJob, type Job } from '../reproduce/plan.js';
import { augmentSpecs, gather, prepareData, rowSets, trainSource } from '../reproduce/prepare.js';
import {
  createProgressRenderer, FerCliError, formatSeconds, fsError, removeStaleTempFiles, runFiles, stepperFor,
} from './_models-common.js';

/** Options of {@link runTrain} (what `fer train` parses). */
export interface RunTrainOptions {
  model: string;
  data?: string;
  /** `--set key=value` overrides (the one grammar of src/reproduce/overrides.ts). */
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
}

/** What {@link runTrain} gives: the metrics of a finished run, or (stopped on request) none and the command that continues. */
export type TrainRun =
  | { metrics: TrainMetrics; result: TrainResult; hash: string; stopped?: undefined }
  | { metrics: null; result: TrainResult; hash: string; stopped: { reason: string; command: string } };

/** A run that ETA says takes longer than this gets a word up front on how to stop and continue it. */
export const LONG_RUN_SECONDS = 3600;

/** What `fer train` writes to metrics.json. */
export interface TrainMetrics {
  model: string;
  split: 'PublicTest';
  accuracy: number;
  perClass: { name: string; recall: number; support: number }[];
  bestEpoch: number | null;
  bestValAccuracy: number | null;
  epochs: number;
  trainSeconds: number;
  backend: string;
  synthetic: boolean;
  trainRows: number;
}

/** The settings `fer train --set` accepts: the run spec (seed, modelScale, train.*) and model.* (the reproduction's report keys are not a training run's). */
const TRAIN_SETTINGS = { seed: DEFAULTS.seed, modelScale: DEFAULTS.modelScale, train: DEFAULTS.train };

/**
 * The job `fer train` runs, resolved as `pnpm reproduce` resolves a table row (src/reproduce/plan.ts
 * `resolveJob`): defaults <- the model's recipe <- the preset (a reproduce budget) <- `--set`. Same inputs,
 * same job hash as the reproduction's row.
 * @example
 * resolveTrainJob({ model: 'paper-deep', preset: 'paper', data: dataIdentity(ds), registry }).hash
 */
export function resolveTrainJob(o: { model: string; preset?: string; sets?: string[]; data: DataIdentity; registry: ModelRegistry }): Omit<Job, 'uses'> {
  const preset = (o.preset ?? 'paper') as BudgetName;
  if (!BUDGETS.includes(preset)) throw new SpecError('E_BAD_OPTION', `--preset ${o.preset}: expected one of ${BUDGETS.join(', ')} (the budgets of pnpm reproduce).`);
  requireModel(o.registry, o.model);
  const cli = parseOverrides(o.sets ?? [], TRAIN_SETTINGS);
  return resolveJob({ budget: preset, model: { name: o.model, config: {} }, data: o.data, cli, registry: o.registry });
}

/**
 * Trains a registry model (a built-in or one of a fer.config file) on a data set and writes config.json
 * (resolved, with the job hash), history.json, model/ (saved model), checkpoints/ and metrics.json (PublicTest)
 * into `out`, each file atomically. A fresh run into a folder holding another run throws E_RUN_EXISTS unless
 * `overwrite`; `resume` refuses checkpoints of another config.
 */
export async function runTrain(o: RunTrainOptions): Promise<TrainRun> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  // Ctrl-C, SIGTERM and --hours stop at the next step with a checkpoint (the one mechanism of pnpm reproduce, ../reproduce/_stop.ts).
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
  parseOverrides(o.sets ?? [], TRAIN_SETTINGS);
  const backend = await startBackend(o.backend ?? 'auto', { threads: o.threads });
  log(backendLine(backend, o.verbose));
  const { ds, identity } = await resolveData(o.data, log, {}, { ...o.dataFlags, needSplits: true });
  const job = resolveTrainJob({ model: o.model, preset: o.preset, sets: o.sets, data: identity, registry });
  const modelConfig = scaledConfig(registry, o.model, job.model.config, job.modelScale);
  const hog = def.inputs.hog ? (modelConfig.hog as Record<string, unknown>) : undefined;
  checkClassCount(o.model, def.numClasses, modelConfig, ds.classNames);
  const data = prepareData(ds, rowSets(ds, job.train), job.train, hog as never);
  const source = trainSource(ds, data, job.train, job.seed);
  const valTotal = splitIndices(ds, 'PublicTest').length;
  const trainCfg: TrainConfig = resolveTrainConfig(trainConfig(job.train, job.seed, data.trainLabels));
  held.lock = await prepareRunFolder(o.out, { resume: o.resume ?? false, overwrite: o.overwrite ?? false });
  // NOTE: in the shape fer train wrote before the run spec was shared, so runs started then resume (checkpoints
  // compare it); a row limit now means a class-stratified subset, which the older random subsets are not.
  const limited = job.train.trainLimit > 0 || job.train.evalLimit > 0;
  const dataRecord = {
    normalizer: job.train.normalize, augment: augmentSpecs(job.train.augment), limit: job.train.trainLimit, validationLimit: job.train.evalLimit,
    classBalanced: job.train.classBalanced, classWeights: job.train.classWeights, source: ds.source, synthetic: ds.synthetic, ...(limited ? { subset: 'stratified' } : {}),
  };
  const resolved = {
    hash: job.hash,
    preset: job.budget,
    model: { name: o.model, config: modelConfig },
    modelScale: job.modelScale,
    spec: job.train,
    train: trainCfg,
    data: { ...dataRecord, fingerprint: identity.fingerprint, trainRows: data.trainCount, validationRows: data.val.count },
    backend: backend.backend,
    workers: o.workers ?? 1,
  };
  const configText = `${JSON.stringify(resolved, null, 2)}\n`;
  // NOTE: on resume, config.json is rewritten only after train() accepted the checkpoints' config.
  if (!o.resume || !existsSync(join(o.out, 'config.json'))) await runFiles.write(join(o.out, 'config.json'), configText, 'run config');
  log(`training ${o.model} (job ${job.hash}, preset ${job.budget}) on ${data.trainCount}${ds.synthetic ? ' SYNTHETIC' : ''} rows, validating on ${data.val.count} PublicTest rows, ${trainCfg.epochs} epochs of ${source.stepsPerEpoch} steps`);
  const model = registry.create(o.model, modelConfig, { seed: job.seed });
  try {
    checkClassCount(o.model, model.outputs[0].shape[1] ?? 0, {}, ds.classNames);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const history: EpochRecord[] = [];
  const historyFile = join(o.out, 'history.json');
  let historyWrite: Promise<void> = Promise.resolve();
  const bar = o.onProgress ? undefined : createProgressRenderer();
  const command = trainContinueCommand({
    model: o.model, out: o.out, data: o.data, preset: o.preset, set: o.sets, config: o.config, backend: o.backend, workers: o.workers,
    threads: o.threads, hours: o.hours, dataArgs: dataFlagsArgv(o.dataFlags ?? {}),
  });
  // A long run says so once its speed is known (a few steps in): how long, and how to stop and continue it.
  let told = false;
  const tellIfLong = (p: ProgressEvent) => {
    if (told || p.step < Math.min(3, p.steps)) return;
    told = true;
    if (p.etaSeconds <= (o.longRunSeconds ?? LONG_RUN_SECONDS)) return;
    bar?.done();
    log(`note: this run is long here: ETA ${formatSeconds(p.etaSeconds)} for ${trainCfg.epochs - p.epoch + 1} epoch(s) at ${p.imagesPerSecond.toFixed(0)} img/s. Ctrl-C${o.hours === undefined ? ' (or --hours H)' : ''} stops it cleanly at the next step with a checkpoint; continue it with:\n  ${command}`);
  };
  // Test hook (as pnpm reproduce's): hold after N steps until a stop arrives, so a test can send SIGTERM mid-run.
  const holdAfter = Number(process.env.FER_REPRODUCE_TEST_HOLD_AFTER_STEPS ?? 0);
  let result: TrainResult;
  try {
    result = await train({
      model,
      data: { train: source, validation: { x: data.val.x, hog: data.val.hog, y: data.val.y, count: data.val.count } },
      config: trainCfg,
      stepper: holdAfter > 0 ? holdAfterSteps(stepperFor(o.workers ?? 1, backend.backend) ?? localStepper, holdAfter, stop.signal, () => log(`test hook: holding after ${holdAfter} steps until a stop arrives`)) : stepperFor(o.workers ?? 1, backend.backend),
      checkpointDir: join(o.out, 'checkpoints'),
      resume: o.resume ?? false,
      overwrite: o.overwrite ?? false,
      runConfig: { model: resolved.model, data: dataRecord },
      stop: stop.signal,
      stopAfterEpoch: o.stopAfterEpoch,
      onProgress: (p) => {
        stop.check();
        tellIfLong(p);
        if (o.onProgress) o.onProgress(p);
        else bar!.update(p);
      },
      onWarning: (w) => log(`warning: ${w.message}`),
      onEpoch: (r) => {
        bar?.done();
        history.push(r);
        log(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(2)}% val_loss ${r.valLoss?.toFixed(4)} val_acc ${((r.valAccuracy ?? NaN) * 100).toFixed(2)}% (PublicTest${data.val.count < valTotal ? ` subset, ${data.val.count} of ${valTotal} rows` : `, ${data.val.count} rows`}) lr ${r.lr} (${formatSeconds(r.seconds)})`);
        const text = `${JSON.stringify(history, null, 2)}\n`;
        historyWrite = historyWrite.then(() => runFiles.write(historyFile, text, 'training history'));
        historyWrite.catch(() => undefined); // awaited below; this only marks it handled if train() throws first
      },
    });
    await historyWrite;
    await runFiles.write(historyFile, `${JSON.stringify(result.history, null, 2)}\n`, 'training history');
    if (o.resume) await runFiles.write(join(o.out, 'config.json'), configText, 'run config');
    if (result.stopped && !stop.reason && o.stopAfterEpoch !== undefined) {
      // Paused on purpose after epoch N of the full schedule (fer sweep's rungs): --resume continues it.
      const until = `--stop-after-epoch ${o.stopAfterEpoch}`;
      log(`paused after epoch ${result.history.length} of ${trainCfg.epochs} (${until}); checkpoint in ${join(o.out, 'checkpoints')}; --resume continues it`);
      return { metrics: null, result, hash: job.hash, stopped: { reason: until, command } };
    }
    if (result.stopped) {
      bar?.done();
      const why = { hours: `--hours ${o.hours} spent`, SIGINT: 'Ctrl-C (SIGINT)', SIGTERM: 'SIGTERM', signal: 'a stop was requested' }[stop.reason ?? 'signal'];
      log(`Stopped on request (${why}) in epoch ${result.stopped.epoch} of ${trainCfg.epochs} (step ${result.stopped.step} of ${result.stopped.steps}); checkpoint saved in ${join(o.out, 'checkpoints')}, ${result.history.length} epoch(s) completed.`);
      if (stop.reason === 'SIGINT' && /pnpm/.test(process.env.npm_execpath ?? '')) log('(This run stopped cleanly and exits with 0; the "ELIFECYCLE Command failed" line pnpm may print next is pnpm reporting the Ctrl-C it saw too.)');
      log(`Continue exactly where it stopped with:\n  ${command}`);
      return { metrics: null, result, hash: job.hash, stopped: { reason: why, command } };
    }
    const stored = await saveModel(join(o.out, 'model'), model, {
      modelName: o.model,
      config: modelConfig,
      classNames: [...ds.classNames],
      normalizer: data.normalizer.toJSON(),
      ...(hog ? { hog } : {}),
      training: { job: job.hash, bestEpoch: result.bestEpoch, bestValAccuracy: result.bestValAccuracy, epochs: result.history.length, seconds: result.seconds, synthetic: ds.synthetic, source: ds.source },
    });
    const val = gather(ds, splitIndices(ds, 'PublicTest'));
    const pred = await predict({ model, meta: stored }, val.pixels, val.labels.length);
    const report = confusionMatrix({ actual: val.labels, predicted: pred.labels, numClasses: def.numClasses, classNames: [...ds.classNames] });
    const metrics: TrainMetrics = {
      model: o.model,
      split: 'PublicTest',
      accuracy: report.accuracy,
      perClass: report.perClass.map((c) => ({ name: c.name, recall: c.recall, support: c.support })),
      bestEpoch: result.bestEpoch,
      bestValAccuracy: result.bestValAccuracy,
      epochs: result.history.length,
      trainSeconds: result.seconds,
      backend: backend.backend,
      synthetic: ds.synthetic,
      trainRows: data.trainCount,
    };
    await runFiles.write(join(o.out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`, 'metrics');
    log(`PublicTest accuracy ${(report.accuracy * 100).toFixed(2)}% on the full split (${val.labels.length} rows, the best epoch's weights: epoch ${result.bestEpoch})${data.val.count < valTotal ? `; the val_acc above is on a ${data.val.count}-row subset` : ''}, ${formatSeconds(result.seconds)} on ${backend.backend}${ds.synthetic ? ' -- SYNTHETIC data' : ''}`);
    return { metrics, result, hash: job.hash };
  } finally {
    model.dispose();
  }
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
      ...(args['stop-after-epoch'] !== undefined ? { stopAfterEpoch: intFlag(args['stop-after-epoch'], '--stop-after-epoch', { min: 1 }) } : {}),
      verbose: Boolean(args.verbose),
      handleSignals: true,
    });
    // A stop on request is a success (exit 0): the checkpoint and the continue command are written.
  },
});

/** The files of a run in its `out` folder; `--overwrite` deletes them. */
const RUN_FILES = ['config.json', 'history.json', 'metrics.json', 'model', 'checkpoints', 'train.log'];

/**
 * Creates `out` and takes its lock (E_FOLDER_LOCKED while another live run writes there), removes stale temp
 * files (only now: no other writer is left), and for a fresh run refuses a folder holding another run
 * (metrics.json, model/ or checkpoints) unless `overwrite`, which deletes that run's files.
 */
async function prepareRunFolder(out: string, o: { resume: boolean; overwrite: boolean }): Promise<FolderLock> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw fsError(e, 'creating the run folder', out);
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
  await removeStaleTempFiles([out, join(out, 'model'), join(out, 'checkpoints')]);
  if (o.resume) return;
  const ckpts = existsSync(join(out, 'checkpoints')) ? (await readdir(join(out, 'checkpoints'))).filter((n) => n.endsWith('.ferckpt')) : [];
  const found = [
    ...(existsSync(join(out, 'metrics.json')) ? ['metrics.json'] : []),
    ...(existsSync(join(out, 'model')) ? ['model/'] : []),
    ...(ckpts.length ? [`${ckpts.length} checkpoint${ckpts.length > 1 ? 's' : ''} in checkpoints/`] : []),
  ];
  if (found.length === 0) return;
  if (!o.overwrite) {
    throw new FerCliError('E_RUN_EXISTS', `fer train: ${out} already holds another run (${found.join(', ')}); expected an empty or new folder for a fresh run. Pass --resume to continue that run, --overwrite to delete its files and start over, or choose another --out.`);
  }
  for (const f of RUN_FILES) {
    try {
      await rm(join(out, f), { recursive: true, force: true });
    } catch (e) {
      throw fsError(e, 'removing the old run\'s files (--overwrite)', join(out, f));
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
