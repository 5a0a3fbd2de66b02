// The one `--set key=value` grammar of the harness (`fer train`, `fer sweep`, `pnpm reproduce`): the key must
// name an existing setting (or be a documented alias) and the value must parse to the default's type
// (nanoGPT's configurator, made strict); unknown keys name the nearest known one.
import type { ModelDef } from '@fer/models';
import { didYouMean } from '../suggest.js';
import { DEFAULTS, SpecError, type DeepPartial, type RunSettings } from './spec.js';

/**
 * Short and former names of `--set` keys. `model.dropout` and `model.units` are then mapped by the model's own
 * `aliases` (@fer/models ModelDef.aliases: `denseDropout`/`denseUnits` for the paper networks).
 */
export const SET_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  lr: 'train.learningRate',
  epochs: 'train.epochs',
  batch: 'train.batchSize',
  optimizer: 'train.optimizer',
  normalizer: 'train.normalize',
  augment: 'train.augment',
  limit: 'train.trainLimit',
  l2: 'model.l2',
  dropout: 'model.dropout',
  units: 'model.units',
  // the names `fer train` used before the run spec was shared with `pnpm reproduce`
  'train.optimizer.learningRate': 'train.learningRate',
  'train.seed': 'seed',
  'data.limit': 'train.trainLimit',
  'data.validationLimit': 'train.evalLimit',
  'data.normalizer': 'train.normalize',
  'data.augment': 'train.augment',
});

/** Parsed `--set` items: settings, plus `model` config overrides (checked against the model by @fer/models). */
export type Overrides = DeepPartial<RunSettings> & { model?: Record<string, unknown> };

/** All dotted keys that `--set` accepts, with their default values. */
export function settingKeys(defaults: object = DEFAULTS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, key);
      else out[key] = v;
    }
  };
  walk(defaults as Record<string, unknown>, '');
  return out;
}

/**
 * Parses `key=value` strings into a partial settings object. Keys: the dotted keys of `defaults`, `model.<key>`
 * (a model config key; the value is JSON when it parses, else a string) and the {@link SET_ALIASES}.
 * @example
 * parseOverrides(['train.epochs=1', 'seed=3', 'lr=3e-4', 'model.filters=[4,8]'])
 * // { train: { epochs: 1, learningRate: 0.0003 }, seed: 3, model: { filters: [4, 8] } }
 */
export function parseOverrides(items: readonly string[], defaults: object = DEFAULTS): Overrides {
  const known = settingKeys(defaults);
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new SpecError('E_BAD_OPTION', `--set "${item}": expected key=value, e.g. --set train.epochs=1 or --set lr=3e-4.`);
    const given = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    const key = SET_ALIASES[given] ?? given;
    // NOTE: `model.__proto__=...` would set the prototype of the overrides object: the value vanished silently.
    if (key.split('.').some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) {
      throw new SpecError('E_BAD_OPTION', `--set ${given}: "${key.split('.').find((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')}" is not a setting or config key; expected a key such as model.filters or train.epochs.`);
    }
    let value: unknown;
    if (key.startsWith('model.') && key.length > 'model.'.length && !key.slice(6).includes('.')) {
      value = parseJsonish(raw);
    } else if (key in known) {
      value = coerce(key, raw, known[key]);
    } else {
      const names = [...Object.keys(known), ...Object.keys(SET_ALIASES), 'model.<key>'];
      throw new SpecError('E_BAD_OPTION', `--set ${given}: unknown key.${didYouMean(given, names)} Known keys: ${Object.keys(known).join(', ')}, model.<config key>; aliases: ${Object.keys(SET_ALIASES).filter((a) => !a.includes('.')).join(', ')}.`);
    }
    const parts = key.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]] = value;
  }
  return out as Overrides;
}

/**
 * `--set model.<key>` overrides in the model's own names: a key the model's defaults lack but its `aliases`
 * name (`dropout` -> `denseDropout` on the paper networks) is renamed; others are left for @fer/models to check.
 */
export function modelOverrides(def: Pick<ModelDef, 'defaults' | 'aliases'>, given: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given ?? {})) {
    const own = Object.prototype.hasOwnProperty.call(def.defaults, k);
    out[own ? k : def.aliases?.[k] ?? k] = v;
  }
  return out;
}

