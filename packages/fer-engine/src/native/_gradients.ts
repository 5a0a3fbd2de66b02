// tfjs-core's Sum and Mean gradients build `ones(x.shape)` in JavaScript (a fill plus a copy into the wasm
// heap) and multiply by it: for batch norm's moments that is ~0.5 s of a paper-deep step at batch 128.
// While the native kernels are registered on 'wasm', these gradients broadcast dy with one Tile pass
// instead: (dy * 1) / n equals dy / n exactly, so the values are bit-identical. Any other backend runs
// tfjs' own gradient, unchanged.
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
}
