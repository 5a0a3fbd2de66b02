// Conv2DBackpropFilter on 'wasm' (tfjs-backend-wasm 4.22 has none) as ONE forward convolution in XNNPACK:
// dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[b,oh,ow,co]
// is a forward conv of x^T = [Ci,H,W,B] (batch as channels) with the "filter" dy^T = [Ho,Wo,B,Co],
// stride 1, dilation s, pads (pt, pl): its output [Ci,fh,fw,Co] transposed to [fh,fw,Ci,Co] is dW.
import type { TensorInfo } from '@tensorflow/tfjs';
import { FerEngineError } from '../errors.js';
import { conv, conv2dGradientInfo, free, heapF32, reshape, transpose, type Attrs, type WasmBackendLike } from './_wasm.js';

/** Kernel inputs/attrs as tfjs-core's conv2DBackpropFilter op passes them. */
export function conv2dBackpropFilterWasm(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs }): TensorInfo {
  const { inputs, backend } = args;
  const filterShape = (args.attrs as { filterShape: [number, number, number, number] } | undefined)?.filterShape;
  const x = inputs['x']!;
  const dy = inputs['dy']!;
  const info = conv2dGradientInfo('Conv2DBackpropFilter', args.attrs, x.shape as [number, number, number, number], filterShape!);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, outChannels: Co, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Bottom/right pads that make the output exactly fh x fw; negative means rows of x no output reads.
  const pb = fh + (Ho - 1) * sh - H - pt;
  const pr = fw + (Wo - 1) * sw - W - pl;
  let xs = x;
  if (pb < 0 || pr < 0) xs = cropHW(backend, x, H + Math.min(pb, 0), W + Math.min(pr, 0));
  const xT = channelsToBatch(backend, xs); // [Ci,H,W,B]
  if (xs !== x) free(backend, xs);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [Ho,Wo,B,Co]
  const out = conv(backend, xT, dyT, { strides: [1, 1], dilations: [sh, sw], pads: [pt, Math.max(pb, 0), pl, Math.max(pr, 0)] });
  free(backend, xT, dyT);
  if (out.shape[0] !== Ci || out.shape[1] !== fh || out.shape[2] !== fw || out.shape[3] !== Co || B < 1) {
    free(backend, out);
    throw new FerEngineError('E_WASM_KERNEL_SHAPE', `Conv2DBackpropFilter on wasm computed shape [${out.shape}], expected [${Ci},${fh},${fw},${Co}]. This is a bug in @fer/engine; please report it with the layer's shapes.`);
  }
  const dW = transpose(backend, out, [1, 2, 0, 3]);
  free(backend, out);
  return dW;
}

// --- Internal helpers ---

/**
 * x [B,H,W,C] -> [C,H,W,B]. The backend's one-step Transpose with perm [3,1,2,0] reads with a stride of
 * H*W*C floats and runs ~4x slower than these three cache-friendly steps: [H,W,B,C], then a batch of
 * small [B,C] -> [C,B] transposes, then [C,H,W,B].
 */
function channelsToBatch(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const hwbc = transpose(backend, x, [1, 2, 0, 3]);
  const slabs = reshape(backend, hwbc, [H * W, B, C]);
  free(backend, hwbc);
  const hwcb = transpose(backend, slabs, [0, 2, 1]);
  free(backend, slabs);
  const hwcb4 = reshape(backend, hwcb, [H, W, C, B]);
  free(backend, hwcb);
  const out = transpose(backend, hwcb4, [2, 0, 1, 3]);
  free(backend, hwcb4);
  return out;
}

/** x[:, :h, :w, :] as a new tensor. */
function cropHW(backend: WasmBackendLike, x: TensorInfo, h: number, w: number): TensorInfo {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const out = backend.makeOutput([B, h, w, C], 'float32');
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < h; i++) {
      const s = ((b * H + i) * W) * C;
      dst.set(src.subarray(s, s + w * C), ((b * h + i) * w) * C);
    }
  }
  return out;
}
