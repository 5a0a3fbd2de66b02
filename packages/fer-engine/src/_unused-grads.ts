// tfjs-core computes input gradients that nothing uses. tf.fused.conv2d and tf.fused.matMul (what tf.layers
// Conv2D and Dense use while training) are customGrad ops: their gradFunc computes the gradient of every input
// at once, eagerly (conv: Conv2DBackpropInput for x, then Conv2DBackpropFilter, then the bias sum; matMul: the
// BatchMatMul for a, then the one for b), while the backward pass only asks for those on the path to the xs.
// So a model's first conv layer computes the gradient of the input image (paper-shallow at batch 128: a
// Conv2DBackpropInput over 128x48x48x32, ~3-4% of a training step) and throws it away; PyTorch does not.
//
// While the gradient of such a tape node runs in a top-level backward pass, the kernel call that would compute
// the gradient of an input that is not on the path returns a zero-filled placeholder of the same shape and
// dtype instead of running. The placeholder is never an input gradient anyone uses: backpropagation calls only
// the gradient closures of the inputs on the path, so it is dropped with the backward pass's scope like the
// gradient it replaces. Every kernel that does run gets the same inputs: gradients are bit-identical.
//
// NOTE: on every backend (cpu, wasm with or without the native kernels, webgpu, tensorflow), not only with the
// native kernels: the waste is tfjs-core's, the same on each, and the mechanism depends only on tfjs-core
// (the tape, engine.runKernel), not on any backend's kernels. Nothing else changes: other ops, higher-order
// gradients (gradientDepth > 0) and nodes whose inputs are all on the path run tfjs' own code untouched.
//
// What this relies on in tfjs-core 4.x (checked at run time; a node that does not look like this is left alone):
// - a customGrad op records one tape node named after the op's scope, `fusedConv2d__op` / `fusedMatMul__op`
//   (op() appends `__op`), with inputs '0' (x / a3D), '1' (filter / b3D) and, with a bias, '2';
// - it saves [filter, x, y(, bias)] (conv) / [a3D, b3D, y(, bias)] (matMul): shapes of saved[1], saved[0] /
//   saved[0], saved[1] equal those of inputs '0', '1';
// - the gradFunc calls the kernels named below through engine.runKernel, in that order, each once (matMul: two
//   BatchMatMuls, a's first); a call is skipped only if its output shape is that of the input it is for;
// - backpropagateGradients calls node.gradient(dys) as a method of the pruned copy of the node, whose `inputs`
//   are only those on the path, and then only their closures.
import * as tf from '@tensorflow/tfjs';

const PATCHED = Symbol.for('@fer/engine/skip-unused-grads');

type Shape = readonly number[];

interface TapeNodeLike {
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

type RunKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

interface EngineLike {
  state: { gradientDepth: number; activeTape: TapeNodeLike[] | null };
  runKernel: RunKernel;
  addTapeNode: ((...args: unknown[]) => void) & { [PATCHED]?: true };
}

/** Per input of the op: the kernel call (its name, and which call of that name in the gradFunc) that computes its gradient. */
interface Op {
  inputs: Record<'0' | '1', { kernel: string; nth: number }>;
  /** Index in `saved` of the copy of inputs '0' and '1'. */
  saved: [number, number];
}

const OPS: Record<string, Op> = {
  fusedConv2d__op: { inputs: { '0': { kernel: 'Conv2DBackpropInput', nth: 0 }, '1': { kernel: 'Conv2DBackpropFilter', nth: 0 } }, saved: [1, 0] },
  fusedMatMul__op: { inputs: { '0': { kernel: 'BatchMatMul', nth: 0 }, '1': { kernel: 'BatchMatMul', nth: 1 } }, saved: [0, 1] },
};

/** What the skip did (for tests): `skipped` counts the kernel calls it replaced; `enabled: false` turns it off. */
export const unusedGradients = { skipped: 0, enabled: true };

/** Patches the engine once per tfjs instance; from then on every backend's top-level backward passes skip them. */
export function installUnusedGradientSkip(): void {
  const engine = tf.engine() as unknown as EngineLike;
  if (engine.addTapeNode[PATCHED]) return;
  const addTapeNode = engine.addTapeNode;
  const patched = function (this: EngineLike, ...args: unknown[]) {
    addTapeNode.apply(this, args);
    const op = OPS[args[0] as string];
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    if (op && node && node.kernelName === args[0] && looksLike(node, op)) wrap(engine, node, op);
  } as EngineLike['addTapeNode'];
  patched[PATCHED] = true;
  engine.addTapeNode = patched;
}

function looksLike(node: TapeNodeLike, op: Op): boolean {
  const names = Object.keys(node.inputs).join(',');
  if (names !== '0,1' && names !== '0,1,2') return false;
  const saved = node.saved ?? [];
  if (saved.length !== Object.keys(node.inputs).length + 1) return false; // the inputs and y
  return sameShape(saved[op.saved[0]]?.shape, node.inputs['0']!.shape) && sameShape(saved[op.saved[1]]?.shape, node.inputs['1']!.shape) && typeof node.gradient === 'function';
}

function wrap(engine: EngineLike, node: TapeNodeLike, op: Op): void {
  const gradient = node.gradient!;
  const shapes = { '0': node.inputs['0']!.shape, '1': node.inputs['1']!.shape };
  // NOTE: a function, not an arrow: `this` is the pruned copy of the node that backpropagation calls.
  node.gradient = function (this: TapeNodeLike | undefined, dys) {
    const onPath = this?.inputs;
    if (!unusedGradients.enabled || engine.state.gradientDepth > 0 || !onPath) return gradient.call(this, dys);
    const skips = (['0', '1'] as const).filter((name) => !(name in onPath)).map((name) => ({ ...op.inputs[name], shape: shapes[name] }));
    if (skips.length === 0) return gradient.call(this, dys);
    const runKernel = engine.runKernel;
    const calls = new Map<string, number>();
    engine.runKernel = function (this: EngineLike, name, inputs, attrs) {
      const nth = calls.get(name) ?? 0;
      calls.set(name, nth + 1);
      const skip = skips.find((s) => s.kernel === name && s.nth === nth);
      if (skip && sameShape(outputShape(name, inputs, attrs), skip.shape)) {
        unusedGradients.skipped++;
        return tf.zeros(skip.shape as number[], 'float32');
      }
      return runKernel.call(this, name, inputs, attrs);
    };
    try {
      return gradient.call(this, dys);
    } finally {
      engine.runKernel = runKernel;
    }
  };
}

function outputShape(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): Shape | undefined {
  if (name === 'Conv2DBackpropInput') return attrs['inputShape'] as Shape;
  if (name === 'Conv2DBackpropFilter') return attrs['filterShape'] as Shape;
  const a = inputs['a']?.shape;
  const b = inputs['b']?.shape;
  if (!a || !b || a.length !== 3 || b.length !== 3 || (a[0] !== b[0] && a[0] !== 1 && b[0] !== 1)) return undefined;
  return [Math.max(a[0]!, b[0]!), attrs['transposeA'] ? a[2]! : a[1]!, attrs['transposeB'] ? b[1]! : b[2]!];
}

function sameShape(a: Shape | undefined, b: Shape | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);
}
