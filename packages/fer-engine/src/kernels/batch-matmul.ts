// BatchMatMul on 'wasm' with transposeA/transposeB done as an explicit Transpose, then the backend's
// plain (untransposed) kernel: its transposed path is ~8x slower than a transpose plus a plain matmul.
import type { TensorInfo } from '@tensorflow/tfjs';
import { free, transpose, type Attrs, type KernelFn, type WasmBackendLike } from './_wasm.js';

/** Builds the kernelFunc around the backend's own BatchMatMul kernelFunc. */
export function makeBatchMatMulWasm(original: KernelFn) {
  return function batchMatMulWasm(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs }): TensorInfo {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original(args) as TensorInfo;
    const a0 = inputs['a']!;
    const b0 = inputs['b']!;
    const a = attrs.transposeA ? transpose(backend, a0, swapLast(a0.shape.length)) : a0;
    const b = attrs.transposeB ? transpose(backend, b0, swapLast(b0.shape.length)) : b0;
    const out = original({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
    if (a !== a0) free(backend, a);
    if (b !== b0) free(backend, b);
    return out;
  };
}

// --- Internal helpers ---

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}
