// MaxPoolGrad on 'wasm' as one pass over the wasm heap: for each output pixel, the first maximum of its
// window (row-major scan, strict '>', as tfjs-backend-cpu) receives dy. Channels run innermost, so every
// read is contiguous; the backend's own kernel was ~7% of a paper-shallow training step.
import { backend_util, type TensorInfo } from '@tensorflow/tfjs';
import { heapF32, type Attrs, type KernelFn, type WasmBackendLike } from './_wasm.js';

type Args = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs };

/** Builds the kernelFunc; `original` handles non-float32 inputs. */
export function makeMaxPoolGradWasm(original: KernelFn) {
  return function maxPoolGradWasm(args: Args): TensorInfo {
    const { inputs, backend } = args;
    const dy = inputs['dy']!;
    const x = inputs['input']!;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') return original(args) as TensorInfo;
    const a = (args.attrs ?? {}) as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    const xv = heapF32(backend, x);
    const dyv = heapF32(backend, dy);
    const dx = heapF32(backend, out);
    dx.fill(0);
    const maxv = new Float32Array(C);
    const idx = new Int32Array(C);
    for (let b = 0; b < B; b++) {
      for (let oh = 0; oh < Ho; oh++) {
        const h0 = oh * sh - pt;
        const hMin = Math.max(0, h0);
        const hMax = Math.min(H, h0 + fh);
        for (let ow = 0; ow < Wo; ow++) {
          const w0 = ow * sw - pl;
          const wMin = Math.max(0, w0);
          const wMax = Math.min(W, w0 + fw);
          maxv.fill(Number.NEGATIVE_INFINITY);
          idx.fill(-1);
          for (let h = hMin; h < hMax; h++) {
            for (let w = wMin; w < wMax; w++) {
              const o = ((b * H + h) * W + w) * C;
              for (let c = 0; c < C; c++) {
                const v = xv[o + c]!;
                if (v > maxv[c]!) {
                  maxv[c] = v;
                  idx[c] = o + c;
                }
              }
            }
          }
          const yo = ((b * Ho + oh) * Wo + ow) * C;
          for (let c = 0; c < C; c++) {
            const i = idx[c]!;
            if (i >= 0) dx[i]! += dyv[yo + c]!;
          }
        }
      }
    }
    return out;
  };
}
