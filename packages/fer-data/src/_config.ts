import { FerDataError } from './errors.js';

/** Throws E_BAD_OPTION when `opts` has a key not in `known`. */
export function checkKeys(where: string, opts: object | undefined, known: readonly string[]): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object') {
    throw new FerDataError('E_BAD_OPTION', `${where}: got ${typeof opts} for the options, expected an object with keys ${known.join(', ')}.`);
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) {
      throw new FerDataError('E_BAD_OPTION', `${where}: unknown option "${k}". Known: ${known.join(', ')}. Remove or rename it.`);
    }
  }
}

/** Throws E_BAD_OPTION unless `v` is a finite number in [lo, hi] (integer when `int`). */
export function checkNumber(where: string, name: string, v: unknown, lo: number, hi: number, int = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
    throw new FerDataError(
      'E_BAD_OPTION',
      `${where}: option "${name}" is ${JSON.stringify(v)}, expected ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}].`,
    );
  }
  return v;
}
