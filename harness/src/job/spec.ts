// The one run spec of the harness (`fer train` and `pnpm reproduce` alike) and the experiment specs: plain,
// JSON-serialisable data (house style §5). Layering, nanoGPT-style (resolved in ./resolve.ts `resolveTrain`):
// harness DEFAULTS -> the model's own recipe (@fer/models) -> budget -> experiment `base` -> row -> CLI `--set`.
import { RECIPE_DEFAULTS, TRAIN_DEFAULTS, type ModelDef, type ModelRecipe, type TrainConfig } from '@fer/models';
import type { FerCliErrorCode } from '../errors.js';

/** The paper's seven classes in FER2013 label order. */
export const CLASS_NAMES = ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral'] as const;

export type BudgetName = 'smoke' | 'quick' | 'paper';
export const BUDGETS: readonly BudgetName[] = ['smoke', 'quick', 'paper'];

/** What an experiment turns its jobs' results into. */
export type ProduceKind =
  | 'accuracy' | 'per-class' | 'hybrid' | 'confusion' | 'histories'
  | 'activation-maps' | 'filters' | 'deepdream' | 'zoo' | 'sweep';

export interface TrainSpec {
  /** Full passes over the (possibly subsampled) training rows. */
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  learningRate: number;
  /** SGD/RMSprop momentum and Nesterov (@fer/models TrainConfig.optimizer). */
  momentum: number;
  nesterov: boolean;
  /** Learning-rate schedule (@fer/models TrainConfig.schedule). */
  schedule: TrainConfig['schedule'];
  /** Early stopping on validation accuracy (@fer/models TrainConfig.earlyStopping; patience 0 = off). */
  earlyStopping: TrainConfig['earlyStopping'];
  labelSmoothing: number;
  /** 'none' | 'balanced' (inverse-frequency loss weights of the training rows, @fer/data classWeights). */
  classWeights: string;
  /** Class-balanced sampling of the training batches (@fer/data createBatcher). */
  classBalanced: boolean;
  /** Comma-separated augmentations applied on the fly: '' | 'hflip' | 'hflip,shift'. */
  augment: string;
  /** Normalization fitted on the training rows (@fer/data normalizer kind). */
  normalize: 'mean-image' | 'global' | 'per-image' | 'unit';
  /** Use at most this many Training rows (class-stratified, seeded); 0 = all. */
  trainLimit: number;
  /** Use at most this many rows of each of PublicTest / PrivateTest (stratified, seeded); 0 = all. */
  evalLimit: number;
}

export interface ModelRef {
  /** Registry name in @fer/models (`paper-deep`, ...). */
  name: string;
  /** Overrides of the model's defaults. */
  config: Record<string, unknown>;
}

/** One row of a table: a model trained one way, plus what the paper reported for it. */
export interface RowSpec {
  row: string;
  label: string;
  model: ModelRef;
  train?: Partial<TrainSpec>;
  /**
   * Reported numbers (fractions in [0,1]): `validation`, `test` and class names. Read them from the model's
   * @fer/models definition with {@link reportedNumbers} (never type a paper's number here).
   */
  paper: Record<string, number>;
  /** Where the reported number comes from, when not the paper itself. */
  source?: string;
}

/**
 * One validation sweep of an experiment with `produce: 'sweep'` (`fer sweep` inside `pnpm reproduce`): seeded random
 * trials over `space`, cut by ASHA, ranked by PublicTest (PrivateTest is never read).
 */
export interface SweepSpec {
  /** Its folder: `<out>/sweeps/<id>`. */
  id: string;
  label: string;
  /** Registry name. */
  model: string;
  /** `fer sweep --space` items, e.g. `lr=log:1e-5..1e-3`. */
  space: string[];
  /** Trials to start per budget. */
  trials: Record<BudgetName, number>;
  /** ASHA's first rung (epochs) and reduction factor. */
  asha: { minEpochs: number; eta: number };
  /** `--set` overrides shared by every trial. */
  sets?: string[];
}

