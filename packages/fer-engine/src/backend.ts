// initBackend: picks and starts the tfjs backend (native TensorFlow, WebGPU through Dawn, WASM, cpu)
// and says what it chose and why.
import * as tf from '@tensorflow/tfjs';
import { FerEngineError } from './errors.js';
import { TENSORFLOW_HELP, loadTensorflow } from './_tensorflow.js';
import { activateWebGpu, activeWebGpu, disposeWebGpu, errorText, hardwareGpuHint, noAdapterHelp, probeWebGpu, type AdapterReport } from './_webgpu.js';
import { installUnusedGradientSkip } from './_unused-grads.js';
import { describeNativeKernels, registerNativeKernels, type NativeKernelsStatus } from './native-kernels.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

export type { AdapterReport } from './_webgpu.js';

/** The backends initBackend knows. `auto` picks the fastest one that works here. */
export type BackendChoice = 'auto' | 'wasm' | 'webgpu' | 'tensorflow' | 'cpu';

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Which backend; default `auto`: tfjs-node-gpu / tfjs-node if they load, then WebGPU on a hardware adapter, else WASM. */
  backend?: BackendChoice;
  /**
   * CPU threads: the native kernels' thread count (default one per core, `os.availableParallelism()`),
   * also passed to tfjs-backend-wasm's `setThreadsCount` before the backend starts.
   */
  threads?: number;
  /**
   * The native CPU kernels on `wasm` (optional package `@fer/engine-native-linux-x64-gnu`: oneDNN, fused
   * batch norm/pooling/optimizer updates). Default `'auto'`: use them when they load, else say why and stay on
   * the WASM kernels. `true`: throw `E_NATIVE_UNAVAILABLE` when they do not load. `false`: WASM kernels only.
   * The environment variable `FER_ENGINE_NATIVE=0` turns them off too.
   */
  native?: boolean | 'auto';
  /**
   * Accept a software WebGPU adapter (lavapipe/llvmpipe, SwiftShader) for an explicit `backend: 'webgpu'`.
   * Default false. `auto` never picks a software adapter: it is slower than WASM.
   */
  allowSoftwareAdapter?: boolean;
  /** WebGPU adapter preference; default `high-performance` (the discrete GPU on dual-GPU machines). */
  powerPreference?: 'high-performance' | 'low-power';
}

/** What {@link initBackend} started. */
export interface BackendInfo {
  /** The tfjs backend name now active: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'. */
  backend: string;
  /** Why this backend, including why the ones before it were passed over (auto). */
  reason: string;
  /** The WebGPU adapter, when the backend is 'webgpu' (or one was found and rejected). */
  adapter?: AdapterReport;
  /** Backends passed over, with why. */
  rejected: { backend: string; why: string }[];
  /** For `wasm`: whether the native kernels run, and why not when they do not. */
  native?: NativeKernelsStatus;
}

/** What {@link describeBackend} returns: for run records (env.json) and benchmark lines. */
export interface BackendDescription {
  backend: string;
  requested?: BackendChoice;
  reason?: string;
  adapter?: AdapterReport;
  /** tfjs, the backend package, Dawn (`webgpu`) or tfjs-node, and Node versions. */
  versions: Record<string, string>;
  /** WASM thread count, when the backend is wasm. */
  threads?: number;
  /** For `wasm`: the native kernels (package, oneDNN version and ISA, libraries, threads) or why they are off. */
  native?: NativeKernelsStatus;
}

