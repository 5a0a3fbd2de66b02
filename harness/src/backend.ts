// The one backend start-up of the harness (`fer train/evaluate/predict`, `pnpm reproduce`, `fer bench`):
// @fer/engine's initBackend, with the harness's flag names checked first.
import { initBackend, type BackendChoice } from '@fer/engine';
import { FerCliError } from './errors.js';
import { didYouMean } from './suggest.js';

/** `--backend` values: @fer/engine's choices, plus `native` (wasm that must run the native kernels; benchmarks). */
export const BACKENDS = ['auto', 'wasm', 'native', 'webgpu', 'tensorflow', 'cpu'] as const;

/** What the run needs to know about the backend @fer/engine started. */
export interface StartedBackend {
  /** The tfjs backend now active: 'wasm' | 'webgpu' | 'tensorflow' | 'cpu'. */
  backend: string;
  reason: string;
  adapter?: unknown;
  /** A hardware GPU (WebGPU on a non-software adapter, or tfjs-node-gpu): the reproduction picks the `paper` budget. */
  gpu: boolean;
  /** Whether the native CPU kernels run (wasm only). */
  native: boolean;
  /** Threads of the native kernels, when they run. */
  threads?: number;
  /** Why the native kernels do not run (wasm without them). */
  nativeWhy?: string;
  /** The adapter's name (WebGPU). */
  adapterName?: string;
}

/**
 * What runs the kernels, in a few words (`native oneDNN kernels`, `WASM kernels`, `WebGPU`, `tfjs-node`, `tfjs cpu`):
 * the name the end-of-run lines use, the same as {@link backendLine}'s (never tfjs's backend name `wasm` for the
 * native kernels).
 * @example
 * backendName({ backend: 'wasm', native: true, reason: '...', gpu: false }) // 'native oneDNN kernels'
 */
export function backendName(b: Pick<StartedBackend, 'backend' | 'native'>): string {
  return b.backend === 'wasm' ? (b.native ? 'native oneDNN kernels' : 'WASM kernels')
    : b.backend === 'webgpu' ? 'WebGPU' : b.backend === 'tensorflow' ? 'tfjs-node' : b.backend === 'cpu' ? 'tfjs cpu' : b.backend;
}

/**
 * The backend in one short line (`backend: native oneDNN kernels (2 threads)`); with `verbose`, @fer/engine's whole
 * reason too (versions, libraries, kernels). Every command prints this line.
 * @example
 * backendLine({ backend: 'wasm', native: true, threads: 2, reason: '...', gpu: false }) // 'backend: native oneDNN kernels (2 threads)'
 */
export function backendLine(b: StartedBackend, verbose = false): string {
  const short = b.backend === 'wasm'
    ? b.native ? `native oneDNN kernels${b.threads ? ` (${b.threads} thread${b.threads > 1 ? 's' : ''})` : ''}` : 'WASM kernels (the native oneDNN kernels are not running: several times slower; --verbose says why)'
    : b.backend === 'webgpu' ? `WebGPU${b.adapterName ? ` on ${b.adapterName}` : ''}${b.gpu ? '' : ' (software adapter)'}`
      : b.backend === 'tensorflow' ? `tfjs-node${b.gpu ? ' (GPU)' : ''}`
        : b.backend === 'cpu' ? 'tfjs cpu (plain JavaScript, slow)' : b.backend;
  return verbose ? `backend: ${short}\n  details: ${b.backend}: ${b.reason}` : `backend: ${short}`;
}

/**
 * Starts `backend` with @fer/engine `initBackend`. An explicit `webgpu` is honoured on a software adapter too
 * (lavapipe in CI; `auto` never picks one). `native` is wasm with the native kernels required (E_NATIVE_UNAVAILABLE
 * otherwise); `nativeKernels: false` keeps wasm on the WASM kernels only. Unknown names throw E_BAD_OPTION.
 */
export async function startBackend(backend = 'auto', o: { threads?: number; nativeKernels?: boolean } = {}): Promise<StartedBackend> {
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new FerCliError('E_BAD_OPTION', `--backend ${backend}: expected one of ${BACKENDS.join(', ')}.${didYouMean(backend, BACKENDS)}`);
  }
  const choice = (backend === 'native' ? 'wasm' : backend) as BackendChoice;
  const r = await initBackend({
    backend: choice,
    ...(o.threads ? { threads: o.threads } : {}),
    ...(backend === 'native' ? { native: true } : o.nativeKernels === false ? { native: false } : {}),
    ...(backend === 'webgpu' ? { allowSoftwareAdapter: true } : {}),
  });
  const gpu = r.backend === 'webgpu' ? r.adapter?.isSoftware === false : r.backend === 'tensorflow' ? /gpu/i.test(r.reason) : false;
  return {
    backend: r.backend, reason: r.reason, adapter: r.adapter, gpu, native: Boolean(r.native?.active),
    ...(r.native?.active && r.native.threads ? { threads: r.native.threads } : {}),
    ...(r.native && !r.native.active && r.native.why ? { nativeWhy: r.native.why } : {}),
    ...(r.adapter?.name || r.adapter?.description ? { adapterName: r.adapter.name || r.adapter.description } : {}),
  };
}
