import type * as tfType from '@tensorflow/tfjs';

/**
 * Runs `fn` and throws if it leaves more tensors alive than before (tf.memory().numTensors).
 * Returns fn's result. Pass the tf namespace the test uses.
 */
export async function expectNoLeak<T>(tf: typeof tfType, fn: () => T | Promise<T>, allowed = 0): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after - before > allowed) {
    throw new Error(`tensor leak: ${after - before} tensors left alive (before ${before}, after ${after}); expected at most ${allowed}`);
  }
  return out;
}
