// Memory-bound kernels that dominate the non-conv part of a training step on 'wasm' (profile of the
// paper's models): Tile (batch-norm gradients tile [C] to [B,H,W,C]; the backend's Tile computes an
// index per element), Sum/Mean over the leading axes (bias and batch-norm reductions; the backend
// transposes the whole tensor first), and Identity (the backend copies; sharing the data, as its
// Reshape does, is enough because tensor data is immutable).
import { util, type TensorInfo } from '@tensorflow/tfjs';
import { heapF32, type Attrs, type KernelFn, type WasmBackendLike } from './_wasm.js';

type Args = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs };

/** Tile by block copies: each inner block is written once, then replicated with copyWithin. */
export function makeTileWasm(original: KernelFn) {
  return function tileWasm(args: Args): TensorInfo {
    const x = args.inputs['x']!;
    const reps = (args.attrs as { reps: number[] }).reps;
    if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) return original(args) as TensorInfo;
    const { backend } = args;
    const rank = x.shape.length;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype as 'float32');
    if (util.sizeFromShape(outShape) === 0) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    if (rank === 0) {
      dst[0] = src[0]!;
      return out;
    }
    const srcStride = util.computeStrides(x.shape).concat([1]);
    const outBlock = new Array<number>(rank + 1).fill(1);
    for (let d = rank - 1; d >= 0; d--) outBlock[d] = outBlock[d + 1]! * outShape[d]!;
    const fill = (d: number, so: number, doff: number): void => {
      const n = x.shape[d]!;
      if (d === rank - 1) {
        dst.set(src.subarray(so, so + n), doff);
      } else {
        for (let i = 0; i < n; i++) fill(d + 1, so + i * srcStride[d]!, doff + i * outBlock[d + 1]!);
      }
      const len = n * outBlock[d + 1]!;
      for (let r = 1; r < reps[d]!; r++) dst.copyWithin(doff + r * len, doff, doff + len);
    };
    fill(0, 0, 0);
    return out;
  };
}

/** Sum or Mean of float32 over the leading axes [0..k-1] as one pass; other cases go to the original. */
export function makeLeadingReduceWasm(original: KernelFn, mean: boolean) {
  return function reduceWasm(args: Args): TensorInfo {
    const x = args.inputs['x']!;
    const attrs = (args.attrs ?? {}) as { axis: number | number[]; keepDims?: boolean };
    if (x.dtype !== 'float32' || x.shape.length < 2) return original(args) as TensorInfo;
    const axes = util.parseAxisParam(attrs.axis, x.shape).slice().sort((a, b) => a - b);
    const k = axes.length;
    if (k === 0 || k === x.shape.length || axes.some((a, i) => a !== i)) return original(args) as TensorInfo;
    const { backend } = args;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const cols = util.sizeFromShape(x.shape.slice(k));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    const src = heapF32(backend, x);
    const acc = new Float64Array(cols);
    let r = 0;
    // NOTE: four rows per pass: a quarter of the accumulator loads and stores.
    for (; r + 4 <= rows; r += 4) {
      const o0 = r * cols;
      const o1 = o0 + cols;
      const o2 = o1 + cols;
      const o3 = o2 + cols;
      for (let c = 0; c < cols; c++) acc[c]! += src[o0 + c]! + src[o1 + c]! + src[o2 + c]! + src[o3 + c]!;
    }
    for (; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) acc[c]! += src[o + c]!;
    }
    const dst = heapF32(backend, out);
    const scale = mean ? 1 / rows : 1;
    for (let c = 0; c < cols; c++) dst[c] = acc[c]! * scale;
    return out;
  };
}

/** Identity that shares the input's data (refcounted) instead of copying it. */
export function makeIdentityWasm(original: KernelFn) {
  return function identityWasm(args: Args): TensorInfo {
    const x = args.inputs['x']!;
    if (x.dtype === 'string') return original(args) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}