export interface ExperimentSpec {
  id: string;
  /** "Table 1", "Figure 3", ... of the paper (or "context"). */
  ref: string;
  title: string;
  produce: ProduceKind;
  /** One paragraph: what the paper shows here and how we re-do it. */
  description: string;
  base: { train?: Partial<TrainSpec> };
  rows: RowSpec[];
  /** Free-form paper statement where there are no numbers (e.g. "hybrid ~ raw pixels"). */
  claim?: string;
  /** `produce: 'sweep'`: the sweeps to run (then `rows` may be empty). */
  sweeps?: SweepSpec[];
}

/** Run-wide settings; every key here can be overridden with `--set key=value`. */
export interface RunSettings {
  seed: number;
  train: TrainSpec;
  /** Shrink factor for model widths (1 = the paper's sizes). Applied to numeric width-like config keys. */
  modelScale: number;
  snapshots: { samples: number; maxEpochs: number };
  deepdream: { steps: number; stepSize: number; jitter: number; blurEvery: number };
  report: { bootstrap: number; reproducedWithin: number };
}

/** A model recipe (@fer/models) as the harness's train keys. */
export function recipeTrain(r: ModelRecipe): Partial<TrainSpec> {
  return { epochs: r.epochs, batchSize: r.batchSize, optimizer: r.optimizer as TrainSpec['optimizer'], learningRate: r.learningRate, normalize: r.normalizer as TrainSpec['normalize'], augment: r.augment.join(',') };
}

/**
 * Run-wide defaults. The train keys a model's recipe holds (epochs, batch, optimizer, learning rate, normalizer,
 * augmentation) come from @fer/models RECIPE_DEFAULTS and the trainer keys from TRAIN_DEFAULTS: their one
 * default lives there; a model's own `recipe` overrides them in {@link resolveTrain} of ./resolve.ts.
 */
export const DEFAULTS: RunSettings = {
  seed: 1,
  train: {
    ...(recipeTrain(RECIPE_DEFAULTS) as Pick<TrainSpec, 'epochs' | 'batchSize' | 'optimizer' | 'learningRate' | 'normalize' | 'augment'>),
    momentum: TRAIN_DEFAULTS.optimizer.momentum,
    nesterov: TRAIN_DEFAULTS.optimizer.nesterov,
    schedule: { ...TRAIN_DEFAULTS.schedule },
    earlyStopping: { ...TRAIN_DEFAULTS.earlyStopping },
    labelSmoothing: TRAIN_DEFAULTS.labelSmoothing,
    classWeights: 'none',
    classBalanced: false,
    trainLimit: 0,
    evalLimit: 0,
  },
  modelScale: 1,
  // One sample face per expression (Figure 6), at up to 4 epochs.
  snapshots: { samples: 7, maxEpochs: 4 },
  deepdream: { steps: 60, stepSize: 0.08, jitter: 3, blurEvery: 5 },
  report: { bootstrap: 1000, reproducedWithin: 0.02 },
};

/**
 * Budgets, as overrides of {@link DEFAULTS}. `smoke` is what CI runs (minutes on a 2-core CPU,
 * synthetic data); `quick` takes hours on a 2-core CPU with the WASM engine (see its description); `paper` is the
 * paper's schedule (30/35 epochs, batch 128, every row): hours on a GPU, ~a day on a CPU.
 */
