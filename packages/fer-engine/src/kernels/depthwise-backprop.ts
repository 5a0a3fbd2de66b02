// DepthwiseConv2dNativeBackpropFilter / ...BackpropInput on 'wasm' (tfjs-backend-wasm 4.22 has neither),
// as direct loops over the wasm heap. Depthwise convs are cheap (no channel mixing), so plain loops
// are adequate; they make separable-conv nets (mini-xception) trainable on wasm.
import { backend_util, type TensorInfo } from '@tensorflow/tfjs';
import { FerEngineError } from '../errors.js';
import { heapF32, type Attrs, type WasmBackendLike } from './_wasm.js';

interface DepthwiseAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: backend_util.ExplicitPadding | 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

/** dW[kh,kw,c,m] = sum_{b,oh,ow} x[b, oh*sh+kh*dh-pt, ow*sw+kw*dw-pl, c] * dy[b,oh,ow,c*M+m]. */
export function depthwiseBackpropFilterWasm(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs }): TensorInfo {
  const { inputs, backend } = args;
  const a = args.attrs as unknown as DepthwiseAttrs;
  const x = inputs['x']!;
  const dy = inputs['dy']!;
  const ci = info(x.shape as [number, number, number, number], a.filterShape!, a);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: Co, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = ci;
  const M = Co / C;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  const out = backend.makeOutput([fh, fw, C, M], 'float32');
  const xv = heapF32(backend, x);
  const dyv = heapF32(backend, dy);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const o = (kh * fw + kw) * Co;
      for (let b = 0; b < B; b++) {
        for (let oh = 0; oh < Ho; oh++) {
          const h = oh * sh + kh * dh - pt;
          if (h < 0 || h >= H) continue;
          for (let ow = 0; ow < Wo; ow++) {
            const w = ow * sw + kw * dw - pl;
            if (w < 0 || w >= W) continue;
            const xo = ((b * H + h) * W + w) * C;
            const yo = ((b * Ho + oh) * Wo + ow) * Co;
            for (let c = 0; c < C; c++) {
              const xval = xv[xo + c]!;
              for (let m = 0; m < M; m++) dst[o + c * M + m]! += xval * dyv[yo + c * M + m]!;
            }
          }
        }
      }
    }
  }
  return out;
}

/** dx[b,h,w,c] = sum_{kh,kw,m} dy[b,oh,ow,c*M+m] * W[kh,kw,c,m] where h = oh*sh+kh*dh-pt. */
export function depthwiseBackpropInputWasm(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: Attrs }): TensorInfo {
  const { inputs, backend } = args;
  const a = args.attrs as unknown as DepthwiseAttrs;
  const dy = inputs['dy']!;
  const filter = inputs['filter']!;
  const ci = info(a.inputShape!, filter.shape as [number, number, number, number], a);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: Co, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = ci;
  const M = Co / C;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  const out = backend.makeOutput([B, H, W, C], 'float32');
  const fv = heapF32(backend, filter);
  const dyv = heapF32(backend, dy);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let kh = 0; kh < fh; kh++) {
        const h = oh * sh + kh * dh - pt;
        if (h < 0 || h >= H) continue;
        for (let ow = 0; ow < Wo; ow++) {
          const yo = ((b * Ho + oh) * Wo + ow) * Co;
          for (let kw = 0; kw < fw; kw++) {
            const w = ow * sw + kw * dw - pl;
            if (w < 0 || w >= W) continue;
            const xo = ((b * H + h) * W + w) * C;
            const fo = (kh * fw + kw) * Co;
            for (let c = 0; c < C; c++) {
              let s = 0;
              for (let m = 0; m < M; m++) s += dyv[yo + c * M + m]! * fv[fo + c * M + m]!;
              dst[xo + c]! += s;
            }
          }
        }
      }
    }
  }
  return out;
}

// --- Internal helpers ---

function info(xShape: [number, number, number, number], filterShape: [number, number, number, number], a: DepthwiseAttrs): backend_util.Conv2DInfo {
  if (!xShape || !filterShape) {
    throw new FerEngineError('E_WASM_KERNEL_ATTRS', `Depthwise conv gradient on wasm got no ${xShape ? 'filterShape' : 'inputShape'} attribute; expected tfjs-core 4.x's depthwiseConv2d gradient to pass it.`);
  }
  return backend_util.computeConv2DInfo(xShape, filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true, 'channelsLast');
}
