// Gradients replaced while the native kernels are registered on 'wasm' (any other backend runs tfjs' own):
// - Sum and Mean: tfjs-core builds `ones(x.shape)` in JavaScript (a fill plus a copy into the wasm heap) and
//   multiplies by it: for batch norm's moments that is ~0.5 s of a paper-deep step at batch 128. Here dy is
//   broadcast with one Tile pass: (dy * 1) / n equals dy / n exactly, so the values are bit-identical.
// - FusedBatchNorm with per-channel statistics: tfjs-core's gradient makes ~8 full-size passes and keeps
//   x - mean and dy * scale alive until the end of the backward pass; the native kernel does two passes
//   and returns only dx plus the per-channel sums (same formulas; sums accumulated in double).
// - Relu: tfjs-core's mul(dy, step(x)) is two full-size passes and a temporary; FerReluGrad is one pass with the
//   same float32 multiply (bit-identical). The tape keeps Relu's output instead of its input: step(relu(x)) is
//   step(x) for every x (relu keeps NaN, and is 0 where x <= 0), so the gradient is the same, and the input (a
//   batch norm's output in the paper's networks, kept by nothing else) is freed after the forward pass.
// - MaxPool: the tape keeps only the input (tfjs keeps the output too, which FerMaxPoolGrad never reads).
//   Together with Relu's, this is ~200 MB of paper-deep's training peak at batch 128 (the memory target of
//   bench models); off wasm, or for other dtypes, tfjs' own gradient runs on the pooled output computed again.
import * as tf from '@tensorflow/tfjs';

const PATCHED = Symbol.for('@fer/engine/native-gradient');

/**
 * Registers `make(original)` as kernel `kernelName`'s gradient once per tfjs instance (a no-op when tfjs has no
 * gradient for it, or it is patched already); `saves` replaces what the tape keeps for it (default: as tfjs).
 */
function patchGradient(kernelName: string, make: (original: tf.GradConfig) => tf.GradFunc, saves?: Pick<tf.GradConfig, 'inputsToSave' | 'outputsToSave'>): void {
  const original = tf.getGradient(kernelName);
  if (!original || (original.gradFunc as unknown as Record<symbol, unknown>)[PATCHED]) return;
  const gradFunc = make(original);
  Object.defineProperty(gradFunc, PATCHED, { value: true });
  tf.registerGradient(saves ? { kernelName: original.kernelName, ...saves, gradFunc } : { ...original, gradFunc });
}

/** Replaces the Sum and Mean gradients once per tfjs instance (falls through to tfjs' off wasm). */
export function installNativeGradients(): void {
  for (const kernelName of ['Sum', 'Mean'] as const) {
    patchGradient(kernelName, (original) => (dy, saved, attrs) => {
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
    });
  }
  installBatchNormGradient();
  installReluGradient();
  installMaxPoolGradient();
}

function installReluGradient(): void {
  // saved = [y], y = relu(x); tfjs' gradient of saved [x] is mul(dy, step(x)), and step(y) = step(x).
  patchGradient('Relu', (original) => (dy, saved, attrs) => {
    const [y] = saved as tf.Tensor[];
    if (
      tf.getBackend() !== 'wasm' || tf.getKernel('FerReluGrad', 'wasm') == null || Array.isArray(dy) || !y ||
      y.dtype !== 'float32' || dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, y.shape) || y.size === 0
    ) {
      return original.gradFunc(dy, saved, attrs);
    }
    return { x: () => tf.engine().runKernel('FerReluGrad', { dy, x: y }) as tf.Tensor };
  }, { inputsToSave: [], outputsToSave: [true] });
}

function installMaxPoolGradient(): void {
  // saved = [x] only; tfjs' gradient takes [x, y].
  patchGradient('MaxPool', (original) => (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    if (
      tf.getBackend() !== 'wasm' || tf.getKernel('FerMaxPoolGrad', 'wasm') == null || Array.isArray(dy) || !x ||
      x.rank !== 4 || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.size === 0
    ) {
      return {
        x: () => {
          const a = attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
          const y = tf.maxPool(x as tf.Tensor4D, a.filterSize, a.strides, a.pad, a.dimRoundingMode);
          return (original.gradFunc(dy, [x!, y], attrs) as { x: () => tf.Tensor }).x();
        },
      };
    }
    return { x: () => tf.engine().runKernel('FerMaxPoolGrad', { dy, input: x }, attrs as tf.NamedAttrMap) as tf.Tensor };
  }, { inputsToSave: ['x'], outputsToSave: [] });
}

function installBatchNormGradient(): void {
  patchGradient('FusedBatchNorm', (original) => (dy, saved, attrs) => {
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
  });
}
