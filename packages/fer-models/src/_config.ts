import { FerModelsError } from './errors.js';

/** A plain-data config value: numbers, strings, booleans, null, arrays and nested objects of those. */
export type ConfigValue = number | string | boolean | null | readonly ConfigValue[] | { readonly [k: string]: ConfigValue };

/**
 * Validates `given` against `defaults` and returns the defaults with `given` merged in (deeply for
 * nested objects). Unknown keys and values of another type than the default's throw E_BAD_OPTION.
 * A default of `null` accepts anything plain.
 */
export function resolveConfig<C extends object>(where: string, defaults: C, given: unknown): C {
  if (given === undefined || given === null) return structuredClone(defaults);
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new FerModelsError('E_BAD_OPTION', `${where}: got ${describe(given)}, expected a plain object of config keys (${Object.keys(defaults).join(', ')}). Pass e.g. { ${Object.keys(defaults)[0] ?? 'key'}: ... }.`);
  }
  const out: Record<string, unknown> = structuredClone(defaults) as Record<string, unknown>;
  const allowed = Object.keys(defaults);
  for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
    if (!Object.prototype.hasOwnProperty.call(defaults, key)) {
      throw new FerModelsError('E_BAD_OPTION', `${where}: unknown config key "${key}". Allowed keys: ${allowed.join(', ')}. Fix the spelling or remove it.`);
    }
    if (value === undefined) continue;
    const def = (defaults as Record<string, unknown>)[key];
    out[key] = checkValue(`${where}.${key}`, def, value);
  }
  return out as C;
}

function checkValue(path: string, def: unknown, value: unknown): unknown {
  if (def === null) return structuredClone(value);
  if (Array.isArray(def)) {
    if (!Array.isArray(value)) throw typeError(path, def, value);
    if (def.length > 0) {
      const t = typeof def[0];
      value.forEach((v, i) => {
        if (typeof v !== t || (t === 'number' && !Number.isFinite(v))) throw typeError(`${path}[${i}]`, def[0], v);
      });
    }
    return value.slice();
  }
  if (typeof def === 'object') {
    return resolveConfig(path, def as object, value);
  }
  if (typeof value !== typeof def || (typeof def === 'number' && !Number.isFinite(value as number))) throw typeError(path, def, value);
  return value;
}

function typeError(path: string, def: unknown, value: unknown): FerModelsError {
  const want = Array.isArray(def) ? 'an array' : typeof def === 'number' ? 'a finite number' : `a ${typeof def}`;
  return new FerModelsError('E_BAD_OPTION', `${path}: got ${describe(value)}, expected ${want} (default ${JSON.stringify(def)}). Fix the value's type.`);
}

/** Short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array ${JSON.stringify(v).slice(0, 60)}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'object';
  return `${typeof v} ${String(v)}`;
}

/** Throws E_BAD_OPTION unless `v` is an integer in [lo, hi]. */
export function checkInt(path: string, v: number, lo: number, hi = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new FerModelsError('E_BAD_OPTION', `${path}: got ${v}, expected an integer in [${lo}, ${hi}]. Fix the value.`);
  }
}

/** Throws E_BAD_OPTION unless `v` is a number in [lo, hi] (or [lo, hi) when `openHigh`). */
export function checkRange(path: string, v: number, lo: number, hi: number, openHigh = false): void {
  if (!(v >= lo && (openHigh ? v < hi : v <= hi))) {
    throw new FerModelsError('E_BAD_OPTION', `${path}: got ${v}, expected a number in [${lo}, ${hi}${openHigh ? ')' : ']'}. Fix the value.`);
  }
}

/** Throws E_BAD_OPTION unless `v` is one of `choices`. */
export function checkOneOf<T extends string>(path: string, v: string, choices: readonly T[]): asserts v is T {
  if (!(choices as readonly string[]).includes(v)) {
    throw new FerModelsError('E_BAD_OPTION', `${path}: got ${JSON.stringify(v)}, expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}.`);
  }
}
