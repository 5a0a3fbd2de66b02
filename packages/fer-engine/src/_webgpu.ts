// WebGPU in Node: the Dawn GPU from the `webgpu` npm package, exposed to @tensorflow/tfjs-backend-webgpu.
// Internal: the public surface is initBackend / describeBackend / disposeBackend in backend.ts.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as tfType from '@tensorflow/tfjs';
import { adapterReport, errorText, type AdapterReport, type GpuAdapterLike, type GpuDeviceLike, type GpuLike } from './_adapter.js';
import { FerEngineError } from './errors.js';

export { errorText, softwareAdapterReason, type AdapterReport } from './_adapter.js';

/** A Dawn GPU with a usable adapter, ready to become the tfjs 'webgpu' backend. */
export interface WebGpuProbe {
  gpu: GpuLike;
  adapter: GpuAdapterLike;
  report: AdapterReport;
  versions: Record<string, string>;
}

/** The live Dawn objects behind the active tfjs 'webgpu' backend. */
interface WebGpuState {
  gpu: GpuLike;
  device: GpuDeviceLike;
  report: AdapterReport;
  versions: Record<string, string>;
  definedNavigator: boolean;
}

// NOTE: Dawn crashes the process (SIGSEGV / "futex facility returned an unexpected error code") when a GPU
// instance is garbage-collected while a device is alive, and keeps the event loop busy while a device is
// alive. So every instance and adapter we create stays referenced for the life of the process (they are
// small, and idle instances do not keep Node running), and disposeWebGpu() destroys the device.
let active: WebGpuState | undefined;
const keepAlive: unknown[] = [];

/**
 * Loads Dawn (`webgpu` package) and asks for an adapter. Returns the probe, or a reason string when
 * there is none. Throws E_BACKEND_UNAVAILABLE only when the packages themselves cannot be loaded.
 */
export async function probeWebGpu(opts: { powerPreference?: 'high-performance' | 'low-power' } = {}): Promise<WebGpuProbe | string> {
  let webgpu: { create(args: string[]): unknown; globals: object };
  try {
    webgpu = (await import(/* @vite-ignore */ WEBGPU_PACKAGE)) as typeof webgpu;
  } catch (e) {
    throw new FerEngineError(
      'E_BACKEND_UNAVAILABLE',
      `backend "webgpu": could not load the "webgpu" package (Dawn for Node): ${errorText(e)}. ` +
        'Expected it installed next to @fer/engine. Fix: npm i webgpu@^0.3.8 @tensorflow/tfjs-backend-webgpu@^4.22.0 ' +
        '(Dawn is prebuilt inside the package for linux-x64, win32-x64 and macOS; nothing is downloaded).',
      { cause: e },
    );
  }
  for (const [k, v] of Object.entries(webgpu.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  let gpu: GpuLike;
  try {
    gpu = webgpu.create([]) as GpuLike;
  } catch (e) {
    return `Dawn could not start: ${errorText(e)}`;
  }
  keepAlive.push(gpu);
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    return `Dawn found no adapter (${errorText(e)})`;
  }
  if (!adapter) return 'Dawn found no adapter (requestAdapter returned null)';
  keepAlive.push(adapter);
  const report = adapterReport(adapter);
  return { gpu, adapter, report, versions: { webgpu: packageVersion(WEBGPU_PACKAGE) } };
}

/**
 * Makes `probe`'s adapter the tfjs 'webgpu' backend and activates it. Idempotent while active.
 */
export async function activateWebGpu(tf: typeof tfType, probe: WebGpuProbe): Promise<void> {
  if (active) {
    if (!(await tf.setBackend('webgpu'))) {
      throw new FerEngineError('E_BACKEND_UNAVAILABLE', 'backend "webgpu": tf.setBackend("webgpu") failed although the device is alive. Fix: call disposeBackend() and initBackend again.');
    }
    return;
  }
  const { gpu, adapter, report } = probe;
  // tfjs-backend-webgpu reads navigator.gpu when its backend is constructed.
  const g = globalThis as { navigator?: { gpu?: unknown } };
  let definedNavigator = false;
  if (!g.navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    definedNavigator = true;
  } else if (!g.navigator.gpu) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
  let mod: { WebGPUBackend: new (device: unknown, info?: unknown) => tfType.KernelBackend; version_webgpu?: string };
  try {
    mod = (await import(/* @vite-ignore */ TFJS_WEBGPU_PACKAGE)) as typeof mod;
  } catch (e) {
    undefineNavigator(definedNavigator);
    throw new FerEngineError(
      'E_BACKEND_UNAVAILABLE',
      `backend "webgpu": could not load @tensorflow/tfjs-backend-webgpu: ${errorText(e)}. ` +
        'Expected it installed next to @tensorflow/tfjs. Fix: npm i @tensorflow/tfjs-backend-webgpu@^4.22.0',
      { cause: e },
    );
  }
  // Same device request as tfjs-backend-webgpu's own factory (base.ts), minus its
  // `[['bgra8unorm-storage']]` nesting slip.
  const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) => adapter.features.has(f));
  const l = report.limits;
  const requiredLimits: Record<string, number> = {};
  for (const k of ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize',
    'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup']) {
    if (l[k] !== undefined) requiredLimits[k] = l[k];
  }
  let device: GpuDeviceLike;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    undefineNavigator(definedNavigator);
    throw new FerEngineError('E_NO_ADAPTER', `backend "webgpu": adapter "${report.name}" refused to create a device: ${errorText(e)}. ` +
      'Expected a working WebGPU device. Fix: update the GPU driver (Vulkan), or check `vulkaninfo --summary`.', { cause: e });
  }
  const versions = { ...probe.versions, 'tfjs-backend-webgpu': mod.version_webgpu ?? packageVersion(TFJS_WEBGPU_PACKAGE) };
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => {
    const backend = new mod.WebGPUBackend(device, adapter.info);
    guardReadSync(backend as unknown as WebGpuBackendInternals);
    return backend;
  }, 1);
  active = { gpu, device, report, versions, definedNavigator };
  if (!(await tf.setBackend('webgpu'))) {
    await disposeWebGpu(tf);
    throw new FerEngineError('E_BACKEND_UNAVAILABLE', `backend "webgpu": tfjs could not initialize WebGPU on "${report.name}". ` +
      'Fix: update @tensorflow/tfjs-backend-webgpu to match @tensorflow/tfjs, and the GPU driver.');
  }
}