/** `[{"name":"hflip"},"shift"]` (fer train's former `data.augment`) -> 'hflip,shift'; options other than the name throw. */
function augmentNames(raw: string): string {
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw new SpecError('E_BAD_OPTION', `--set train.augment=${raw}: expected augmentation names, e.g. hflip or hflip,shift.`);
  }
  const names = Array.isArray(list) ? list.map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' && Object.keys(x).join() === 'name' ? (x as { name: unknown }).name : undefined)) : [undefined];
  if (names.some((n) => typeof n !== 'string')) {
    throw new SpecError('E_BAD_OPTION', `--set train.augment=${raw}: expected augmentation names (each with @fer/data's default options), e.g. hflip,shift or [{"name":"hflip"}].`);
  }
  return names.join(',');
}

function parseJsonish(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

// Settings whose default happens to be a whole number but which take fractions.
const FRACTIONAL_KEYS = new Set(['modelScale', 'train.labelSmoothing', 'train.schedule.minLearningRate', 'train.earlyStopping.minDelta', 'train.momentum']);

/**
 * Ranges of the numeric settings: `[min, max]`, `open` = the bounds themselves excluded. A numeric setting
 * not listed here must be >= 0 (counts, limits, patiences: a negative one has no meaning, and a negative
 * `limit` used to mean "all rows" silently).
 */
export const SETTING_RANGES: Readonly<Record<string, { min: number; max?: number; open?: boolean; why?: string }>> = Object.freeze({
  'train.epochs': { min: 1 },
  'train.batchSize': { min: 1 },
  'train.learningRate': { min: 0, open: true },
  'train.momentum': { min: 0, max: 1, why: 'a fraction' },
  'train.labelSmoothing': { min: 0, max: 1, why: 'a fraction' },
  'train.schedule.stepSize': { min: 1 },
  'train.schedule.gamma': { min: 0, max: 1, why: 'a factor per step' },
  'train.schedule.factor': { min: 0, max: 1, why: 'a factor per plateau' },
  modelScale: { min: 0, max: 16, open: true },
  'report.reproducedWithin': { min: 0, max: 1, why: 'a fraction' },
});

function checkRange(key: string, raw: string, n: number): void {
  const r = SETTING_RANGES[key] ?? { min: 0 };
  const below = r.open ? n <= r.min : n < r.min;
  const above = r.max !== undefined && (r.open ? n >= r.max : n > r.max);
  if (!below && !above) return;
  const range = r.max === undefined ? `${r.open ? '>' : '>='} ${r.min}` : r.open ? `between ${r.min} and ${r.max} (both excluded)` : `between ${r.min} and ${r.max}`;
  const zero = key === 'train.trainLimit' || key === 'train.evalLimit' ? ' (0 = all rows)' : '';
  throw new SpecError('E_BAD_OPTION', `--set ${key}=${raw}: out of range; expected ${r.why ? `${r.why} ` : ''}${range}${zero}.`);
}

function coerce(key: string, raw: string, def: unknown): unknown {
  switch (typeof def) {
    case 'number': {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new SpecError('E_BAD_OPTION', `--set ${key}=${raw}: expected a number like ${def}.`);
      if (Number.isInteger(def) && !Number.isInteger(n) && !FRACTIONAL_KEYS.has(key)) {
        throw new SpecError('E_BAD_OPTION', `--set ${key}=${raw}: expected an integer like ${def}.`);
      }
      checkRange(key, raw, n);
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new SpecError('E_BAD_OPTION', `--set ${key}=${raw}: expected true or false.`);
      return raw === 'true';
    case 'string':
      return key === 'train.augment' && raw.startsWith('[') ? augmentNames(raw) : raw;
    default:
      throw new SpecError('E_BAD_OPTION', `--set ${key}: cannot override a ${typeof def} setting.`);
  }
}

/** Deep merge of plain objects; later layers win; arrays and scalars are replaced. */
export function mergeDeep<T>(base: T, ...layers: readonly (DeepPartial<T> | undefined)[]): T {
  let out: unknown = structuredClone(base);
  for (const layer of layers) out = mergeTwo(out, layer);
  return out as T;
}

function mergeTwo(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (isPlain(a) && isPlain(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = mergeTwo(a[k], v);
    return out;
  }
  return structuredClone(b);
}

function isPlain(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && !ArrayBuffer.isView(x);
}