/**
 * Chooses and starts a tfjs backend, and reports what it chose and why.
 *
 * - `auto`: `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` when they load (both optional; their
 *   libtensorflow download is broken, so mostly they do not); then WebGPU when Dawn finds a **hardware**
 *   adapter (never a software one; probed only when a GPU device and the Vulkan loader are present on Linux,
 *   or with `FER_ENGINE_WEBGPU=1`; `FER_ENGINE_WEBGPU=0` never); else WASM with the native
 *   kernels when they load, else the WASM training kernels.
 * - `webgpu`: Dawn (`webgpu` package) + `@tensorflow/tfjs-backend-webgpu`; throws `E_NO_ADAPTER` when there
 *   is no adapter, `E_SOFTWARE_ADAPTER` for a software one unless `allowSoftwareAdapter: true`.
 * - `tensorflow`: throws `E_BACKEND_UNAVAILABLE` when neither native package loads.
 * - `wasm`, `cpu`: always available.
 *
 * In a Node program that used WebGPU, call {@link disposeBackend} (or `process.exit()`) at the end: Dawn keeps
 * the event loop alive while its device exists.
 * @example
 * import { initBackend } from '@fer/engine';
 * const { backend, reason, adapter } = await initBackend({ backend: 'auto' });
 * // backend: 'wasm', reason: 'wasm: ... ; passed over: tensorflow (...), webgpu (software adapter ...)'
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const requested = options.backend ?? 'auto';
  // Training on any backend: the gradients of inputs off the path (the image into the first conv layer) are not computed.
  installUnusedGradientSkip();
  let info: BackendInfo;
  switch (requested) {
    case 'auto':
      info = await initAuto(options);
      break;
    case 'tensorflow':
      info = await initTensorflow(true, []);
      break;
    case 'webgpu':
      info = await initWebGpu(options, true, []);
      break;
    case 'wasm':
      info = await initWasm(options, 'wasm: requested', []);
      break;
    case 'cpu':
      info = await initCpu();
      break;
    default:
      throw new FerEngineError(
        'E_UNKNOWN_BACKEND',
        `initBackend: got backend "${String(requested)}"; expected one of auto, wasm, webgpu, tensorflow, cpu. ` +
          'Fix: pass { backend: "auto" } to let @fer/engine choose.',
      );
  }
  last = { requested, info };
  return info;
}

/**
 * The active backend with its adapter and versions, for run records and benchmark lines.
 * @example
 * const d = describeBackend(); // { backend: 'webgpu', adapter: { name: 'NVIDIA ...', ... }, versions: { tfjs: '4.22.0', ... } }
 */
export function describeBackend(): BackendDescription {
  const backend = tf.getBackend() ?? 'none';
  const versions: Record<string, string> = { tfjs: tf.version.tfjs, node: process.versions.node };
  const gpu = activeWebGpu();
  if (backend === 'webgpu' && gpu) Object.assign(versions, gpu.versions);
  if (backend === 'wasm' && wasmVersion) versions['tfjs-backend-wasm'] = wasmVersion;
  if (backend === 'tensorflow' && tensorflowPkg) versions[tensorflowPkg.pkg] = tensorflowPkg.version;
  const out: BackendDescription = { backend, versions };
  if (last && last.info.backend === backend) {
    out.requested = last.requested;
    out.reason = last.info.reason;
  }
  if (backend === 'webgpu' && gpu) out.adapter = gpu.report;
  if (backend === 'wasm' && wasmThreads !== undefined) out.threads = wasmThreads;
  if (backend === 'wasm') out.native = describeNativeKernels();
  return out;
}

/**
 * Releases what initBackend started for WebGPU: unregisters the tfjs 'webgpu' backend (disposing its
 * tensors) and destroys the Dawn device, so that Node can exit. Switches tfjs to
 * 'cpu' if WebGPU was active. Safe to call when nothing is active.
 * @example
 * await initBackend({ backend: 'webgpu' });
 * try { await train(...); } finally { await disposeBackend(); }
 */
export async function disposeBackend(): Promise<void> {
  const wasActive = tf.getBackend() === 'webgpu';
  await disposeWebGpu(tf);
  if (wasActive) await tf.setBackend('cpu');
}

// --- Internal helpers ---

let last: { requested: BackendChoice; info: BackendInfo } | undefined;
let wasmVersion: string | undefined;
let wasmThreads: number | undefined;
let tensorflowPkg: { pkg: string; version: string } | undefined;