/** The adapter and versions of the active WebGPU backend, if any. */
export function activeWebGpu(): { report: AdapterReport; versions: Record<string, string> } | undefined {
  return active ? { report: active.report, versions: active.versions } : undefined;
}

/** Unregisters the tfjs 'webgpu' backend and destroys the Dawn device (the instance stays referenced: see keepAlive). */
export async function disposeWebGpu(tf: typeof tfType): Promise<boolean> {
  if (!active) return false;
  const state = active;
  active = undefined;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  state.device.destroy();
  undefineNavigator(state.definedNavigator);
  return true;
}

/**
 * What is missing when Dawn finds no adapter: the Vulkan loader and ICD files it looked for, with the fix.
 */
/**
 * Whether this machine likely has a hardware GPU that Dawn could use, judged without starting Dawn (which
 * prints its own warnings on stderr while it looks: a missing Vulkan loader, `maxDynamic...` limits).
 * Linux: a GPU device node (`/dev/dri/renderD*`: AMD, Intel, nouveau; `/dev/nvidia0`...: NVIDIA; `/dev/dxg`:
 * WSL) and the Vulkan loader (libvulkan.so.1). Other platforms: yes (Metal, D3D12).
 * `auto` probes WebGPU only when this says yes (or `FER_ENGINE_WEBGPU=1`).
 */
