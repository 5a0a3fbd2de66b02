// initBackend for a web page: picks and starts the tfjs backend the browser offers (WebGPU, then WebGL, then
// WASM) and says what it chose and why. Free of Node built-ins: the browser entry (browser.ts) exports it.
// The Node version (backend.ts) adds tfjs-node, WebGPU through Dawn and the native kernels.
import * as tf from '@tensorflow/tfjs';
import { adapterReport, errorText, type AdapterReport, type GpuLike } from './_adapter.js';
import { FerEngineError } from './errors.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

export type { AdapterReport } from './_adapter.js';

/** The backends initBackend knows in a browser. `auto` picks the fastest one that works here. */
export type BackendChoice = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Options of {@link initBackend} in a browser. */
export interface InitBackendOptions {
  /**
   * Which backend; default `auto`: WebGPU on a hardware adapter, then WebGL on a hardware renderer, else WASM.
   * `tensorflow` (tfjs-node) is Node-only: it throws `E_BACKEND_UNAVAILABLE`.
   */
  backend?: BackendChoice;
  /**
   * WASM threads, passed to tfjs-backend-wasm's `setThreadsCount` before the backend starts; default one per core
   * (`navigator.hardwareConcurrency`). Threads run only on a cross-origin-isolated page (SharedArrayBuffer).
   */
  threads?: number;
  /**
   * The native CPU kernels are a Node addon: in a browser `'auto'` (default) and `false` use the WASM training
   * kernels, and `true` throws `E_NATIVE_UNAVAILABLE`.
   */
  native?: boolean | 'auto';
  /**
   * Accept a software WebGPU adapter or WebGL renderer (SwiftShader, llvmpipe) for an explicit `backend: 'webgpu'`
   * or `'webgl'`. Default false. `auto` never picks a software one: it is slower than WASM.
   */
  allowSoftwareAdapter?: boolean;
  /** WebGPU adapter preference; default `high-performance`. */
  powerPreference?: 'high-performance' | 'low-power';
  /**
   * Where the page serves tfjs-backend-wasm's `.wasm` files: a folder URL ending in `/`, or one URL per file name
   * (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`, `tfjs-backend-wasm-threaded-simd.wasm`), as
   * tfjs-backend-wasm's `setWasmPaths`. Default: tfjs-backend-wasm's own lookup (next to its script).
   */
  wasmPaths?: string | Record<string, string>;
}

/** What {@link initBackend} started. */
export interface BackendInfo {
  /** The tfjs backend name now active: 'webgpu' | 'webgl' | 'wasm' | 'cpu'. */
  backend: string;
  /** Why this backend, including why the ones before it were passed over (auto). */
  reason: string;
  /** The WebGPU adapter, when the backend is 'webgpu' (or one was found and rejected). */
  adapter?: AdapterReport;
  /** The WebGL renderer, when the backend is 'webgl' (or one was found and rejected). */
  renderer?: string;
  /** Backends passed over, with why. */
  rejected: { backend: string; why: string }[];
}

/** What {@link describeBackend} returns. */
export interface BackendDescription {
  backend: string;
  requested?: BackendChoice;
  reason?: string;
  adapter?: AdapterReport;
  renderer?: string;
  /** tfjs and the backend package versions. */
  versions: Record<string, string>;
  /** WASM thread count, when the backend is wasm. */
  threads?: number;
}

