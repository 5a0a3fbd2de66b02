// The harness's seeded randomness: @fer/data's Mulberry32 (the one the batches and augmentations draw from), and a
// normal draw on top of it.
export { mulberry32 } from '@fer/data';

/** Standard normal draw (Box-Muller). */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
