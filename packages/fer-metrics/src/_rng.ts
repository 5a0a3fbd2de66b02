/**
 * Mulberry32 (Tommy Ettinger, public domain): a small, fast, seeded 32-bit PRNG returning floats in [0, 1).
 * Bit-exact with the Python port in scripts/gen-fixtures.py, which the bootstrap fixtures depend on.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Quantile of sorted values with linear interpolation (Hyndman & Fan type 7, numpy's default 'linear'). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  // NOTE: numpy's _lerp evaluates from the nearer end for t >= 0.5; same value to ~1 ulp.
  return t >= 0.5 ? sorted[hi] - (sorted[hi] - sorted[lo]) * (1 - t) : sorted[lo] + (sorted[hi] - sorted[lo]) * t;
}
