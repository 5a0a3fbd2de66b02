// tfjs-core's backward pass (engine.gradients -> backpropagateGradients) keeps every intermediate gradient and
// every tensor the tape saved until the whole backward pass ends: for paper-deep at batch 128 that is ~950 MB of
// live buffers at the peak, where at most one layer's worth is needed at a time. While the native kernels are
// registered on 'wasm', a top-level gradients() call (not a higher-order one) releases them as it goes: once the
// last input gradient of a tape node has been computed, that node's output gradients (dys) and its saved tensors
// are disposed. Nothing is computed differently (same kernels, same order), so gradients are bit-identical.
// Never released: the dy the caller passed in, and any tensor a gradient function returned as an input gradient
// (a gradient may return dy or a saved tensor itself). tfjs' own cleanup at the end disposes the rest as before.
import * as tf from '@tensorflow/tfjs';
import { installUnusedGradientSkip } from '../_unused-grads.js';

const PATCHED = Symbol.for('@fer/engine/native-tape-release');

interface TapeNodeLike {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineLike {
  state: { gradientDepth: number; activeTape: TapeNodeLike[] | null };
  endTape: () => void;
  gradients: ((f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => unknown) & { [PATCHED]?: true };
}

/** Counts of what the last patched backward pass released early (for tests). */
export const tapeRelease = { nodes: 0, tensors: 0 };

/** Patches the engine's gradients() once per tfjs instance (off 'wasm' + native, tfjs' own runs unchanged). */
export function installTapeRelease(active: () => boolean): void {
  // NOTE: registerNativeKernels() without initBackend() gets the skip of unused input gradients here (initBackend
  // installs it for every backend).
  installUnusedGradientSkip();
  const engine = tf.engine() as unknown as EngineLike;
  if (engine.gradients[PATCHED]) return;
  const original = engine.gradients;
  const gradients = function (this: EngineLike, f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) {
    if (!active() || this.state.gradientDepth > 0) return original.call(this, f, xs, dy, allowNoGradients);
    // gradients() runs the forward pass and ends the tape (endTape), then filters the tape and backpropagates:
    // the tape's nodes are wrapped when the tape ends, before the filtered copies of them are made.
    const endTape = this.endTape;
    this.endTape = function (this: EngineLike) {
      endTape.call(this);
      if (this.state.gradientDepth === 0 && this.state.activeTape) {
        this.endTape = endTape;
        wrapTape(this.state.activeTape, dy);
      }
    };
    try {
      return original.call(this, f, xs, dy, allowNoGradients);
    } finally {
      this.endTape = endTape;
    }
  } as EngineLike['gradients'];
  gradients[PATCHED] = true;
  engine.gradients = gradients;
}

function wrapTape(tape: TapeNodeLike[], callerDy: tf.Tensor | undefined): void {
  tapeRelease.nodes = 0;
  tapeRelease.tensors = 0;
  // Every input gradient returned for a tensor, by tensor id: where a tensor feeds several nodes, tfjs adds the
  // contributions and keeps each one to the end; they are released once added, the last with the tensor's own
  // gradient (a variable's last one stays to the end).
  const contributions = new Map<number, tf.Tensor[]>();
  for (const node of tape) {
    const gradient = node.gradient;
    if (!gradient) continue;
    // NOTE: a function, not an arrow: backpropagation calls node.gradient(dys) on a filtered copy of the node,
    // whose inputs are only those on the path to the xs; their gradients are the ones computed.
    node.gradient = function (this: TapeNodeLike, dys) {
      const closures = gradient.call(this, dys); // `this`: the pruned node (src/_unused-grads.ts reads its inputs)
      const names = Object.keys(this.inputs);
      let left = names.length;
      const returned = new Set<tf.Tensor>();
      const wrapped: Record<string, () => tf.Tensor> = { ...closures };
      for (const name of names) {
        const closure = closures[name];
        if (!closure) return closures; // tfjs reports the missing gradient itself
        const inputId = this.inputs[name]!.id;
        wrapped[name] = () => {
          const dx = closure();
          returned.add(dx);
          const list = contributions.get(inputId);
          if (!list) contributions.set(inputId, [dx]);
          else {
            // The first contribution is the running sum until the second is added (tfjs then disposes it); every
            // later one was added already: only the first and this one are still needed.
            release(list.splice(1), returned, callerDy);
            list.push(dx);
          }
          if (--left === 0) {
            tapeRelease.nodes++;
            release([...dys, ...(this.saved ?? []), ...this.outputs.flatMap((o) => contributions.get(o.id) ?? [])], returned, callerDy);
          }
          return dx;
        };
      }
      return wrapped;
    };
  }
}

function release(tensors: (tf.Tensor | null)[], returned: Set<tf.Tensor>, callerDy: tf.Tensor | undefined): void {
  for (const t of tensors) {
    if (t == null || t === callerDy || returned.has(t) || t.isDisposed) continue;
    t.dispose();
    tapeRelease.tensors++;
  }
}
