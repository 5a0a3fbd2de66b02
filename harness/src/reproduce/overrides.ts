// `--set key=value` overrides: the key must name an existing setting and the value must parse to
// the default's type (nanoGPT's configurator, made strict).
import { DEFAULTS, SpecError, type DeepPartial, type RunSettings } from './spec.js';

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
 * Parses `key=value` strings into a partial settings object.
 * @example
 * parseOverrides(['train.epochs=1', 'seed=3']) // { train: { epochs: 1 }, seed: 3 }
 */
export function parseOverrides(items: readonly string[], defaults: object = DEFAULTS): DeepPartial<RunSettings> {
  const known = settingKeys(defaults);
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new SpecError('E_BAD_OVERRIDE', `--set "${item}": expected key=value, e.g. --set train.epochs=1.`);
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    if (!(key in known)) {
      throw new SpecError('E_UNKNOWN_KEY', `--set ${key}: unknown key. Known keys: ${Object.keys(known).join(', ')}.`);
    }
    const value = coerce(key, raw, known[key]);
    const parts = key.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]] = value;
  }
  return out as DeepPartial<RunSettings>;
}

// Settings whose default happens to be a whole number but which take fractions.
const FRACTIONAL_KEYS = new Set(['modelScale']);

function coerce(key: string, raw: string, def: unknown): unknown {
  switch (typeof def) {
    case 'number': {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new SpecError('E_BAD_OVERRIDE', `--set ${key}=${raw}: expected a number like ${def}.`);
      if (Number.isInteger(def) && !Number.isInteger(n) && !FRACTIONAL_KEYS.has(key)) {
        throw new SpecError('E_BAD_OVERRIDE', `--set ${key}=${raw}: expected an integer like ${def}.`);
      }
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new SpecError('E_BAD_OVERRIDE', `--set ${key}=${raw}: expected true or false.`);
      return raw === 'true';
    case 'string':
      return raw;
    default:
      throw new SpecError('E_BAD_OVERRIDE', `--set ${key}: cannot override a ${typeof def} setting.`);
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
