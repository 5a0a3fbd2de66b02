// tfjs kernels on the 'wasm' backend that run natively (oneDNN and OpenMP loops) on the tensors in place
// in the wasm heap. Each wraps the kernel registered before it (the @fer/engine WASM kernel or the
// backend's own), which serves every case the native one does not (other dtypes, layouts, broadcasts).
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs';
import { heapF32, type Attrs, type KernelFn, type WasmBackendLike } from '../kernels/_wasm.js';
import type { NativeAddon } from './_addon.js';

type Args = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs };
type Spec = { name: string; make: (n: NativeAddon, original: KernelFn | undefined) => KernelFn | undefined };

const ACT: Record<string, number> = { linear: 0, relu: 1 };
const BINARY: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 };
const UNARY: Record<string, number> = { Relu: 0, Sqrt: 1, Square: 2, Rsqrt: 3, Neg: 4, Exp: 5, Log: 6, Abs: 7, Step: 8, Relu6: 9, Sigmoid: 10, Reciprocal: 11 };

/** Kernels the native path registers, in order (later ones may call earlier ones through the registry). */
export const NATIVE_SPECS: readonly Spec[] = [
  { name: 'Conv2D', make: (n, o) => o && convForward(n, o, false) },
  { name: 'FusedConv2D', make: (n, o) => o && convForward(n, o, true) },
  { name: 'Conv2DBackpropInput', make: (n, o) => o && convBackpropInput(n, o) },
  { name: 'Conv2DBackpropFilter', make: (n, o) => o && convBackpropFilter(n, o) },
  { name: 'BatchMatMul', make: (n, o) => o && matMul(n, o, false) },
  { name: '_FusedMatMul', make: (n, o) => o && matMul(n, o, true) },
  ...Object.keys(BINARY).map((name) => ({ name, make: (n: NativeAddon, o: KernelFn | undefined) => o && binary(n, o, BINARY[name]!) })),
  ...Object.keys(UNARY).map((name) => ({ name, make: (n: NativeAddon, o: KernelFn | undefined) => o && unary(n, o, UNARY[name]!) })),
  { name: 'Sum', make: (n, o) => o && reduceLeading(n, o, false) },
  { name: 'Mean', make: (n, o) => o && reduceLeading(n, o, true) },
  { name: 'FusedBatchNorm', make: (n, o) => o && batchNorm(n, o) },
  { name: 'MaxPool', make: (n, o) => o && maxPool(n, o) },
  { name: 'MaxPoolGrad', make: (n, o) => o && maxPoolGrad(n, o) },
  { name: 'Cast', make: (_n, o) => o && castSame(o) },
  { name: 'FerBatchNormGrad', make: (n) => batchNormGrad(n) },
  { name: 'FerBatchNormTrain', make: (n) => (n.batchNormTrain ? batchNormTrain(n) : undefined) },
  { name: 'FerBatchNormTrainGrad', make: (n) => (n.batchNormTrainGrad ? batchNormTrainGrad(n) : undefined) },
  { name: 'FerReluGrad', make: (n) => (n.reluGrad ? reluGrad(n) : undefined) },
  { name: 'FerMaxPoolGrad', make: (n) => ferMaxPoolGrad(n) },
  { name: 'FerDropoutMask', make: (n) => dropoutMask(n) },
  { name: 'FerDropoutApply', make: (n) => (n.dropoutApply ? dropoutApply(n) : undefined) },
  { name: 'FerAdamUpdate', make: (n) => adamUpdate(n) },
  { name: 'FerSgdUpdate', make: (n) => sgdUpdate(n) },
  { name: 'FerMomentumUpdate', make: (n) => momentumUpdate(n) },
];

/** Calls that went to the fallback because the native kernel threw (a bug or an unsupported geometry). */
export const nativeFailures: { kernel: string; message: string }[] = [];

// --- Internal helpers ---

const f32 = (...ts: (TensorInfo | undefined)[]): boolean => ts.every((t) => t == null || t.dtype === 'float32');

/** Runs `fast`; if it throws, records why (once per kernel and message) and runs the fallback. */
function guarded(kernel: string, original: KernelFn, fast: (args: Args) => TensorInfo | TensorInfo[] | undefined): KernelFn {
  return (args: Args) => {
    let out: TensorInfo | TensorInfo[] | undefined;
    try {
      out = fast(args);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!nativeFailures.some((f) => f.kernel === kernel && f.message === message) && nativeFailures.length < 100) nativeFailures.push({ kernel, message });
      out = undefined;
    }
    return out ?? original(args);
  };
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: backend_util.ExplicitPadding | 'valid' | 'same' | number;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function dimsOf(info: backend_util.Conv2DInfo): Int32Array {
  const p = info.padInfo;
  return Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    p.top, p.bottom, p.left, p.right,
  );
}

