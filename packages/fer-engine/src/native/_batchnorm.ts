// tf.layers.batchNormalization in training computes tfjs' moments (Mean, Sub, Square, Mean) and FusedBatchNorm,
// and its gradient runs back through all of them: ~5 full-size passes forward and ~10 backward (Tile, Multiply,
// Sum, Add), each kept on the tape. While the native kernels are registered on 'wasm', a BatchNormalization
// layer over the last axis (with center and scale, tfjs' defaults) runs FerBatchNormTrain instead (three native
// passes: mean, variance, normalize; the same float32 operations and sums as the native chain it replaces, so y,
// the moments and the moving averages are bit-identical to it) under a custom gradient, FerBatchNormTrainGrad
// (two passes: the per-channel sums, then dx). The moving mean and variance are updated as tfjs does.
import * as tf from '@tensorflow/tfjs';

const PATCHED = Symbol.for('@fer/engine/native-batchnorm');

type LayerCall = (this: BatchNormLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
interface LayerVariableLike {
  read(): tf.Tensor;
  write(t: tf.Tensor): void;
}
interface BatchNormLike {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma?: LayerVariableLike | null;
  beta?: LayerVariableLike | null;
  movingMean: LayerVariableLike;
  movingVariance: LayerVariableLike;
}

/** Patches tf.layers BatchNormalization's call once per tfjs instance (any other case keeps tfjs' path). */
export function installNativeBatchNorm(): void {
  const probe = tf.layers.batchNormalization({});
  const proto = Object.getPrototypeOf(probe) as { call: LayerCall & { [PATCHED]?: true } };
  if (Object.prototype.hasOwnProperty.call(proto, 'call') && proto.call[PATCHED]) return;
  const original = proto.call;
  const call = function (this: BatchNormLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
    const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const ndim = input?.rank ?? 0;
    if (
      kwargs?.['training'] !== true || !input || input.dtype !== 'float32' || ndim < 2 || input.size === 0 ||
      (this.axis >= 0 ? this.axis : this.axis + ndim) !== ndim - 1 || !this.center || !this.scale || !this.gamma || !this.beta ||
      tf.getBackend() !== 'wasm' || tf.getKernel('FerBatchNormTrain', 'wasm') == null || tf.getKernel('FerBatchNormTrainGrad', 'wasm') == null
    ) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const attrs = { varianceEpsilon: this.epsilon } as unknown as tf.NamedAttrMap;
      let moments: tf.Tensor[] = [];
      const op = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
        const [y, mean, variance] = tf.engine().runKernel('FerBatchNormTrain', { x, scale: gamma, offset: beta }, attrs) as tf.Tensor[];
        save([x, mean!, variance!, gamma]);
        // NOTE: customGrad disposes what its forward made except the value; the moving averages need the moments.
        moments = [tf.keep(mean!), tf.keep(variance!)];
        return {
          value: y!,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [xs, m, v, g] = saved;
            return tf.engine().runKernel('FerBatchNormTrainGrad', { x: xs!, mean: m!, variance: v!, scale: g!, dy }, attrs) as tf.Tensor[];
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0]);
      const y = op(input, this.gamma!.read(), this.beta!.read());
      try {
        // As tfjs' BatchNormalization: moving = moving - (moving - value) * (1 - momentum).
        const update = (variable: LayerVariableLike, value: tf.Tensor) => tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
        update(this.movingMean, moments[0]!);
        update(this.movingVariance, moments[1]!);
      } finally {
        tf.dispose(moments);
      }
      return y;
    });
  } as LayerCall & { [PATCHED]?: true };
  call[PATCHED] = true;
  proto.call = call;
}
