// Numeric comparisons of a result against a reference (another backend, another library). Each `expect*`
// throws an Error naming what differs, where, and the bound, so a failing test says why.

/** The largest |a[i] - b[i]|, where it is, and the reference's largest |b[i]| (for a relative bound). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number; at: number } {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: got ${a.length} values, the reference has ${b.length}`);
  let diff = 0;
  let scale = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale, at };
}

/** max |got - want| <= rel * max(1, max |want|) (NaN equals NaN): float32 sums in another order. */
export function expectAllClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel = 1e-4): void {
  const { diff, scale, at } = maxAbsDiff(got, want);
  const bound = rel * Math.max(1, scale);
  if (!(diff <= bound)) {
    throw new Error(`${what}: max |got - reference| = ${diff} at ${at} (got ${got[at]}, reference ${want[at]}), expected <= ${bound}`);
  }
}

/**
 * ||got - want||_2 <= rtol * (||want||_2 + rms * sqrt(n)). `rms` (root mean square of all a model's gradient
 * values, say) covers tensors whose true value is 0, e.g. the biases that feed batch norm: both sides give
 * float noise there, far below the typical value.
 */
export function expectNormClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, o: { rtol?: number; rms?: number } = {}): void {
  if (got.length !== want.length) throw new Error(`${what}: got ${got.length} values, the reference has ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const err = Math.sqrt(num);
  const bound = (o.rtol ?? 1e-3) * (Math.sqrt(den) + (o.rms ?? 0) * Math.sqrt(want.length));
  if (!(err <= bound)) {
    throw new Error(`${what}: ||got - reference|| = ${err.toExponential(2)}, ||reference|| = ${Math.sqrt(den).toExponential(2)}, expected <= ${bound.toExponential(2)}`);
  }
}

/** The same float32 bits everywhere (NaN equals NaN). */
export function expectBitIdentical(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const g = Float32Array.from(got);
  const w = Float32Array.from(want);
  if (g.length !== w.length) throw new Error(`${what}: got ${g.length} values, the reference has ${w.length}`);
  const a = new Uint32Array(g.buffer);
  const b = new Uint32Array(w.buffer);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(g[i]) && Number.isNaN(w[i]))) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) throw new Error(`${what}: ${bad} of ${a.length} values differ in their bits; first at ${first}: ${g[first]} vs ${w[first]}`);
}

/** The root mean square of every value of `arrays` together. */
export function rootMeanSquare(arrays: ArrayLike<number>[]): number {
  let sum = 0;
  let n = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) sum += a[i] * a[i];
    n += a.length;
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

/** Wraps every function of `obj` in place to count its calls; returns the live counts, by function name. */
export function countCalls(obj: object): Map<string, number> {
  const calls = new Map<string, number>();
  const o = obj as Record<string, unknown>;
  for (const [name, fn] of Object.entries(o)) {
    if (typeof fn !== 'function') continue;
    o[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return (fn as (...a: unknown[]) => unknown).apply(obj, args);
    };
  }
  return calls;
}

/**
 * The `code` of the error `fn` throws. Throws itself when `fn` returns, or throws something that is not an
 * `errorClass` (a package's one error class), so a test of a bad input cannot pass on the wrong error.
 */
export function errorCodeOf<C extends string>(fn: () => unknown, errorClass: abstract new (...args: never[]) => Error & { code: C }): C {
  try {
    fn();
  } catch (e) {
    if (e instanceof errorClass) return e.code;
    throw new Error(`expected a ${errorClass.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  }
  throw new Error(`expected a ${errorClass.name}, but the call returned`);
}
