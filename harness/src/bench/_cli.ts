// Pieces every `fer bench <name>` shares: JSON-line output, backend set-up (flags: src/flags.ts).
import { startBackend } from '../backend.js';

export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${v}".`);
  return n;
}

/** One JSON line on stdout. */
export function out(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * Makes `backend` the tfjs backend through the harness's one start-up (src/backend.ts): `wasm` (our WASM
 * training kernels only, no native kernels), `native` (wasm with the native kernels of @fer/engine-native-*,
 * `threads` threads), webgpu (also on a software adapter), tensorflow, cpu. Returns why it is not available,
 * or undefined when it is.
 */
export async function setupBackend(backend: string, threads?: number): Promise<string | undefined> {
  try {
    const info = await startBackend(backend, { threads, nativeKernels: backend === 'wasm' ? false : undefined });
    const want = backend === 'native' ? 'wasm' : backend;
    if (info.backend !== want) return `initBackend gave "${info.backend}": ${info.reason}`;
    return undefined;
  } catch (e) {
    if ((e as { code?: string }).code === 'E_BAD_OPTION') throw e;
    return `${backend} unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
}
