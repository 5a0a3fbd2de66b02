// Test-only helpers: run the same kernel on 'cpu' (reference) and 'wasm' and compare.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mulberry32 } from '@fer/testing';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';

/** Loads the wasm backend once with the training kernels registered. */
export async function setupWasm(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
}

/** Seeded uniform values in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

export interface KernelCase {
  name: string;
  inputs: Record<string, { shape: number[]; values: Float32Array }>;
  attrs: Record<string, unknown>;
}

/** Runs `c` through tf.engine().runKernel on `backend`; returns the output values and shape. */
export async function runOn(backend: 'cpu' | 'wasm', c: KernelCase): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const ins: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) ins[k] = tf.tensor(v.values, v.shape, 'float32');
  const out = tf.engine().runKernel(c.name, ins as unknown as tf.NamedTensorMap, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  const shape = out.shape.slice();
  out.dispose();
  for (const t of Object.values(ins)) t.dispose();
  return { shape, values };
}

/** Max abs difference, and the reference's max abs value (for a relative bound). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}