/**
 * Chooses and starts a tfjs backend in a browser, and reports what it chose and why.
 *
 * - `auto`: WebGPU when `navigator.gpu` gives a **hardware** adapter and `@tensorflow/tfjs-backend-webgpu` is
 *   imported (the page imports it: it is an optional package); then WebGL when the page gets a hardware WebGL
 *   renderer (not SwiftShader/llvmpipe); else WASM with the WASM training kernels.
 * - `webgpu`: throws `E_BACKEND_UNAVAILABLE` without `navigator.gpu` or without tfjs-backend-webgpu imported,
 *   `E_NO_ADAPTER` when there is no adapter, `E_SOFTWARE_ADAPTER` for a software one unless `allowSoftwareAdapter`.
 * - `webgl`: throws `E_BACKEND_UNAVAILABLE` when the page gets no WebGL context, `E_SOFTWARE_ADAPTER` for a
 *   software renderer unless `allowSoftwareAdapter`.
 * - `wasm`, `cpu`: always available (for WASM, the page serves its `.wasm` files: see `wasmPaths`).
 * - `tensorflow`: Node-only (tfjs-node); throws `E_BACKEND_UNAVAILABLE`.
 * @example
 * import '@tensorflow/tfjs-backend-webgpu'; // optional: lets `auto` pick WebGPU
 * import { initBackend } from '@fer/engine';
 * const { backend, reason } = await initBackend({ wasmPaths: '/wasm/' });
 * // backend: 'webgl', reason: 'webgl: renderer "ANGLE (...)"; passed over: webgpu (no navigator.gpu ...)'
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const requested = options.backend ?? 'auto';
  const rejected: BackendInfo['rejected'] = [];
  let info: BackendInfo;
  switch (requested as string) {
    case 'auto':
      info = await initAuto(options, rejected);
      break;
    case 'webgpu':
      info = (await initWebGpu(options, true, rejected)) as BackendInfo;
      break;
    case 'webgl':
      info = (await initWebGl(options, true, rejected)) as BackendInfo;
      break;
    case 'wasm':
      info = await initWasm(options, 'wasm: requested', rejected);
      break;
    case 'cpu':
      info = await initCpu();
      break;
    case 'tensorflow':
      throw new FerEngineError(
        'E_BACKEND_UNAVAILABLE',
        'backend "tensorflow": got a request for tfjs-node in a browser; expected webgpu, webgl, wasm or cpu there: ' +
          'tfjs-node is a Node addon (Node-only). Fix: pass { backend: "auto" } in a page, and use backend "tensorflow" in Node only.',
      );
    default:
      throw new FerEngineError(
        'E_UNKNOWN_BACKEND',
        `initBackend: got backend "${String(requested)}"; expected one of auto, webgpu, webgl, wasm, cpu in a browser. ` +
          'Fix: pass { backend: "auto" } to let @fer/engine choose.',
      );
  }
  last = { requested, info };
  return info;
}

/**
 * The active backend with its adapter (or renderer) and versions.
 * @example
 * const d = describeBackend(); // { backend: 'wasm', threads: 8, versions: { tfjs: '4.22.0', 'tfjs-backend-wasm': '4.22.0' } }
 */
export function describeBackend(): BackendDescription {
  const backend = tf.getBackend() ?? 'none';
  const versions: Record<string, string> = { tfjs: tf.version.tfjs };
  if (backend === 'wasm' && wasmState?.version) versions['tfjs-backend-wasm'] = wasmState.version;
  const out: BackendDescription = { backend, versions };
  if (last && last.info.backend === backend) {
    out.requested = last.requested;
    out.reason = last.info.reason;
    if (last.info.adapter && backend === 'webgpu') out.adapter = last.info.adapter;
    if (last.info.renderer && backend === 'webgl') out.renderer = last.info.renderer;
  }
  if (backend === 'wasm' && wasmState?.threads !== undefined) out.threads = wasmState.threads;
  return out;
}

/**
 * Releases the GPU backend initBackend started (WebGPU or WebGL: its tensors and device) and switches tfjs to
 * 'cpu'; a later initBackend starts it again. Does nothing when the active backend is wasm or cpu.
 * @example
 * await initBackend();
 * try { await run(); } finally { await disposeBackend(); }
 */
export async function disposeBackend(): Promise<void> {
  const backend = tf.getBackend();
  if (backend !== 'webgpu' && backend !== 'webgl') return;
  const factory = tf.findBackendFactory(backend);
  await tf.setBackend('cpu');
  tf.removeBackend(backend);
  // NOTE: the factory stays registered so that initBackend can start the backend again.
  if (factory) tf.registerBackend(backend, factory, backend === 'webgpu' ? 3 : 2);
}

// --- Internal helpers ---

let last: { requested: BackendChoice; info: BackendInfo } | undefined;
let wasmState: { version?: string; threads?: number } | undefined;

interface BrowserGlobals {
  navigator?: { gpu?: GpuLike; hardwareConcurrency?: number };
  document?: { createElement(tag: 'canvas'): { getContext(kind: string): unknown } };
  OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown };
}
const page = globalThis as BrowserGlobals;

async function initAuto(options: InitBackendOptions, rejected: BackendInfo['rejected']): Promise<BackendInfo> {
  const auto = { ...options, allowSoftwareAdapter: false };
  let adapter: AdapterReport | undefined;
  let renderer: string | undefined;
  try {
    const gpu = await initWebGpu(auto, false, rejected);
    if (gpu?.backend === 'webgpu') return gpu;
    adapter = gpu?.adapter;
  } catch (e) {
    rejected.push({ backend: 'webgpu', why: errorText(e).replace(/^\[fer-engine\] /, '') });
  }
  try {
    const gl = await initWebGl(auto, false, rejected);
    if (gl?.backend === 'webgl') return adapter ? { ...gl, adapter } : gl;
    renderer = gl?.renderer;
  } catch (e) {
    rejected.push({ backend: 'webgl', why: errorText(e).replace(/^\[fer-engine\] /, '') });
  }
  const info = await initWasm(options, 'wasm: no hardware GPU backend here', rejected);
  return { ...info, ...(adapter ? { adapter } : {}), ...(renderer ? { renderer } : {}) };
}

