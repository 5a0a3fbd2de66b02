// tfjs dropout draws its mask in JavaScript (tf.randomUniform fills a buffer value by value with
// seedrandom's alea), about 30 ns per element: 0.35-0.45 s of a paper-model training step at batch 128.
// While the native kernels are registered on 'wasm', the Dropout layer draws the same mask natively: the
// seed is chosen exactly as tfjs chooses it (layer seed, else Math.random()), alea's state is seeded in
// JavaScript with seedrandom's Mash, and the addon continues the sequence and computes tfjs' multiplier
// floor(u + keep) / keep in float32. Masks, outputs and gradients are bit-identical to tfjs'. With a binary that
// has FerDropoutApply, the mask is never stored: the layer's output is x * mask computed in one pass, and its
// gradient dy * mask draws the same mask again from the same seed (the generator jumps ahead, so either is
// parallel): one full-size tensor less on the tape per Dropout layer, the same float32 products as tf.mul.
import * as tf from '@tensorflow/tfjs';

const PATCHED = Symbol.for('@fer/engine/native-dropout');

type LayerCall = (this: DropoutLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
interface DropoutLike {
  rate: number;
  seed?: number | string;
  getNoiseShape(input: tf.Tensor): number[] | null | undefined;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}

/** Patches tf.layers Dropout's call once per tfjs instance (SpatialDropout and friends keep tfjs' path). */
export function installNativeDropout(): void {
  const probe = tf.layers.dropout({ rate: 0.5 });
  const proto = Object.getPrototypeOf(probe) as { call: LayerCall & { [PATCHED]?: true } };
  if (Object.prototype.hasOwnProperty.call(proto, 'call') && proto.call[PATCHED]) return;
  const original = proto.call;
  const call = function (this: DropoutLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
    const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const training = kwargs?.['training'] === true;
    if (
      !training || !input || input.dtype !== 'float32' || !(this.rate > 0 && this.rate < 1) ||
      tf.getBackend() !== 'wasm' || tf.getKernel('FerDropoutMask', 'wasm') == null
    ) {
      return original.call(this, inputs, kwargs);
    }
    const noise = this.getNoiseShape(input);
    if (noise != null && !tf.util.arraysEqual(noise, input.shape)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      // NOTE: as tfjs-core UniformRandom: seed ?? Math.random(), numbers as their string
      const seed = String(this.seed ?? Math.random());
      const keepProb = 1 - this.rate;
      const state = aleaState(seed);
      if (tf.getKernel('FerDropoutApply', 'wasm') != null) {
        // NOTE: each call gets a fresh copy of the seeded state (the kernel advances the state it is given).
        const apply = (x: tf.Tensor): tf.Tensor => tf.engine().runKernel('FerDropoutApply', { x }, { state: state.slice(), keepProb } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const op = tf.customGrad(((x: tf.Tensor) => ({ value: apply(x), gradFunc: (dy: tf.Tensor) => apply(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
        return op(input);
      }
      const mult = tf.engine().runKernel('FerDropoutMask', {}, { shape: input.shape, state, keepProb } as unknown as tf.NamedAttrMap) as tf.Tensor;
      return tf.mul(input, mult);
    });
  } as LayerCall & { [PATCHED]?: true };
  call[PATCHED] = true;
  proto.call = call;
}

/** The state {c, s0, s1, s2} of seedrandom 3's `alea(seed)` before its first draw. */
export function aleaState(seed: string): Float64Array {
  let n = 0xefc8249d;
  const mash = (data: string): number => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * 2.3283064365386963e-10;
  };
  let s0 = mash(' ');
  let s1 = mash(' ');
  let s2 = mash(' ');
  s0 -= mash(seed);
  if (s0 < 0) s0 += 1;
  s1 -= mash(seed);
  if (s1 < 0) s1 += 1;
  s2 -= mash(seed);
  if (s2 < 0) s2 += 1;
  return Float64Array.of(1, s0, s1, s2);
}