/**
 * A geometry oneDNN handles: no padding below zero, the window fits (oneDNN's floor arithmetic), and every
 * input row and column is read, i.e. the implicit bottom/right padding `(Ho-1)*s + effK - H - top` is not
 * negative. NOTE: oneDNN 2.6's JIT convolutions write out of bounds for a negative implicit padding (seen:
 * backward-filter of a 1x1 stride-2 convolution over an even size with 2 channels, in mini-xception,
 * corrupting the process heap; confirmed with valgrind), so those geometries go to the WASM kernels.
 */
function regular(info: backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  return (
    p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0 &&
    Math.floor((info.inHeight + p.top + p.bottom - effH) / info.strideHeight) + 1 === info.outHeight &&
    Math.floor((info.inWidth + p.left + p.right - effW) / info.strideWidth) + 1 === info.outWidth &&
    (info.outHeight - 1) * info.strideHeight + effH - info.inHeight - p.top >= 0 &&
    (info.outWidth - 1) * info.strideWidth + effW - info.inWidth - p.left >= 0 &&
    info.batchSize > 0 && info.outHeight > 0 && info.outWidth > 0
  );
}

function convForward(n: NativeAddon, original: KernelFn, fused: boolean): KernelFn {
  return guarded(fused ? 'FusedConv2D' : 'Conv2D', original, ({ inputs, backend, attrs }) => {
    const a = (attrs ?? {}) as unknown as ConvAttrs;
    const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo };
    const act = ACT[a.activation ?? 'linear'];
    if (!f32(x, filter, bias) || (a.dataFormat ?? 'NHWC') !== 'NHWC' || act === undefined || inputs['preluActivationWeights'] != null) return undefined;
    if (x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
    const info = backend_util.computeConv2DInfo(x.shape as never, filter.shape as never, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    if (!regular(info) || (bias && util.sizeFromShape(bias.shape) !== info.outChannels)) return undefined;
    const out = backend.makeOutput(info.outShape.slice(), 'float32');
    n.convForward(heapF32(backend, x), heapF32(backend, filter), bias ? heapF32(backend, bias) : null, heapF32(backend, out), dimsOf(info), act);
    return out;
  });
}

function convBackpropInput(n: NativeAddon, original: KernelFn): KernelFn {
  return guarded('Conv2DBackpropInput', original, ({ inputs, backend, attrs }) => {
    const a = (attrs ?? {}) as unknown as ConvAttrs;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    if (!f32(dy, filter) || (a.dataFormat ?? 'NHWC') !== 'NHWC' || !a.inputShape) return undefined;
    const info = backend_util.computeConv2DInfo(a.inputShape, filter.shape as never, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    if (!regular(info) || info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return undefined;
    const out = backend.makeOutput(a.inputShape.slice(), 'float32');
    n.convBackwardData(heapF32(backend, dy), heapF32(backend, filter), heapF32(backend, out), dimsOf(info));
    return out;
  });
}

function convBackpropFilter(n: NativeAddon, original: KernelFn): KernelFn {
  return guarded('Conv2DBackpropFilter', original, ({ inputs, backend, attrs }) => {
    const a = (attrs ?? {}) as unknown as ConvAttrs;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    if (!f32(x, dy) || (a.dataFormat ?? 'NHWC') !== 'NHWC' || !a.filterShape) return undefined;
    const info = backend_util.computeConv2DInfo(x.shape as never, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    if (!regular(info) || info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return undefined;
    const out = backend.makeOutput(a.filterShape.slice(), 'float32');
    n.convBackwardWeights(heapF32(backend, x), heapF32(backend, dy), heapF32(backend, out), dimsOf(info));
    return out;
  });
}

function matMul(n: NativeAddon, original: KernelFn, fused: boolean): KernelFn {
  return guarded(fused ? '_FusedMatMul' : 'BatchMatMul', original, ({ inputs, backend, attrs }) => {
    const a = (attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    const { a: A, b: B, bias } = inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo };
    const act = ACT[a.activation ?? 'linear'];
    if (!f32(A, B, bias) || act === undefined || inputs['preluActivationWeights'] != null) return undefined;
    const ra = A.shape.length;
    const rb = B.shape.length;
    if (ra < 2 || rb < 2 || util.sizeFromShape(A.shape.slice(0, -2)) !== 1 || util.sizeFromShape(B.shape.slice(0, -2)) !== 1) return undefined;
    const tA = !!a.transposeA;
    const tB = !!a.transposeB;
    const M = tA ? A.shape[ra - 1]! : A.shape[ra - 2]!;
    const K = tA ? A.shape[ra - 2]! : A.shape[ra - 1]!;
    const K2 = tB ? B.shape[rb - 1]! : B.shape[rb - 2]!;
    const N = tB ? B.shape[rb - 2]! : B.shape[rb - 1]!;
    if (K !== K2 || M < 1 || N < 1 || K < 1 || (bias && util.sizeFromShape(bias.shape) !== N)) return undefined;
    const out = backend.makeOutput([...(ra >= rb ? A.shape : B.shape).slice(0, -2), M, N], 'float32');
    n.matmul(heapF32(backend, A), heapF32(backend, B), bias ? heapF32(backend, bias) : null, heapF32(backend, out), M, N, K, tA, tB, act);
    return out;
  });
}

/** The smaller operand's shape (leading 1s dropped) equals the trailing dims of the larger one. */
function rowBroadcast(big: number[], small: number[]): boolean {
  const s = small.slice(small.findIndex((d) => d !== 1) < 0 ? small.length : small.findIndex((d) => d !== 1));
  if (s.length > big.length) return false;
  return s.every((d, i) => d === big[big.length - s.length + i]);
}

function binary(n: NativeAddon, original: KernelFn, op: number): KernelFn {
  return guarded('binary', original, ({ inputs, backend }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = util.sizeFromShape(outShape);
    const na = util.sizeFromShape(a.shape);
    const nb = util.sizeFromShape(b.shape);
    if (size === 0) return undefined;
    const ok = na === nb ? util.arraysEqual(a.shape, b.shape) || (na === size && nb === size) : na === 1 ? nb === size : nb === 1 ? na === size : na > nb ? na === size && rowBroadcast(a.shape, b.shape) : nb === size && rowBroadcast(b.shape, a.shape);
    if (!ok) return undefined;
    const out = backend.makeOutput(outShape, 'float32');
    n.binary(op, heapF32(backend, a), heapF32(backend, b), heapF32(backend, out));
    return out;
  });
}

function unary(n: NativeAddon, original: KernelFn, op: number): KernelFn {
  return guarded('unary', original, ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return undefined;
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    n.unary(op, heapF32(backend, x), heapF32(backend, out), Number((attrs as { alpha?: number } | undefined)?.alpha ?? 0));
    return out;
  });
}

function reduceLeading(n: NativeAddon, original: KernelFn, mean: boolean): KernelFn {
  return guarded(mean ? 'Mean' : 'Sum', original, ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    const a = (attrs ?? {}) as { axis: number | number[]; keepDims?: boolean };
    if (x.dtype !== 'float32' || x.shape.length < 2) return undefined;
    const axes = util.parseAxisParam(a.axis, x.shape).slice().sort((p, q) => p - q);
    const k = axes.length;
    if (k === 0 || k === x.shape.length || axes.some((v, i) => v !== i)) return undefined;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const cols = util.sizeFromShape(x.shape.slice(k));
    if (rows === 0 || cols === 0) return undefined;
    const out = backend.makeOutput(a.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k), 'float32');
    n.reduceLeading(heapF32(backend, x), heapF32(backend, out), rows, cols, mean);
    return out;
  });
}

function batchNorm(n: NativeAddon, original: KernelFn): KernelFn {
  return guarded('FusedBatchNorm', original, ({ inputs, backend, attrs }) => {
    const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined>;
    if (!x || !mean || !variance || !f32(x, mean, variance, offset, scale) || x.shape.length < 1) return undefined;
    const C = x.shape[x.shape.length - 1]!;
    const fits = (t?: TensorInfo): boolean => t == null || (t.shape.length <= 1 && [1, C].includes(util.sizeFromShape(t.shape)));
    if (!fits(mean) || !fits(variance) || !fits(offset) || !fits(scale) || util.sizeFromShape(x.shape) === 0) return undefined;
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    const eps = Number((attrs as { varianceEpsilon?: number } | undefined)?.varianceEpsilon ?? 0.001);
    n.batchNorm(heapF32(backend, x), heapF32(backend, mean), heapF32(backend, variance), offset ? heapF32(backend, offset) : null, scale ? heapF32(backend, scale) : null, heapF32(backend, out), C, eps);
    return out;
  });
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function poolDims(x: TensorInfo, a: PoolAttrs): { dims: Int32Array; outShape: number[] } | undefined {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const info = backend_util.computePool2DInfo(x.shape as never, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.outHeight < 1 || info.outWidth < 1 || info.batchSize < 1) return undefined;
  const dims = Int32Array.of(info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return { dims, outShape: info.outShape.slice() };
}

function maxPool(n: NativeAddon, original: KernelFn): KernelFn {
  return guarded('MaxPool', original, ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    const p = poolDims(x, attrs as unknown as PoolAttrs);
    if (!p) return undefined;
    const out = backend.makeOutput(p.outShape, 'float32');
    n.maxPool(heapF32(backend, x), heapF32(backend, out), p.dims);
    return out;
  });
}

function maxPoolGrad(n: NativeAddon, original: KernelFn): KernelFn {
  return guarded('MaxPoolGrad', original, ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const p = poolDims(input, attrs as unknown as PoolAttrs);
    if (!p || dy.dtype !== 'float32' || !util.arraysEqual(dy.shape, p.outShape)) return undefined;
    const out = backend.makeOutput(input.shape.slice(), 'float32');
    n.maxPoolGrad(heapF32(backend, input), heapF32(backend, dy), heapF32(backend, out), p.dims);
    return out;
  });
}

/**
 * MaxPoolGrad from dy and the pooled input alone (tfjs' MaxPoolGrad also takes the pooled output, which the native
 * pass never reads): the MaxPool gradient in _gradients.ts runs this so that the tape need not keep the output.
 */
function ferMaxPoolGrad(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const p = poolDims(input, attrs as unknown as PoolAttrs);
    if (!p || dy.dtype !== 'float32' || !util.arraysEqual(dy.shape, p.outShape)) {
      throw new Error(`FerMaxPoolGrad: got input ${input.dtype} [${input.shape.join(', ')}] and dy ${dy.dtype} [${dy.shape.join(', ')}], expected a float32 NHWC input and dy of its pooled shape (the MaxPool gradient checks this before it runs the kernel).`);
    }
    const out = backend.makeOutput(input.shape.slice(), 'float32');
    n.maxPoolGrad(heapF32(backend, input), heapF32(backend, dy), heapF32(backend, out), p.dims);
    return out;
  };
}

/** Cast to the dtype a tensor already has shares its data (tensor data is immutable), as Identity does. */
function castSame(original: KernelFn): KernelFn {
  return (args: Args) => {
    const x = args.inputs['x']!;
    if (x.dtype !== 'float32' || (args.attrs as { dtype?: string } | undefined)?.dtype !== 'float32') return original(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

/** FusedBatchNorm's gradient for per-channel statistics: [dx, dmean, dvariance, dscale, doffset] (see _gradients.ts). */
function batchNormGrad(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { x, mean, variance, scale, dy } = inputs as Record<string, TensorInfo | undefined>;
    const C = x!.shape[x!.shape.length - 1]!;
    const outs = [backend.makeOutput(x!.shape.slice(), 'float32'), ...[0, 1, 2, 3].map(() => backend.makeOutput([C], 'float32'))];
    const v = outs.map((o) => heapF32(backend, o));
    n.batchNormGrad(
      heapF32(backend, x!), heapF32(backend, mean!), heapF32(backend, variance!), scale ? heapF32(backend, scale) : null, heapF32(backend, dy!),
      v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, C, Number((attrs as { varianceEpsilon: number }).varianceEpsilon),
    );
    return outs;
  };
}

/** Training batch norm over the last axis (see _batchnorm.ts): [y, mean, variance] from x, scale, offset. */
function batchNormTrain(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { x, scale, offset } = inputs as Record<string, TensorInfo | undefined>;
    const C = x!.shape[x!.shape.length - 1]!;
    const outs = [backend.makeOutput(x!.shape.slice(), 'float32'), backend.makeOutput([C], 'float32'), backend.makeOutput([C], 'float32')];
    const v = outs.map((o) => heapF32(backend, o));
    n.batchNormTrain!(heapF32(backend, x!), scale ? heapF32(backend, scale) : null, offset ? heapF32(backend, offset) : null, v[0]!, v[1]!, v[2]!, C, Number((attrs as { varianceEpsilon: number }).varianceEpsilon));
    return outs;
  };
}

/** Its gradient through the batch's moments: [dx, dscale, doffset]. */
function batchNormTrainGrad(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { x, mean, variance, scale, dy } = inputs as Record<string, TensorInfo | undefined>;
    const C = x!.shape[x!.shape.length - 1]!;
    const outs = [backend.makeOutput(x!.shape.slice(), 'float32'), backend.makeOutput([C], 'float32'), backend.makeOutput([C], 'float32')];
    const v = outs.map((o) => heapF32(backend, o));
    n.batchNormTrainGrad!(
      heapF32(backend, x!), heapF32(backend, mean!), heapF32(backend, variance!), scale ? heapF32(backend, scale) : null, heapF32(backend, dy!),
      v[0]!, v[1]!, v[2]!, C, Number((attrs as { varianceEpsilon: number }).varianceEpsilon),
    );
    return outs;
  };
}

/** tfjs' Relu gradient dy * step(x) in one pass (same shape, float32; see _gradients.ts). */
function reluGrad(n: NativeAddon): KernelFn {
  return ({ inputs, backend }: Args) => {
    const { dy, x } = inputs as Record<string, TensorInfo>;
    const out = backend.makeOutput(x!.shape.slice(), 'float32');
    n.reluGrad!(heapF32(backend, dy!), heapF32(backend, x!), heapF32(backend, out));
    return out;
  };
}

/** tfjs dropout's multiplier for an alea state (see _dropout.ts); the state array is advanced in place. */
function dropoutMask(n: NativeAddon): KernelFn {
  return ({ backend, attrs }: Args) => {
    const a = attrs as { shape: number[]; state: Float64Array; keepProb: number };
    const out = backend.makeOutput(a.shape.slice(), 'float32');
    n.dropoutMask(heapF32(backend, out), a.state, a.keepProb);
    return out;
  };
}

/** x times tfjs dropout's multiplier for an alea state (the mask never in memory); the state array is advanced in place. */
function dropoutApply(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const x = inputs['x']!;
    const a = attrs as { state: Float64Array; keepProb: number };
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    n.dropoutApply!(heapF32(backend, x), heapF32(backend, out), a.state, a.keepProb);
    return out;
  };
}