/** Starts WebGPU, or (not explicit) records why not and returns what was found; explicit: throws instead. */
async function initWebGpu(options: InitBackendOptions, explicit: boolean, rejected: BackendInfo['rejected']): Promise<BackendInfo | { backend: ''; adapter?: AdapterReport } | undefined> {
  const fail = (code: 'E_BACKEND_UNAVAILABLE' | 'E_NO_ADAPTER' | 'E_SOFTWARE_ADAPTER', why: string, fix: string, adapter?: AdapterReport) => {
    if (explicit) throw new FerEngineError(code, `backend "webgpu": got ${why}; expected a hardware WebGPU adapter. Fix: ${fix}`);
    rejected.push({ backend: 'webgpu', why });
    return { backend: '' as const, ...(adapter ? { adapter } : {}) };
  };
  const gpu = page.navigator?.gpu;
  if (!gpu) return fail('E_BACKEND_UNAVAILABLE', 'no navigator.gpu (this browser, or this page, has no WebGPU)', 'use a browser with WebGPU on a secure (https or localhost) page, or pass { backend: "auto" }.');
  if (!tf.findBackendFactory('webgpu')) {
    return fail('E_BACKEND_UNAVAILABLE', '@tensorflow/tfjs-backend-webgpu not imported (no tfjs "webgpu" backend)', "add `import '@tensorflow/tfjs-backend-webgpu'` to the page (npm i @tensorflow/tfjs-backend-webgpu@^4.22.0).");
  }
  const powerPreference = options.powerPreference ?? 'high-performance';
  let found: Awaited<ReturnType<GpuLike['requestAdapter']>>;
  try {
    found = await gpu.requestAdapter({ powerPreference });
  } catch (e) {
    return fail('E_NO_ADAPTER', `no WebGPU adapter (requestAdapter failed: ${errorText(e)})`, 'enable WebGPU in the browser (chrome://gpu), or pass { backend: "auto" }.');
  }
  if (!found) return fail('E_NO_ADAPTER', 'no WebGPU adapter (requestAdapter returned null)', 'enable WebGPU in the browser (chrome://gpu), or pass { backend: "auto" }.');
  const adapter = adapterReport(found);
  if (adapter.isSoftware && !options.allowSoftwareAdapter) {
    return fail('E_SOFTWARE_ADAPTER', `adapter "${adapter.name}" is software: ${adapter.softwareReason} (slower than WASM)`, 'pass { allowSoftwareAdapter: true } to use it anyway, or { backend: "auto" }.', adapter);
  }
  // tfjs-backend-webgpu asks for its own adapter with this preference when the backend starts.
  setFlag('WEBGPU_USE_LOW_POWER_GPU', powerPreference === 'low-power');
  if (!(await startBackend('webgpu'))) {
    return fail('E_BACKEND_UNAVAILABLE', `tfjs could not start WebGPU on adapter "${adapter.name}"`, 'update @tensorflow/tfjs-backend-webgpu to match @tensorflow/tfjs, or pass { backend: "auto" }.', adapter);
  }
  const kind = adapter.isSoftware ? 'software, allowed by allowSoftwareAdapter' : 'hardware';
  return { backend: 'webgpu', reason: withRejected(`webgpu: adapter "${adapter.name}" (${kind})`, rejected), adapter, rejected };
}

/** Starts WebGL, or (not explicit) records why not and returns the renderer found; explicit: throws instead. */
async function initWebGl(options: InitBackendOptions, explicit: boolean, rejected: BackendInfo['rejected']): Promise<BackendInfo | { backend: ''; renderer?: string } | undefined> {
  const fail = (code: 'E_BACKEND_UNAVAILABLE' | 'E_SOFTWARE_ADAPTER', why: string, fix: string, renderer?: string) => {
    if (explicit) throw new FerEngineError(code, `backend "webgl": got ${why}; expected a hardware WebGL renderer. Fix: ${fix}`);
    rejected.push({ backend: 'webgl', why });
    return { backend: '' as const, ...(renderer ? { renderer } : {}) };
  };
  const renderer = webGlRenderer();
  if (renderer === undefined) return fail('E_BACKEND_UNAVAILABLE', 'no WebGL context (no canvas here, or WebGL is off)', 'enable hardware acceleration in the browser, or pass { backend: "auto" }.');
  const software = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i.test(renderer);
  if (software && !options.allowSoftwareAdapter) {
    return fail('E_SOFTWARE_ADAPTER', `renderer "${renderer}" is software (slower than WASM)`, 'pass { allowSoftwareAdapter: true } to use it anyway, or { backend: "auto" }.', renderer);
  }
  if (!(await startBackend('webgl'))) return fail('E_BACKEND_UNAVAILABLE', `tfjs could not start WebGL on renderer "${renderer}"`, 'pass { backend: "auto" }.', renderer);
  return { backend: 'webgl', reason: withRejected(`webgl: renderer "${renderer}"${software ? ' (software, allowed by allowSoftwareAdapter)' : ''}`, rejected), renderer, rejected };
}