async function initAuto(options: InitBackendOptions): Promise<BackendInfo> {
  const rejected: { backend: string; why: string }[] = [];
  const native = await initTensorflow(false, rejected);
  if (native) return native;
  let adapter: AdapterReport | undefined;
  // NOTE: FER_ENGINE_WEBGPU=0 keeps `auto` from starting Dawn at all (its probe loads a Vulkan driver, prints
  // Dawn's warnings, and Dawn can crash a process while tearing down at exit).
  if (process.env['FER_ENGINE_WEBGPU'] === '0') {
    rejected.push({ backend: 'webgpu', why: 'not probed: FER_ENGINE_WEBGPU=0' });
    return initWasm(options, 'wasm: the fastest backend that works here without a native install', rejected);
  }
  // NOTE: nor without a GPU that Dawn could use (it would only find a software adapter, or none, and print
  // its warnings on the way); FER_ENGINE_WEBGPU=1 probes anyway.
  const hint = process.env['FER_ENGINE_WEBGPU'] === '1' ? undefined : hardwareGpuHint();
  if (hint && !hint.likely) {
    rejected.push({ backend: 'webgpu', why: `not probed: ${hint.why}; FER_ENGINE_WEBGPU=1 probes anyway` });
    return initWasm(options, 'wasm: the fastest backend that works here without a native install', rejected);
  }
  try {
    const gpu = await initWebGpu({ ...options, allowSoftwareAdapter: false }, false, rejected);
    if (gpu.backend === 'webgpu') return gpu;
    adapter = gpu.adapter;
  } catch (e) {
    rejected.push({ backend: 'webgpu', why: errorText(e).replace(/^\[fer-engine\] /, '') });
  }
  const info = await initWasm(options, 'wasm: the fastest backend that works here without a native install', rejected);
  return adapter ? { ...info, adapter } : info;
}

async function initTensorflow(explicit: true, rejected: BackendInfo['rejected']): Promise<BackendInfo>;
async function initTensorflow(explicit: false, rejected: BackendInfo['rejected']): Promise<BackendInfo | undefined>;
async function initTensorflow(explicit: boolean, rejected: BackendInfo['rejected']): Promise<BackendInfo | undefined> {
  const load = await loadTensorflow();
  if (load.ok && (await tf.setBackend('tensorflow'))) {
    tensorflowPkg = { pkg: load.pkg, version: load.version };
    return { backend: 'tensorflow', reason: withRejected(`tensorflow: ${load.pkg} ${load.version} loaded (native libtensorflow)`, rejected), rejected };
  }
  const why = load.ok
    ? `${load.pkg} loaded but tf.setBackend("tensorflow") failed`
    : load.tried.map((t) => `${t.pkg}: ${t.why}`).join('; ');
  if (explicit) {
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', `backend "tensorflow": got ${why}; expected @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node with its libtensorflow. ${TENSORFLOW_HELP}`);
  }
  rejected.push({ backend: 'tensorflow', why });
  return undefined;
}

async function initWebGpu(options: InitBackendOptions, explicit: boolean, rejected: BackendInfo['rejected']): Promise<BackendInfo & { adapter?: AdapterReport }> {
  const current = activeWebGpu();
  if (current && (!current.report.isSoftware || options.allowSoftwareAdapter)) {
    await tf.setBackend('webgpu');
    return { backend: 'webgpu', reason: withRejected(`webgpu: adapter "${current.report.name}" (already started)`, rejected), adapter: current.report, rejected };
  }
  const probe = await probeWebGpu({ powerPreference: options.powerPreference });
  if (typeof probe === 'string') {
    if (explicit) {
      throw new FerEngineError('E_NO_ADAPTER', `backend "webgpu": ${probe}. ${noAdapterHelp()}`);
    }
    rejected.push({ backend: 'webgpu', why: `${probe} (check \`vulkaninfo --summary\`; see "Running on a GPU" in the README)` });
    return { backend: '', reason: '', rejected };
  }
  const { report } = probe;
  if (report.isSoftware && !options.allowSoftwareAdapter) {
    const why = `adapter "${report.name}" is software: ${report.softwareReason} (slower than WASM)`;
    if (explicit) {
      throw new FerEngineError(
        'E_SOFTWARE_ADAPTER',
        `backend "webgpu": got ${why}; expected a hardware GPU adapter. Fix: pass { allowSoftwareAdapter: true } to use it ` +
          `anyway (tests, correctness checks), or install a GPU driver. ${noAdapterHelp()}`,
      );
    }
    rejected.push({ backend: 'webgpu', why });
    return { backend: '', reason: '', adapter: report, rejected };
  }
  await activateWebGpu(tf, probe);
  const kind = report.isSoftware ? 'software, allowed by allowSoftwareAdapter' : 'hardware';
  return {
    backend: 'webgpu',
    reason: withRejected(`webgpu: adapter "${report.name}" (${kind}; vendor ${report.vendor || '?'}, architecture ${report.architecture || '?'})`, rejected),
    adapter: report,
    rejected,
  };
}

