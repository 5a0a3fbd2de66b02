/** Mulberry32: a tiny, fast, seeded PRNG returning floats in [0, 1). */
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

/** `count` seeded integers in [0, max). */
export function seededInts(count: number, max: number, seed = 1): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(r() * max));
}

/** `n` seeded float32 values, uniform in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

/**
 * The dropout mask tfjs draws from alea (seedrandom's generator), step by step from the state [c, s0, s1, s2]:
 * `floor(s + keepProb) / keepProb` per draw, in float32, as tf.dropout and the native serial path compute it, and
 * the generator's state after the n draws. The reference the native kernels' parallel, jumped-ahead and per-ISA
 * masks are checked against.
 */
export function aleaDropoutMask(n: number, state: readonly [number, number, number, number], keepProb: number): { mask: Float32Array; state: [number, number, number, number] } {
  const out = new Float32Array(n);
  let [c, s0, s1, s2] = state;
  const keep = Math.fround(keepProb);
  for (let i = 0; i < n; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    s2 = t - (c = t | 0);
    out[i] = Math.fround(Math.floor(Math.fround(Math.fround(s2) + keep)) / keep);
  }
  return { mask: out, state: [c, s0, s1, s2] };
}