async function initWasm(options: InitBackendOptions, why: string, rejected: BackendInfo['rejected']): Promise<BackendInfo> {
  if (options.native === true) {
    throw new FerEngineError(
      'E_NATIVE_UNAVAILABLE',
      'backend "wasm" with native: true: got a browser; expected Node, since the native kernels are a Node addon ' +
        '(@fer/engine-native-linux-x64-gnu). Fix: omit native (the WASM training kernels run in the browser), or train in Node.',
    );
  }
  if (options.native !== undefined && options.native !== false && options.native !== 'auto') {
    throw new FerEngineError('E_BAD_OPTION', `initBackend: got native ${String(options.native)}; expected true, false or 'auto'. Fix: omit it.`);
  }
  const threads = options.threads ?? page.navigator?.hardwareConcurrency;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new FerEngineError('E_BAD_OPTION', `initBackend: got threads ${threads}; expected a positive integer. Fix: omit it or pass e.g. { threads: 2 }.`);
  }
  let wasm: { setThreadsCount?(n: number): void; getThreadsCount?(): number; setWasmPaths?(p: string | Record<string, string>): void; version_wasm?: string };
  try {
    wasm = (await import('@tensorflow/tfjs-backend-wasm')) as typeof wasm;
  } catch (e) {
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', `backend "wasm": could not load @tensorflow/tfjs-backend-wasm: ${errorText(e)}. Fix: npm i @tensorflow/tfjs-backend-wasm@^4.22.0`, { cause: e });
  }
  if (options.wasmPaths !== undefined) wasm.setWasmPaths?.(options.wasmPaths);
  if (threads !== undefined) wasm.setThreadsCount?.(threads);
  const { registered } = registerWasmTrainingKernels();
  if (!(await startBackend('wasm'))) {
    throw new FerEngineError(
      'E_BACKEND_UNAVAILABLE',
      'backend "wasm": tf.setBackend("wasm") failed; expected tfjs-backend-wasm to fetch and start its .wasm file. ' +
        'Fix: serve tfjs-backend-wasm\'s dist/*.wasm files with the page and pass their URLs as { wasmPaths } (see the browser console for the failed fetch).',
    );
  }
  wasmState = { ...(wasm.version_wasm ? { version: wasm.version_wasm } : {}), ...(wasm.getThreadsCount ? { threads: wasm.getThreadsCount() } : {}) };
  const native = options.native === false ? 'native kernels off (native: false)' : 'native kernels off: a Node addon, not in a browser';
  return { backend: 'wasm', reason: withRejected(`${why}; ${native}; WASM training kernels: ${registered.join(', ')}`, rejected), rejected };
}

async function initCpu(): Promise<BackendInfo> {
  if (!(await startBackend('cpu'))) {
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', 'backend "cpu": tf.setBackend("cpu") failed; expected @tensorflow/tfjs to provide it. Fix: import @tensorflow/tfjs (not only tfjs-core).');
  }
  return { backend: 'cpu', reason: 'cpu: requested (plain JavaScript, slowest)', rejected: [] };
}

/** tf.setBackend, with a backend that fails to start (throws, or logs and returns false) reported as false. */
async function startBackend(name: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** The WebGL renderer's name (unmasked when the browser allows), or undefined without a WebGL context. */
function webGlRenderer(): string | undefined {
  let canvas: { getContext(kind: string): unknown } | undefined;
  try {
    canvas = page.OffscreenCanvas ? new page.OffscreenCanvas(1, 1) : page.document?.createElement('canvas');
  } catch {
    canvas = undefined;
  }
  if (!canvas) return undefined;
  const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGlLike | null;
  if (!gl) return undefined;
  const debug = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null;
  const renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  (gl.getExtension('WEBGL_lose_context') as { loseContext(): void } | null)?.loseContext();
  return renderer;
}

interface WebGlLike {
  readonly RENDERER: number;
  getExtension(name: string): unknown;
  getParameter(p: number): unknown;
}

function setFlag(name: string, value: boolean): void {
  try {
    tf.env().set(name, value);
  } catch {
    // NOTE: the flag is registered by tfjs-backend-webgpu; without it there is nothing to set.
  }
}

function withRejected(reason: string, rejected: BackendInfo['rejected']): string {
  return rejected.length ? `${reason}; passed over: ${rejected.map((r) => `${r.backend} (${r.why})`).join('; ')}` : reason;
}
