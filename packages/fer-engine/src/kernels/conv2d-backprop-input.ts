// Conv2DBackpropInput on 'wasm' as a forward convolution in XNNPACK (the backend's own kernel is
// 10-15x slower than its forward conv):
// dx[b,h,w,ci] = sum_{oh,kh: oh*s+kh-pt = h} dy[b,oh,ow,co] * W[kh,kw,ci,co]
// is a stride-1 forward conv of dy (zero-dilated by s when s > 1) with W flipped in kh,kw and its
// channels swapped ([fh,fw,Co,Ci]), pads (fh-1-pt) on top and H-Ho'+pt at the bottom.
import type { TensorInfo } from '@tensorflow/tfjs';
import { FerEngineError } from '../errors.js';
import { conv, conv2dGradientInfo, free, heapF32, type Attrs, type KernelFn, type WasmBackendLike } from './_wasm.js';

/** Builds the kernelFunc; `original` (the backend's own kernel) handles the rare cases this one does not. */
export function makeConv2dBackpropInputWasm(original: KernelFn | undefined) {
  return function conv2dBackpropInputWasm(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs }): TensorInfo {
    const { inputs, backend } = args;
    const inputShape = (args.attrs as { inputShape: [number, number, number, number] } | undefined)?.inputShape;
    const dy = inputs['dy']!;
    const filter = inputs['filter']!;
    const info = conv2dGradientInfo('Conv2DBackpropInput', args.attrs, inputShape!, filter.shape as [number, number, number, number]);
    const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    const Hd = (Ho - 1) * sh + 1;
    const Wd = (Wo - 1) * sw + 1;
    const pads: [number, number, number, number] = [fh - 1 - pt, H - Hd + pt, fw - 1 - pl, W - Wd + pl];
    if (pads.some((p) => p < 0) || dy.shape[1] !== Ho || dy.shape[2] !== Wo) {
      if (original) return original(args) as TensorInfo;
      throw new FerEngineError('E_WASM_UNSUPPORTED', `Conv2DBackpropInput on wasm got pads [${pads}] it cannot express, and the backend has no fallback kernel.`);
    }
    const flipped = flipSwap(backend, filter); // [fh,fw,Co,Ci], flipped in fh and fw
    const dyd = sh > 1 || sw > 1 ? dilateHW(backend, dy, sh, sw) : dy;
    const dx = conv(backend, dyd, flipped, { strides: [1, 1], dilations: [1, 1], pads });
    if (dyd !== dy) free(backend, dyd);
    free(backend, flipped);
    return dx;
  };
}

// --- Internal helpers ---

/** W [fh,fw,Ci,Co] -> W' [fh,fw,Co,Ci] with W'[i,j,o,c] = W[fh-1-i, fw-1-j, c, o], in one pass (the backend's Transpose + Reverse took ~25% of the kernel on 3x3x512x512). */
function flipSwap(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [fh, fw, Ci, Co] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([fh, fw, Co, Ci], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  const block = Ci * Co;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const so = ((fh - 1 - i) * fw + (fw - 1 - j)) * block;
      const d0 = (i * fw + j) * block;
      for (let c = 0; c < Ci; c++) {
        const sr = so + c * Co;
        for (let o = 0; o < Co; o++) dst[d0 + o * Ci + c] = src[sr + o]!;
      }
    }
  }
  return out;
}

/** dy [B,Ho,Wo,C] -> [B,(Ho-1)*sh+1,(Wo-1)*sw+1,C] with dy at multiples of the strides, zeros elsewhere. */
function dilateHW(backend: WasmBackendLike, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [B, Ho, Wo, C] = dy.shape as [number, number, number, number];
  const Hd = (Ho - 1) * sh + 1;
  const Wd = (Wo - 1) * sw + 1;
  const out = backend.makeOutput([B, Hd, Wd, C], 'float32');
  const src = heapF32(backend, dy);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const s = ((b * Ho + i) * Wo + j) * C;
        dst.set(src.subarray(s, s + C), ((b * Hd + i * sh) * Wd + j * sw) * C);
      }
    }
  }
  return out;
}
