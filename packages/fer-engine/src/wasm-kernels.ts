// Registers the training kernels that make conv nets trainable, and fast, on tfjs-backend-wasm.
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs';
import { FerEngineError } from './errors.js';
import type { KernelFn } from './kernels/_wasm.js';
import { makeBatchMatMulWasm, makeFusedMatMulWasm } from './kernels/batch-matmul.js';
import { conv2dBackpropFilterWasm } from './kernels/conv2d-backprop-filter.js';
import { makeConv2dBackpropInputWasm } from './kernels/conv2d-backprop-input.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './kernels/depthwise-backprop.js';
import { makeMaxPoolGradWasm } from './kernels/max-pool-grad.js';
import { makeIdentityWasm, makeLeadingReduceWasm, makeTileWasm } from './kernels/memory-ops.js';

const MARK = Symbol.for('@fer/engine/wasm-training-kernel');

/** The kernels registerWasmTrainingKernels installs on 'wasm', and how each is built from the original (if any). */
const SPECS: readonly { name: string; make: (original: KernelFn | undefined) => KernelFn }[] = [
  { name: 'Conv2DBackpropFilter', make: () => conv2dBackpropFilterWasm as KernelFn },
  { name: 'Conv2DBackpropInput', make: (o) => makeConv2dBackpropInputWasm(o) as KernelFn },
  { name: 'BatchMatMul', make: (o) => makeBatchMatMulWasm(o!) as KernelFn },
  { name: '_FusedMatMul', make: (o) => makeFusedMatMulWasm(o!, wasmKernelNow('BatchMatMul')) as KernelFn },
  { name: 'DepthwiseConv2dNativeBackpropFilter', make: () => depthwiseBackpropFilterWasm as KernelFn },
  { name: 'DepthwiseConv2dNativeBackpropInput', make: () => depthwiseBackpropInputWasm as KernelFn },
  { name: 'Tile', make: (o) => makeTileWasm(o!) as KernelFn },
  { name: 'Sum', make: (o) => makeLeadingReduceWasm(o!, false) as KernelFn },
  { name: 'Mean', make: (o) => makeLeadingReduceWasm(o!, true) as KernelFn },
  { name: 'Identity', make: (o) => makeIdentityWasm(o!) as KernelFn },
  { name: 'MaxPoolGrad', make: (o) => makeMaxPoolGradWasm(o!) as KernelFn },
];

/** The kernelFunc registered now (after this module's own BatchMatMul is in place). */
function wasmKernelNow(name: string): KernelFn {
  return ((args: Parameters<KernelFn>[0]) => (getKernel(name, 'wasm')!.kernelFunc as unknown as KernelFn)(args)) as KernelFn;
}

/**
 * Registers fast training kernels on the tfjs 'wasm' backend, composed from the backend's own XNNPACK
 * kernels: `Conv2DBackpropFilter` (missing in tfjs-backend-wasm 4.22) and `Conv2DBackpropInput`, each as
 * one forward convolution; `BatchMatMul` and `_FusedMatMul` without the scalar transposed path and
 * without re-packing large new weights; `DepthwiseConv2dNativeBackpropFilter/Input` (missing);
 * `MaxPoolGrad`; and the memory-bound `Tile`, leading-axis `Sum`/`Mean` and `Identity` of the batch-norm
 * gradient chain. Kernels it replaces keep their `setupFunc` and stay reachable as fallbacks.
 * Idempotent: a second call registers nothing new and returns the same list. Call it after importing
 * `@tensorflow/tfjs-backend-wasm` (before or after `tf.setBackend('wasm')`).
 * @example
 * import * as tf from '@tensorflow/tfjs';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmTrainingKernels } from '@fer/engine';
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 */
export function registerWasmTrainingKernels(): { registered: string[] } {
  if (getKernel('Conv2D', 'wasm') == null) {
    throw new FerEngineError(
      'E_WASM_BACKEND_MISSING',
      'registerWasmTrainingKernels() found no kernels for the "wasm" backend; expected @tensorflow/tfjs-backend-wasm to be loaded. ' +
        "Add `import '@tensorflow/tfjs-backend-wasm'` before calling it.",
    );
  }
  const registered: string[] = [];
  for (const spec of SPECS) {
    const current = getKernel(spec.name, 'wasm');
    if (current && (current.kernelFunc as unknown as Record<symbol, unknown>)[MARK]) {
      registered.push(spec.name);
      continue;
    }
    const fn = spec.make(current?.kernelFunc as unknown as KernelFn | undefined) as unknown as KernelFunc;
    Object.defineProperty(fn, MARK, { value: true });
    if (current) unregisterKernel(spec.name, 'wasm');
    const config: KernelConfig = { kernelName: spec.name, backendName: 'wasm', kernelFunc: fn };
    if (current?.setupFunc) config.setupFunc = current.setupFunc;
    registerKernel(config);
    registered.push(spec.name);
  }
  return { registered };
}
