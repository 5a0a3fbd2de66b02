// Gradients replaced while the native kernels are registered on 'wasm' (any other backend runs tfjs' own):
// - Sum and Mean: tfjs-core builds `ones(x.shape)` in JavaScript (a fill plus a copy into the wasm heap) and
//   multiplies by it: for batch norm's moments that is ~0.5 s of a paper-deep step at batch 128. Here dy is
//   broadcast with one Tile pass: (dy * 1) / n equals dy / n exactly, so the values are bit-identical.
// - FusedBatchNorm with per-channel statistics: tfjs-core's gradient makes ~8 full-size passes and keeps
//   x - mean and dy * scale alive until the end of the backward pass; the native kernel does two passes
//   and returns only dx plus the per-channel sums (same formulas; sums accumulated in double).
// - Relu: tfjs-core's mul(dy, step(x)) is two full-size passes and a temporary; FerReluGrad is one pass with the
//   same float32 multiply (bit-identical).
import * as tf from '@tensorflow/tfjs';

const PATCHED = Symbol.for('@fer/engine/native-gradient');

/** Replaces the Sum and Mean gradients once per tfjs instance (falls through to tfjs' off wasm). */
export function installNativeGradients(): void {
  for (const kernelName of ['Sum', 'Mean'] as const) {
    const original = tf.getGradient(kernelName);
    if (!original || (original.gradFunc as unknown as Record<symbol, unknown>)[PATCHED]) continue;
    const gradFunc: tf.GradFunc = (dy, saved, attrs) => {
      if (tf.getBackend() !== 'wasm' || tf.getKernel('FerDropoutMask', 'wasm') == null || Array.isArray(dy)) return original.gradFunc(dy, saved, attrs);
      const [x] = saved as tf.Tensor[];
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
      const expanded = x!.shape.slice();
      for (const a of axes) expanded[a] = 1;
      const reduceSize = kernelName === 'Mean' ? tf.util.sizeFromShape(axes.map((a) => x!.shape[a]!)) : 1;
      return {
        x: () => {
          const r = tf.reshape(dy, expanded);
          return tf.broadcastTo(kernelName === 'Mean' ? tf.div(r, reduceSize) : r, x!.shape);
        },
      };
    };
    Object.defineProperty(gradFunc, PATCHED, { value: true });
    tf.registerGradient({ ...original, gradFunc });
  }
  installBatchNormGradient();
  installReluGradient();
}

function installReluGradient(): void {
  const original = tf.getGradient('Relu');
  if (!original || (original.gradFunc as unknown as Record<symbol, unknown>)[PATCHED]) return;
  const gradFunc: tf.GradFunc = (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    if (
      tf.getBackend() !== 'wasm' || tf.getKernel('FerReluGrad', 'wasm') == null || Array.isArray(dy) || !x ||
      x.dtype !== 'float32' || dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, x.shape) || x.size === 0
    ) {
      return original.gradFunc(dy, saved, attrs);
    }
    return { x: () => tf.engine().runKernel('FerReluGrad', { dy, x }) as tf.Tensor };
  };
  Object.defineProperty(gradFunc, PATCHED, { value: true });
  tf.registerGradient({ ...original, gradFunc });
}

function installBatchNormGradient(): void {
  const original = tf.getGradient('FusedBatchNorm');
  if (!original || (original.gradFunc as unknown as Record<symbol, unknown>)[PATCHED]) return;
  const gradFunc: tf.GradFunc = (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as (tf.Tensor | undefined)[];
    const C = x?.shape[x.shape.length - 1];
    const perChannel = (t?: tf.Tensor): boolean => t == null || (t.rank === 1 && t.shape[0] === C && t.dtype === 'float32');
    if (
      tf.getBackend() !== 'wasm' || tf.getKernel('FerBatchNormGrad', 'wasm') == null || Array.isArray(dy) ||
      !x || x.dtype !== 'float32' || dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, x.shape) ||
      !mean || !variance || !perChannel(mean) || !perChannel(variance) || !perChannel(scale)
    ) {
      return original.gradFunc(dy, saved, attrs);
    }
    const inputs: Record<string, tf.Tensor> = { x, mean, variance, dy };
    if (scale) inputs['scale'] = scale;
    const [dx, dmean, dvariance, dscale, doffset] = tf.engine().runKernel('FerBatchNormGrad', inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor[];
    return { x: () => dx!, mean: () => dmean!, variance: () => dvariance!, scale: () => dscale!, offset: () => doffset! };
  };
  Object.defineProperty(gradFunc, PATCHED, { value: true });
  tf.registerGradient({ ...original, gradFunc });
}
