import { FerMetricsError } from './errors.js';

/** Integer class labels, one per row: a plain array or any integer typed array. */
export type LabelArray = readonly number[] | Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;

/** Class probabilities: a flat row-major `Float32Array`/`Float64Array`/`number[]` of N*numClasses, or N rows. */
export type ProbabilityInput = Float32Array | Float64Array | readonly number[] | readonly (readonly number[] | Float32Array | Float64Array)[];

/** Throws E_BAD_OPTION when `opts` has a key not in `known`, or is not a plain object. */
export function checkKeys(fn: string, opts: unknown, known: readonly string[]): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: got ${describe(opts)} as options, expected an options object { ${known.join(', ')} }.`);
  }
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new FerMetricsError('E_BAD_OPTION', `${fn}: unknown option "${key}". Known options: ${known.join(', ')}. Remove or rename it.`);
    }
  }
}

/** Checks a label array's type and that it is not empty; returns it as a plain indexable. */
export function labelArray(fn: string, field: string, value: unknown): ArrayLike<number> {
  if (!(Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof Float32Array) && !(value instanceof Float64Array)))) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: "${field}" is ${describe(value)}, expected an array of integer class labels (number[], Uint8Array or Int32Array).`);
  }
  const arr = value as ArrayLike<number>;
  if (arr.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: "${field}" is empty, expected at least one label. Pass the labels of the evaluated rows.`);
  }
  return arr;
}

export function sameLength(fn: string, a: [string, ArrayLike<unknown>], b: [string, ArrayLike<unknown>]): void {
  if (a[1].length !== b[1].length) {
    throw new FerMetricsError(
      'E_LENGTH_MISMATCH',
      `${fn}: "${a[0]}" has ${a[1].length} rows but "${b[0]}" has ${b[1].length}; expected one entry per evaluated row in both. Check that both come from the same test split.`,
    );
  }
}

/** Largest label + 1 over the given arrays (labels already known to be non-negative integers). */
export function inferNumClasses(...arrays: ArrayLike<number>[]): number {
  let max = -1;
  for (const arr of arrays) for (let i = 0; i < arr.length; i++) if (arr[i] > max) max = arr[i];
  return max + 1;
}

export function checkNumClasses(fn: string, numClasses: unknown): number {
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < 1) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: numClasses is ${describe(numClasses)}, expected a positive integer (7 for FER2013).`);
  }
  return numClasses;
}

/** Every label must be an integer in [0, numClasses) (when numClasses is given) or >= 0. */
export function checkLabels(fn: string, field: string, arr: ArrayLike<number>, numClasses?: number): void {
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      const range = numClasses === undefined ? 'a non-negative integer' : `an integer in [0, ${numClasses - 1}]`;
      throw new FerMetricsError(
        'E_BAD_LABEL',
        `${fn}: ${field}[${i}] is ${describe(v)}, expected ${range}. Map class names to indices first${numClasses === undefined ? '' : ', or raise numClasses'}.`,
      );
    }
  }
}

export function checkClassNames(fn: string, names: unknown, numClasses: number): string[] {
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: classNames is ${describe(names)}, expected an array of ${numClasses} strings.`);
  }
  if (names.length !== numClasses) {
    throw new FerMetricsError(
      'E_LENGTH_MISMATCH',
      `${fn}: classNames has ${names.length} names but there are ${numClasses} classes; pass one name per class index (or set numClasses to ${names.length}).`,
    );
  }
  return names as string[];
}

/**
 * Flattens probabilities to a row-major Float64Array of n*numClasses and validates them:
 * finite, non-negative, and each row summing to 1 within `tolerance` (softmax outputs in float32 do).
 */
export function probabilityMatrix(fn: string, value: unknown, n: number, numClasses: number, tolerance = 1e-3): Float64Array {
  let flat: Float64Array;
  if (value instanceof Float32Array || value instanceof Float64Array || (Array.isArray(value) && (value.length === 0 || typeof value[0] === 'number'))) {
    const arr = value as ArrayLike<number>;
    if (arr.length !== n * numClasses) {
      throw new FerMetricsError(
        'E_BAD_PROBABILITIES',
        `${fn}: probabilities has ${arr.length} values, expected ${n} rows x ${numClasses} classes = ${n * numClasses} (flat, row-major). Check numClasses and that the model output matches the labels.`,
      );
    }
    flat = Float64Array.from(arr);
  } else if (Array.isArray(value)) {
    if (value.length !== n) {
      throw new FerMetricsError('E_LENGTH_MISMATCH', `${fn}: probabilities has ${value.length} rows but actual has ${n}; expected one probability row per label.`);
    }
    flat = new Float64Array(n * numClasses);
    for (let i = 0; i < n; i++) {
      const row = value[i] as ArrayLike<number>;
      if (row == null || typeof row !== 'object' || row.length !== numClasses) {
        throw new FerMetricsError('E_BAD_PROBABILITIES', `${fn}: probabilities[${i}] is ${describe(row)}, expected an array of ${numClasses} class probabilities.`);
      }
      for (let j = 0; j < numClasses; j++) flat[i * numClasses + j] = row[j];
    }
  } else {
    throw new FerMetricsError('E_BAD_PROBABILITIES', `${fn}: probabilities is ${describe(value)}, expected a flat Float32Array of N*numClasses or an array of N rows.`);
  }
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < numClasses; j++) {
      const p = flat[i * numClasses + j];
      if (!Number.isFinite(p) || p < 0) {
        throw new FerMetricsError('E_BAD_PROBABILITIES', `${fn}: probabilities row ${i}, class ${j} is ${p}, expected a finite probability >= 0. Apply softmax to logits first.`);
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > tolerance) {
      throw new FerMetricsError('E_BAD_PROBABILITIES', `${fn}: probabilities row ${i} sums to ${sum}, expected 1 (within ${tolerance}). Pass softmax outputs, not logits.`);
    }
  }
  return flat;
}

export function checkFiniteNumber(fn: string, field: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: ${field} is ${describe(v)}, expected a finite number in [${min}, ${max}].`);
  }
  return v;
}

export function checkInteger(fn: string, field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: ${field} is ${describe(v)}, expected an integer in [${min}, ${max}].`);
  }
  return v;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `a ${typeof v}`;
}
