/**
 * A seeded PRNG (Mulberry32) whose whole state is one uint32, so it can be checkpointed.
 * NOTE: tfjs draws every unseeded random op (Dropout masks, Glorot/He initializers) from a
 * seedrandom generator seeded with `Math.random()`. Swapping `Math.random` for this generator
 * while tfjs builds or trains a model makes those draws reproducible.
 */
export class SeededRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  get state(): number {
    return this.s;
  }
  set state(s: number) {
    this.s = s >>> 0;
  }
}

/** Runs the synchronous part of `fn` with `Math.random` replaced by `rng`, then restores it. */
export function withRandom<T>(rng: SeededRandom, fn: () => T): T {
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
