// Pieces every `pnpm bench <name>` shares: flag parsing, JSON-line output, backend set-up.
import * as tf from '@tensorflow/tfjs';
import { initBackend, registerNativeKernels, registerWasmTrainingKernels } from '@fer/engine';

/**
 * Walks `argv`, calling `onFlag(flag, value)` for each argument; `value()` reads the flag's value from
 * `--flag=value` or the next argument (throws "<flag> needs a value." when there is none).
 */
export function forEachFlag(argv: string[], onFlag: (flag: string, value: () => string, arg: string) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    onFlag(flag, () => {
      const v = inline ?? argv[++i];
      if (v == null) throw new Error(`${flag} needs a value.`);
      return v;
    }, a);
  }
}

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
 * Makes `backend` the tfjs backend: `wasm` (our WASM training kernels only), `native` (wasm with the
 * native kernels of @fer/engine-native-*, `threads` threads), webgpu (also on a software adapter), ...
 * Returns why it is not available, or undefined when it is.
 */
export async function setupBackend(backend: string, threads?: number): Promise<string | undefined> {
  if (backend === 'wasm' || backend === 'native') {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
    if (backend === 'native') {
      const native = registerNativeKernels(threads !== undefined ? { threads } : {});
      if (!native.active) return `native kernels unavailable: ${native.why}`;
    }
    backend = 'wasm';
  } else if (backend === 'webgpu' || backend === 'tensorflow') {
    try {
      // allowSoftwareAdapter: measure on lavapipe/SwiftShader too (the line's backend says webgpu; see describeBackend)
      const info = await initBackend({ backend, allowSoftwareAdapter: backend === 'webgpu' });
      if (info.backend !== backend) return `initBackend gave "${info.backend}": ${info.reason}`;
      return undefined;
    } catch (e) {
      return `initBackend({ backend: '${backend}' }) failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else if (backend !== 'cpu') {
    throw new Error(`--backend "${backend}" is not one of native, wasm, cpu, webgpu, tensorflow.`);
  }
  if (!(await tf.setBackend(backend))) return `tf.setBackend('${backend}') failed`;
  await tf.ready();
  return undefined;
}