function sameFloat(...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32' && util.arraysEqual(t.shape, ts[0]!.shape));
}

function adamUpdate(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { w, g, m, v } = inputs as Record<string, TensorInfo>;
    if (!sameFloat(w!, g!, m!, v!)) throw new TypeError('FerAdamUpdate: w, g, m, v must be float32 of one shape');
    const outs = [w!, m!, v!].map((t) => backend.makeOutput(t.shape.slice(), 'float32'));
    n.adam(heapF32(backend, w!), heapF32(backend, g!), heapF32(backend, m!), heapF32(backend, v!), heapF32(backend, outs[0]!), heapF32(backend, outs[1]!), heapF32(backend, outs[2]!), (attrs as { params: Float32Array }).params);
    return outs;
  };
}

function sgdUpdate(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { w, g } = inputs as Record<string, TensorInfo>;
    if (!sameFloat(w!, g!)) throw new TypeError('FerSgdUpdate: w, g must be float32 of one shape');
    const out = backend.makeOutput(w!.shape.slice(), 'float32');
    n.sgd(heapF32(backend, w!), heapF32(backend, g!), heapF32(backend, out), (attrs as { negLr: number }).negLr);
    return out;
  };
}

function momentumUpdate(n: NativeAddon): KernelFn {
  return ({ inputs, backend, attrs }: Args) => {
    const { w, g, acc } = inputs as Record<string, TensorInfo>;
    if (!sameFloat(w!, g!, acc!)) throw new TypeError('FerMomentumUpdate: w, g, acc must be float32 of one shape');
    const outs = [w!, acc!].map((t) => backend.makeOutput(t.shape.slice(), 'float32'));
    const a = attrs as { negLr: number; momentum: number; nesterov: boolean };
    n.momentum(heapF32(backend, w!), heapF32(backend, g!), heapF32(backend, acc!), heapF32(backend, outs[0]!), heapF32(backend, outs[1]!), a.negLr, a.momentum, a.nesterov);
    return outs;
  };
}
