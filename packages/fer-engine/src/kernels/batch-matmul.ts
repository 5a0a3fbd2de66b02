// BatchMatMul and _FusedMatMul on 'wasm'. The backend runs only untransposed, unbatched products in
// XNNPACK (anything else goes to a scalar loop 8-15x slower), and it re-packs the right operand `b` as
// XNNPACK "weights" with a strided transpose on every call with a new `b` (a dense layer's kernel is new
// after every optimizer step; packing a 36864x512 kernel costs more than the product at batch 128).
// So: transposed operands are transposed explicitly, and each product picks, by a cost model, between
// out = a.b (b packed) and out = (b^T.a^T)^T (a^T packed; b^T is free when b came transposed).
import { util, type TensorInfo } from '@tensorflow/tfjs';
import { free, reshape, run, transpose, transpose2d, type Attrs, type KernelFn, type WasmBackendLike } from './_wasm.js';

type Args = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs };

// NOTE: relative costs per element, measured on tfjs-backend-wasm 4.22 (SIMD, 1 thread): packing a new
// `b` (strided transpose inside XNNPACK) ~5x an explicit Transpose of the same size.
const PACK_COST = 5;
const TRANSPOSE_COST = 1;

/** Builds the BatchMatMul kernelFunc around the backend's own kernelFunc. */
export function makeBatchMatMulWasm(original: KernelFn) {
  return function batchMatMulWasm(args: Args): TensorInfo {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const a0 = inputs['a']!;
    const b0 = inputs['b']!;
    const tA = !!attrs.transposeA;
    const tB = !!attrs.transposeB;
    if (a0.dtype === 'float32' && b0.dtype === 'float32' && batchOf(a0) === 1 && batchOf(b0) === 1) {
      return matMul2d(backend, original, a0, b0, tA, tB);
    }
    if (!tA && !tB) return original(args) as TensorInfo;
    const a = tA ? transpose(backend, a0, swapLast(a0.shape.length)) : a0;
    const b = tB ? transpose(backend, b0, swapLast(b0.shape.length)) : b0;
    const out = original({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
    if (a !== a0) free(backend, a);
    if (b !== b0) free(backend, b);
    return out;
  };
}

/** Builds the _FusedMatMul kernelFunc: the product as above, then bias and relu/linear with the backend's kernels. */
export function makeFusedMatMulWasm(original: KernelFn, batchMatMul: KernelFn) {
  return function fusedMatMulWasm(args: Args): TensorInfo {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    const act = attrs.activation ?? 'linear';
    if ((act !== 'linear' && act !== 'relu') || inputs['preluActivationWeights'] != null) return original(args) as TensorInfo;
    let out = batchMatMul({ inputs: { a: inputs['a']!, b: inputs['b']! }, backend, attrs: { transposeA: attrs.transposeA, transposeB: attrs.transposeB } }) as TensorInfo;
    const bias = inputs['bias'];
    if (bias != null) {
      const withBias = run('Add', backend, { a: out, b: bias });
      free(backend, out);
      out = withBias;
    }
    if (act === 'relu') {
      const r = run('Relu', backend, { x: out });
      free(backend, out);
      out = r;
    }
    return out;
  };
}

// --- Internal helpers ---

/** Data ids already used as an untransposed `b` (a second use means XNNPACK's packing is reused). */
const seenB = new WeakSet<object>();

/** a [.., M, K] (or [.., K, M] when tA) times b [.., K, N] (or [.., N, K] when tB), leading dims all 1. */
function matMul2d(backend: WasmBackendLike, original: KernelFn, a0: TensorInfo, b0: TensorInfo, tA: boolean, tB: boolean): TensorInfo {
  const ra = a0.shape.length;
  const rb = b0.shape.length;
  const M = tA ? a0.shape[ra - 1]! : a0.shape[ra - 2]!;
  const K = tA ? a0.shape[ra - 2]! : a0.shape[ra - 1]!;
  const N = tB ? b0.shape[rb - 2]! : b0.shape[rb - 1]!;
  const outShape = [...(ra >= rb ? a0.shape : b0.shape).slice(0, -2), M, N];
  const a2 = reshape(backend, a0, tA ? [K, M] : [M, K]);
  const b2 = reshape(backend, b0, tB ? [N, K] : [K, N]);
  const plain = (a: TensorInfo, b: TensorInfo): TensorInfo =>
    original({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  // XNNPACK keeps the packed `b` per tensor: a `b` seen before untransposed (inference weights) packs once.
  const packed = !tB && seenB.has(b0.dataId);
  if (!tB) seenB.add(b0.dataId);
  // Cost of out = a.b: pack b (K*N) unless packed + transposes of the operands that came transposed.
  const direct = (packed ? 0 : PACK_COST * K * N) + TRANSPOSE_COST * ((tA ? M * K : 0) + (tB ? K * N : 0));
  // Cost of out = (b^T.a^T)^T: pack a^T (K*M) + transposes of the operands that did not + the output.
  const swapped = PACK_COST * K * M + TRANSPOSE_COST * ((tB ? 0 : K * N) + (tA ? 0 : M * K) + M * N);
  let out: TensorInfo;
  if (direct <= swapped) {
    const a = tA ? transpose2d(backend, a2) : a2;
    const b = tB ? transpose2d(backend, b2) : b2;
    out = plain(a, b);
    if (a !== a2) free(backend, a);
    if (b !== b2) free(backend, b);
  } else {
    const bT = tB ? b2 : transpose2d(backend, b2); // [N,K]
    const aT = tA ? a2 : transpose2d(backend, a2); // [K,M]
    const outT = plain(bT, aT); // [N,M]
    if (bT !== b2) free(backend, bT);
    if (aT !== a2) free(backend, aT);
    out = transpose2d(backend, outT);
    free(backend, outT);
  }
  free(backend, a2, b2);
  const shaped = reshape(backend, out, outShape);
  free(backend, out);
  return shaped;
}

function batchOf(x: TensorInfo): number {
  return util.sizeFromShape(x.shape.slice(0, -2));
}

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}