export function hardwareGpuHint(
  env: { platform: string; exists(path: string): boolean; list(dir: string): string[] } = {
    platform: process.platform,
    exists: existsSync,
    list: (d) => { try { return readdirSync(d); } catch { return []; } },
  },
): { likely: boolean; why: string } {
  if (env.platform !== 'linux') return { likely: true, why: `${env.platform} has a native GPU API` };
  const devices = [
    ...env.list('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`),
    ...env.list('/dev').filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg').map((f) => `/dev/${f}`),
  ];
  if (!devices.length) return { likely: false, why: 'no GPU device (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)' };
  const loader = VULKAN_LOADERS.find((p) => env.exists(p));
  if (!loader) return { likely: false, why: `GPU device ${devices[0]} but no Vulkan loader (libvulkan.so.1; apt-get install libvulkan1)` };
  return { likely: true, why: `GPU device ${devices.join(', ')}, Vulkan loader ${loader}` };
}

export function noAdapterHelp(): string {
  const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const icds: string[] = [];
  for (const d of icdDirs) {
    try {
      for (const f of readdirSync(d)) if (f.endsWith('.json')) icds.push(`${d}/${f}`);
    } catch {
      // directory absent
    }
  }
  const loader = VULKAN_LOADERS.find((p) => existsSync(p));
  const env = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES'].filter((k) => process.env[k]).map((k) => {
    const files = (process.env[k] ?? '').split(':').filter(Boolean);
    const missing = files.filter((f) => !existsSync(f));
    return `${k}=${process.env[k]}${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`;
  });
  const found = process.platform === 'linux'
    ? `Vulkan loader: ${loader ?? 'not found (libvulkan.so.1)'}; ICD files: ${icds.length ? icds.join(', ') : 'none'}` +
      `${env.length ? `; ${env.join('; ')}` : ''}. `
    : '';
  return `${found}Expected a Vulkan (Linux), D3D12 (Windows) or Metal (macOS) driver that Dawn can use. ` +
    'Fix: NVIDIA: install the proprietary driver (it ships the Vulkan ICD nvidia_icd.json) and, in containers, run with ' +
    '--gpus all and NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics; AMD/Intel: apt-get install mesa-vulkan-drivers libvulkan1 ' +
    '(Debian 12: mesa 25.x from bookworm-backports, `apt-get install -t bookworm-backports mesa-vulkan-drivers`; Dawn rejects mesa 22.x); ' +
    'check with `vulkaninfo --summary` (package vulkan-tools), and that VK_ICD_FILENAMES / VK_DRIVER_FILES, if set, point at existing ICD files. ' +
    'For tests without a GPU, mesa-vulkan-drivers also provides lavapipe (software; pass allowSoftwareAdapter: true).';
}

// --- Internal helpers ---

const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1', '/usr/local/lib/libvulkan.so.1'];

interface WebGpuBackendInternals {
  hasReadSyncWarned: boolean;
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values?: unknown; dtype?: string } | undefined };
}

/**
 * tfjs-webgpu's readSync (behind dataSync/arraySync/bufferSync) reads the GPU through an OffscreenCanvas,
 * which Node does not have, and there is no way to wait for a GPU buffer synchronously in Node (Dawn
 * delivers buffer maps from the event loop). Values already on the CPU are still returned; otherwise
 * this throws E_SYNC_READ with the fix instead of "OffscreenCanvas is not defined".
 */
function guardReadSync(backend: WebGpuBackendInternals): void {
  // NOTE: libraries never print; tfjs-webgpu would console.warn on the first sync read.
  backend.hasReadSyncWarned = true;
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (!data || data.values != null || data.dtype === 'string' || data.dtype === 'complex64' || typeof OffscreenCanvasCtor() === 'function') {
      return original(dataId);
    }
    throw new FerEngineError(
      'E_SYNC_READ',
      'dataSync()/arraySync()/bufferSync() (or a backend switch that moves the tensor) on a tensor held by WebGPU in Node: ' +
        'got a synchronous read, expected an asynchronous one, since Node cannot wait for the GPU synchronously ' +
        '(tfjs-webgpu reads synchronously only through OffscreenCanvas, a browser API). ' +
        'Fix: use `await tensor.data()` / `await tensor.array()` / `await tensor.buffer()`.',
    );
  };
}

function OffscreenCanvasCtor(): unknown {
  return (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas;
}

// Variables, so bundlers leave these optional peers alone.
const WEBGPU_PACKAGE = 'webgpu';
const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

function undefineNavigator(definedNavigator: boolean): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (definedNavigator) {
    delete g.navigator;
  } else if (g.navigator && Object.getOwnPropertyDescriptor(g.navigator, 'gpu')?.configurable) {
    delete g.navigator.gpu;
  }
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
