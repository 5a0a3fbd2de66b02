// registerNativeKernels: runs the heavy tfjs 'wasm' kernels natively (oneDNN convolutions and matmuls,
// multi-threaded batch norm, pooling, element-wise and reduction passes, fused optimizer updates) on
// the tensors in place in the wasm heap, through the optional @fer/engine-native-<platform> package.
import { getBackend, getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs';
import { FerEngineError } from './errors.js';
import type { KernelFn } from './kernels/_wasm.js';
import { defaultNativeThreads, loadNative, nativePackageName } from './native/_addon.js';
import { NATIVE_SPECS, nativeFailures } from './native/_kernels.js';
import { installNativeBatchNorm } from './native/_batchnorm.js';
import { installNativeDropout } from './native/_dropout.js';
import { installNativeGradients } from './native/_gradients.js';
import { installNativeOptimizers } from './native/_optimizers.js';
import { installTapeRelease } from './native/_tape.js';

const MARK = Symbol.for('@fer/engine/native-kernel');

/** Options of {@link registerNativeKernels}. */
export interface NativeKernelsOptions {
  /** Threads the native kernels use on this JS thread; default one per core (`os.availableParallelism()`). */
  threads?: number;
}

/** What {@link registerNativeKernels} and {@link describeNativeKernels} report. */
export interface NativeKernelsStatus {
  /** True when the native kernels are loaded and registered on 'wasm'. */
  active: boolean;
  /** Why not, when they are not (package missing, not built, failed to load, disabled). */
  why?: string;
  /** The platform package and its version, e.g. `@fer/engine-native-linux-x64-gnu` 0.1.0. */
  package?: string;
  version?: string;
  /** The addon file and the shared libraries it loaded (oneDNN, OpenMP). */
  path?: string;
  libraries?: string[];
  /** oneDNN's version and the instruction set it runs with (e.g. avx2, avx512_core). */
  dnnl?: string;
  isa?: string;
  /**
   * The instruction set our own element-wise kernels (Adam, dropout, batch norm, pooling gradients, ...) run with:
   * 'avx2' or 'sse2', the CPU's best (the AVX-512 copy only with FER_NATIVE_ISA=avx512, until it has run on an
   * AVX-512 machine), capped like oneDNN by ONEDNN_MAX_CPU_ISA (e.g. AVX2) and by FER_NATIVE_ISA=avx512|avx2|sse2.
   * Every choice gives the same bits. Absent with an addon built before it.
   */
  kernelIsa?: string;
  /** How convolutions run: 'auto' (per shape: NHWC, oneDNN's blocked layout or im2col + GEMM), or the plan FER_NATIVE_CONV forces (absent from older binaries). */
  convPlan?: string;
  threads?: number;
  /** Kernels registered natively on 'wasm' (each falls back to the WASM kernel for cases it does not take). */
  kernels?: string[];
  /** Native calls that failed and went to the WASM fallback (should stay empty; report it if not). */
  failures?: { kernel: string; message: string }[];
  /** The oneDNN implementation of each primitive used so far on this thread, e.g. `conv_fwd:128x48x48x1x...: brgconv:avx512_core`. */
  primitives?: Record<string, string>;
}

let status: NativeKernelsStatus | undefined;

/**
 * Loads the native kernels and registers them on the tfjs `wasm` backend, over the WASM training kernels
 * (call {@link registerWasmTrainingKernels} first; `initBackend` does both). Never throws for a missing or
 * broken native package: it returns `{ active: false, why }` and the WASM kernels stay in place.
 * Also, while the backend is wasm: tf.AdamOptimizer, tf.SGDOptimizer and tf.MomentumOptimizer update each
 * variable in one native pass, and tf.layers Dropout draws its mask natively; both compute what tfjs
 * computes, bit for bit (same float32 arithmetic, same alea random sequence for the same seed or
 * Math.random() draw). Idempotent; a second call only changes `threads`.
 * @example
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmTrainingKernels, registerNativeKernels } from '@fer/engine';
 * registerWasmTrainingKernels();
 * const native = registerNativeKernels({ threads: 2 }); // { active: true, dnnl: '2.6.3', isa: 'avx2', ... } or { active: false, why }
 */
export function registerNativeKernels(options: NativeKernelsOptions = {}): NativeKernelsStatus {
  if (getKernel('Conv2D', 'wasm') == null) {
    throw new FerEngineError(
      'E_WASM_BACKEND_MISSING',
      'registerNativeKernels() found no kernels for the "wasm" backend; expected @tensorflow/tfjs-backend-wasm to be loaded. ' +
        "Add `import '@tensorflow/tfjs-backend-wasm'` before calling it.",
    );
  }
  const threads = options.threads ?? defaultNativeThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new FerEngineError('E_BAD_OPTION', `registerNativeKernels: got threads ${threads}; expected a positive integer. Fix: omit it (one per core) or pass e.g. { threads: 2 }.`);
  }
  const load = loadNative();
  if (!load.ok) {
    status = { active: false, why: load.why };
    return status;
  }
  const { addon, origin } = load;
  addon.setThreads(threads);
  const kernels: string[] = [];
  // NOTE: FER_ENGINE_NATIVE_EXCLUDE=Kernel,Kernel leaves those kernels to WASM (to isolate a native kernel).
  const exclude = new Set((process.env['FER_ENGINE_NATIVE_EXCLUDE'] ?? '').split(',').map((k) => k.trim()).filter(Boolean));
  for (const spec of NATIVE_SPECS) {
    if (exclude.has(spec.name)) continue;
    const current = getKernel(spec.name, 'wasm');
    if (current && (current.kernelFunc as unknown as Record<symbol, unknown>)[MARK]) {
      kernels.push(spec.name);
      continue;
    }
    const fn = spec.make(addon, current?.kernelFunc as unknown as KernelFn | undefined) as unknown as KernelFunc | undefined;
    if (!fn) continue;
    Object.defineProperty(fn, MARK, { value: true });
    if (current) unregisterKernel(spec.name, 'wasm');
    const config: KernelConfig = { kernelName: spec.name, backendName: 'wasm', kernelFunc: fn };
    if (current?.setupFunc) config.setupFunc = current.setupFunc;
    registerKernel(config);
    kernels.push(spec.name);
  }
  installNativeOptimizers();
  installNativeDropout();
  installNativeBatchNorm();
  installNativeGradients();
  installTapeRelease(() => getBackend() === 'wasm' && getKernel('FerDropoutMask', 'wasm') != null);
  const info = addon.info();
  status = { active: true, package: origin.package, version: origin.version, path: origin.path, libraries: origin.libraries, dnnl: info.dnnl, isa: info.isa, ...(info.kernelIsa ? { kernelIsa: info.kernelIsa } : {}), threads, kernels };
  return status;
}

/**
 * The native kernels' state on this thread: loaded or why not, package, libraries, oneDNN version and ISA,
 * threads, registered kernels, and any call that fell back to WASM.
 * @example
 * describeNativeKernels(); // { active: true, package: '@fer/engine-native-linux-x64-gnu', dnnl: '2.6.3', isa: 'avx512_core', kernelIsa: 'avx2', threads: 2, ... }
 */
export function describeNativeKernels(): NativeKernelsStatus {
  if (!status) {
    const name = nativePackageName();
    return { active: false, why: `registerNativeKernels() was not called${name ? '' : ` (and none are built for ${process.platform}-${process.arch})`}` };
  }
  if (!status.active) return { ...status };
  const load = loadNative();
  const info = load.ok ? load.addon.info() : undefined;
  return { ...status, ...(info?.kernelIsa ? { kernelIsa: info.kernelIsa } : {}), ...(info?.convPlan ? { convPlan: info.convPlan } : {}), failures: nativeFailures.slice(), primitives: info ? info.primitives : {} };
}