async function initWasm(options: InitBackendOptions, why: string, rejected: BackendInfo['rejected']): Promise<BackendInfo> {
  let wasm: { setThreadsCount?(n: number): void; getThreadsCount?(): number; version_wasm?: string };
  try {
    wasm = (await import('@tensorflow/tfjs-backend-wasm')) as typeof wasm;
  } catch (e) {
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', `backend "wasm": could not load @tensorflow/tfjs-backend-wasm: ${errorText(e)}. Fix: npm i @tensorflow/tfjs-backend-wasm@^4.22.0`, { cause: e });
  }
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new FerEngineError('E_BAD_OPTION', `initBackend: got threads ${options.threads}; expected a positive integer. Fix: omit it or pass e.g. { threads: 2 }.`);
    }
    wasm.setThreadsCount?.(options.threads);
  }
  const { registered } = registerWasmTrainingKernels();
  const wantNative = options.native ?? 'auto';
  if (wantNative !== true && wantNative !== false && wantNative !== 'auto') {
    throw new FerEngineError('E_BAD_OPTION', `initBackend: got native ${String(wantNative)}; expected true, false or 'auto'. Fix: omit it to use the native kernels when they load.`);
  }
  const native: NativeKernelsStatus = wantNative === false
    ? { active: false, why: 'turned off (native: false)' }
    : registerNativeKernels(options.threads !== undefined ? { threads: options.threads } : {});
  if (wantNative === true && !native.active) {
    throw new FerEngineError(
      'E_NATIVE_UNAVAILABLE',
      `backend "wasm" with native: true: got no native kernels: ${native.why}; expected @fer/engine-native-linux-x64-gnu to load. ` +
        (/FER_ENGINE_NATIVE=/.test(native.why ?? '')
          ? 'Fix: unset FER_ENGINE_NATIVE, or pass native: "auto" to fall back to the WASM kernels.'
          : 'Fix: install it (npm i @fer/engine-native-linux-x64-gnu on linux-x64 glibc), or pass native: "auto" to fall back to the WASM kernels.'),
    );
  }
  if (!(await tf.setBackend('wasm'))) {
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', 'backend "wasm": tf.setBackend("wasm") failed; expected @tensorflow/tfjs-backend-wasm to start. Fix: check that its .wasm files are next to its dist/ (reinstall it).');
  }
  wasmVersion = wasm.version_wasm;
  wasmThreads = wasm.getThreadsCount?.();
  const nativeNote = native.active
    ? `native kernels: oneDNN ${native.dnnl} (${native.isa}), ${native.threads} thread${native.threads === 1 ? '' : 's'}, from ${native.package} ${native.version}`
    : `native kernels off: ${native.why}; WASM training kernels: ${registered.join(', ')}`;
  return { backend: 'wasm', reason: withRejected(`${why}; ${nativeNote}`, rejected), rejected, native };
}

async function initCpu(): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) {
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', 'backend "cpu": tf.setBackend("cpu") failed; expected @tensorflow/tfjs to provide it. Fix: import @tensorflow/tfjs (not only tfjs-core).');
  }
  return { backend: 'cpu', reason: 'cpu: requested (plain JavaScript, slowest)', rejected: [] };
}

function withRejected(reason: string, rejected: BackendInfo['rejected']): string {
  return rejected.length ? `${reason}; passed over: ${rejected.map((r) => `${r.backend} (${r.why})`).join('; ')}` : reason;
}