export const BUDGET_SETTINGS: Record<BudgetName, { description: string; settings: DeepPartial<RunSettings>; epochsCap: number }> = {
  smoke: {
    description: 'a pipeline check, not a result (the default without data, and CI): up to ~480 stratified training rows, 2 epochs, models at 1/8 width, ~140 eval rows per split',
    settings: {
      train: { epochs: 2, batchSize: 32, trainLimit: 480, evalLimit: 140, augment: 'hflip' },
      modelScale: 0.125,
      snapshots: { samples: 7, maxEpochs: 2 },
      deepdream: { steps: 12 },
      report: { bootstrap: 200 },
    },
    epochsCap: 2,
  },
  quick: {
    description: 'a first look at the real data on a CPU (the default with data; the plan prints this machine\'s ETA): up to 4,000 stratified training rows, 2 epochs, full-width models, full PublicTest/PrivateTest',
    settings: {
      train: { epochs: 2, batchSize: 64, trainLimit: 4000, evalLimit: 0 },
      snapshots: { samples: 7, maxEpochs: 2 },
      deepdream: { steps: 40 },
    },
    epochsCap: 2,
  },
  paper: {
    description: "the paper's schedule: all 28,709 training rows, 30 (shallow) / 35 (deep) epochs, batch 128",
    settings: {},
    epochsCap: Infinity,
  },
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * The numbers a model's paper reports (@fer/models `paper.reported`), flat as a row's `paper`:
 * `validation`, `test` and one key per class name.
 * @example
 * reportedNumbers(paperDeep) // { validation: 0.65, test: 0.64, Angry: 0.53, ... }
 */
export function reportedNumbers(def: Pick<ModelDef, 'paper'>, keys?: readonly string[]): Record<string, number> {
  const r = def.paper.reported ?? {};
  const all: Record<string, number> = { ...(r.validation !== undefined ? { validation: r.validation } : {}), ...(r.test !== undefined ? { test: r.test } : {}), ...r.perClass };
  return keys ? Object.fromEntries(keys.filter((k) => k in all).map((k) => [k, all[k]])) : all;
}

/**
 * A table row that trains `def` at its defaults and compares with the test accuracy its paper reports (the
 * zoo experiment's rows, and the rows added for models registered in a fer.config file).
 * @example
 * modelRow(vggFer, 'VGG-FER (Khaireddin & Chen 2021)')
 */
export function modelRow(def: Pick<ModelDef, 'name' | 'paper'>, label: string = def.name): RowSpec {
  const source = def.paper.cite === 'none' ? undefined : def.paper.url ?? def.paper.cite;
  return { row: def.name, label, model: { name: def.name, config: {} }, paper: reportedNumbers(def, ['test']), ...(source ? { source } : {}) };
}

/** Typed identity for experiment files. */
export function defineExperiment(spec: ExperimentSpec): ExperimentSpec {
  return spec;
}

/** An error in a run spec (experiments, `--set`, budgets), shared by `fer train`, `fer sweep` and `pnpm reproduce`. */
export class SpecError extends Error {
  readonly code: FerCliErrorCode;
  constructor(code: FerCliErrorCode, message: string) {
    super(message);
    this.name = 'SpecError';
    this.code = code;
  }
}

const PRODUCE_KINDS: readonly ProduceKind[] = ['accuracy', 'per-class', 'hybrid', 'confusion', 'histories', 'activation-maps', 'filters', 'deepdream', 'zoo', 'sweep'];
const EXPERIMENT_KEYS = ['id', 'ref', 'title', 'produce', 'description', 'base', 'rows', 'claim', 'sweeps'];
const SWEEP_KEYS = ['id', 'label', 'model', 'space', 'trials', 'asha', 'sets'];
const ROW_KEYS = ['row', 'label', 'model', 'train', 'paper', 'source'];

/**
 * Checks an experiment once, before anything runs: unknown keys throw, train overrides must name
 * keys of {@link TrainSpec} with the default's type, paper numbers must be fractions.
 * @example
 * validateExperiment(accuracy) // returns it, or throws SpecError E_BAD_SPEC
 */
export function validateExperiment(spec: ExperimentSpec, knownModels?: readonly string[]): ExperimentSpec {
  const where = `experiment "${(spec as { id?: string }).id ?? '?'}"`;
  checkKeys(spec as unknown as Record<string, unknown>, EXPERIMENT_KEYS, where);
  for (const k of ['id', 'ref', 'title', 'description'] as const) {
    if (typeof spec[k] !== 'string' || spec[k].length === 0) throw new SpecError('E_BAD_SPEC', `${where}: "${k}" must be a non-empty string, got ${JSON.stringify(spec[k])}.`);
  }
  if (!PRODUCE_KINDS.includes(spec.produce)) {
    throw new SpecError('E_BAD_SPEC', `${where}: produce is "${spec.produce}", expected one of ${PRODUCE_KINDS.join(', ')}.`);
  }
  checkKeys(spec.base ?? {}, ['train'], `${where} base`);
  checkTrain(spec.base?.train ?? {}, `${where} base.train`);
  if (spec.produce === 'sweep' || spec.sweeps !== undefined) {
    if (spec.produce !== 'sweep') throw new SpecError('E_BAD_SPEC', `${where}: "sweeps" is only for produce: 'sweep' (got produce "${spec.produce}").`);
    if (!Array.isArray(spec.sweeps) || spec.sweeps.length === 0) throw new SpecError('E_BAD_SPEC', `${where}: produce 'sweep' needs a non-empty "sweeps" array.`);
    for (const sw of spec.sweeps) {
      const sw_ = `${where} sweep "${(sw as { id?: string }).id ?? '?'}"`;
      checkKeys(sw as unknown as Record<string, unknown>, SWEEP_KEYS, sw_);
      if (typeof sw.id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(sw.id)) throw new SpecError('E_BAD_SPEC', `${sw_}: id must be a folder name (letters, digits, . _ -), got ${JSON.stringify(sw.id)}.`);
      if (knownModels && !knownModels.includes(sw.model)) throw new SpecError('E_UNKNOWN_MODEL', `${sw_}: unknown model "${sw.model}". Known: ${knownModels.join(', ')}.`);
      if (!Array.isArray(sw.space) || sw.space.length === 0 || sw.space.some((x) => typeof x !== 'string')) throw new SpecError('E_BAD_SPEC', `${sw_}: space must be a non-empty array of --space items like "lr=log:1e-5..1e-3".`);
      for (const b of BUDGETS) if (!Number.isInteger(sw.trials?.[b]) || sw.trials[b] < 1) throw new SpecError('E_BAD_SPEC', `${sw_}: trials.${b} is ${JSON.stringify(sw.trials?.[b])}, expected a positive integer (trials per budget: smoke, quick, paper).`);
      if (!Number.isInteger(sw.asha?.minEpochs) || sw.asha.minEpochs < 1 || !(sw.asha.eta > 1)) throw new SpecError('E_BAD_SPEC', `${sw_}: asha must be { minEpochs: a positive integer, eta: a number > 1 }, got ${JSON.stringify(sw.asha)}.`);
    }
  }
  if (!Array.isArray(spec.rows) || (spec.rows.length === 0 && spec.produce !== 'sweep')) throw new SpecError('E_BAD_SPEC', `${where}: rows must be a non-empty array.`);
  const seen = new Set<string>();
  for (const row of spec.rows) {
    const rw = `${where} row "${row.row}"`;
    checkKeys(row as unknown as Record<string, unknown>, ROW_KEYS, rw);
    if (seen.has(row.row)) throw new SpecError('E_BAD_SPEC', `${rw}: duplicate row id.`);
    seen.add(row.row);
    checkKeys(row.model as unknown as Record<string, unknown>, ['name', 'config'], `${rw} model`);
    if (typeof row.model.name !== 'string') throw new SpecError('E_BAD_SPEC', `${rw}: model.name must be a string.`);
    if (knownModels && !knownModels.includes(row.model.name)) {
      throw new SpecError('E_UNKNOWN_MODEL', `${rw}: unknown model "${row.model.name}". Known: ${knownModels.join(', ')}.`);
    }
    checkTrain(row.train ?? {}, `${rw} train`);
    for (const [k, v] of Object.entries(row.paper)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new SpecError('E_BAD_SPEC', `${rw}: paper.${k} is ${v}, expected a fraction in [0, 1] (54% -> 0.54).`);
    }
  }
  return spec;
}

function checkTrain(t: Record<string, unknown>, where: string): void {
  const defaults = DEFAULTS.train as unknown as Record<string, unknown>;
  checkKeys(t, Object.keys(defaults), where);
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== typeof defaults[k] || (v === null) !== (defaults[k] === null)) {
      throw new SpecError('E_BAD_SPEC', `${where}.${k} is ${JSON.stringify(v)} (${typeof v}), expected a ${typeof defaults[k]} like ${JSON.stringify(defaults[k])}.`);
    }
    if (typeof v === 'object' && v !== null) checkKeys(v as Record<string, unknown>, Object.keys(defaults[k] as object), `${where}.${k}`);
  }
}

export function checkKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new SpecError('E_BAD_OPTION', `${where}: unknown key "${k}". Known keys: ${known.join(', ')}.`);
    }
  }
}
