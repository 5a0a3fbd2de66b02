// Fused optimizer updates: tfjs' Adam, SGD and Momentum optimizers spend ~13 (Adam) element-wise kernels
// per variable and step, each a pass over memory. When the native kernels are registered on 'wasm', their
// applyGradients runs one native pass per variable instead, computing the same float32 operations in the
// same order (bit-identical weights and slots). Any other backend runs tfjs' own code, unchanged.
import * as tf from '@tensorflow/tfjs';

type VarGrads = tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[];
type Apply = (this: tf.Optimizer, vg: VarGrads) => void;
type Slot = { originalName: string; variable: tf.Variable };

const PATCHED = Symbol.for('@fer/engine/native-optimizer');

/** Patches applyGradients of tf.AdamOptimizer, tf.SGDOptimizer and tf.MomentumOptimizer once per tfjs instance. */
export function installNativeOptimizers(): void {
  patch(tf.AdamOptimizer.prototype, 'FerAdamUpdate', adamApply);
  patch(tf.MomentumOptimizer.prototype, 'FerMomentumUpdate', momentumApply);
  patch(tf.SGDOptimizer.prototype, 'FerSgdUpdate', sgdApply);
}

// --- Internal helpers ---

function patch(proto: object, kernel: string, fused: (this: never, original: Apply, vg: VarGrads) => void): void {
  const p = proto as { applyGradients: Apply & { [PATCHED]?: true } };
  if (Object.prototype.hasOwnProperty.call(p, 'applyGradients') && p.applyGradients[PATCHED]) return;
  const original = p.applyGradients;
  const replaced = function (this: tf.Optimizer, vg: VarGrads): void {
    if (tf.getBackend() !== 'wasm' || tf.getKernel(kernel, 'wasm') == null) return original.call(this, vg);
    (fused as unknown as (this: tf.Optimizer, o: Apply, v: VarGrads) => void).call(this, original, vg);
  } as Apply & { [PATCHED]?: true };
  replaced[PATCHED] = true;
  p.applyGradients = replaced;
}

function entries(vg: VarGrads): { name: string; grad: tf.Tensor | undefined }[] {
  return Array.isArray(vg) ? vg.map((v) => ({ name: v.name, grad: v.tensor })) : Object.keys(vg).map((name) => ({ name, grad: vg[name] }));
}

function fusable(value: tf.Variable, grad: tf.Tensor, ...slots: tf.Variable[]): boolean {
  return [value, grad, ...slots].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, value.shape));
}

function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/** tfjs-core 4.22 AdamOptimizer.applyGradients with the per-variable arithmetic in one native kernel. */
function adamApply(this: tf.AdamOptimizer, original: Apply, vg: VarGrads): void {
  const self = this as unknown as {
    learningRate: number; beta1: number; beta2: number; epsilon: number;
    accBeta1: tf.Variable; accBeta2: tf.Variable;
    accumulatedFirstMoment: Slot[]; accumulatedSecondMoment: Slot[];
    incrementIterations(): void;
  };
  const list = entries(vg);
  tf.tidy(() => {
    const oneMinusAccBeta1 = tf.sub(1, self.accBeta1);
    const oneMinusAccBeta2 = tf.sub(1, self.accBeta2);
    const params = new Float32Array([
      self.learningRate, self.beta1, 1 - self.beta1, self.beta2, 1 - self.beta2,
      oneMinusAccBeta1.dataSync()[0]!, oneMinusAccBeta2.dataSync()[0]!, self.epsilon, 0,
    ]);
    list.forEach(({ name, grad }, i) => {
      const value = tf.engine().registeredVariables[name]!;
      self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      if (grad == null) return;
      const m = self.accumulatedFirstMoment[i].variable;
      const v = self.accumulatedSecondMoment[i].variable;
      if (!fusable(value, grad, m, v)) {
        // NOTE: tfjs' own arithmetic, for the rare variable the kernel does not take (e.g. not float32)
        const nm = tf.add(tf.mul(m, self.beta1), tf.mul(grad, 1 - self.beta1));
        const nv = tf.add(tf.mul(v, self.beta2), tf.mul(tf.square(grad), 1 - self.beta2));
        m.assign(nm);
        v.assign(nv);
        value.assign(tf.add(tf.mul(tf.div(tf.div(nm, oneMinusAccBeta1), tf.add(tf.sqrt(tf.div(nv, oneMinusAccBeta2)), self.epsilon)), -self.learningRate), value));
        return;
      }
      const [w2, m2, v2] = runKernel('FerAdamUpdate', { w: value, g: grad, m, v }, { params });
      m.assign(m2!);
      v.assign(v2!);
      value.assign(w2!);
    });
    self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
    self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
  });
  self.incrementIterations();
  void original;
}

/** tfjs-core 4.22 SGDOptimizer.applyGradients: value += c * g, c = -learningRate (float32). */
function sgdApply(this: tf.SGDOptimizer, original: Apply, vg: VarGrads): void {
  const self = this as unknown as { c: tf.Scalar; incrementIterations(): void };
  const negLr = self.c.dataSync()[0]!;
  for (const { name, grad } of entries(vg)) {
    if (grad == null) continue;
    const value = tf.engine().registeredVariables[name]!;
    tf.tidy(() => {
      if (!fusable(value, grad)) {
        value.assign(tf.add(tf.mul(self.c, grad), value));
        return;
      }
      value.assign(runKernel('FerSgdUpdate', { w: value, g: grad }, { negLr })[0]!);
    });
  }
  self.incrementIterations();
  void original;
}

/** tfjs-core 4.22 MomentumOptimizer.applyGradients (plain and Nesterov). */
function momentumApply(this: tf.MomentumOptimizer, original: Apply, vg: VarGrads): void {
  const self = this as unknown as { c: tf.Scalar; m: tf.Scalar; useNesterov: boolean; accumulations: Slot[]; incrementIterations(): void };
  const negLr = self.c.dataSync()[0]!;
  const momentum = self.m.dataSync()[0]!;
  entries(vg).forEach(({ name, grad }, i) => {
    const value = tf.engine().registeredVariables[name]!;
    self.accumulations[i] ??= { originalName: `${name}/momentum`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    const acc = self.accumulations[i].variable;
    if (grad == null) return;
    tf.tidy(() => {
      if (!fusable(value, grad, acc)) {
        const na = tf.add(tf.mul(self.m, acc), grad);
        const nv = self.useNesterov ? tf.add(tf.mul(self.c, tf.add(grad, tf.mul(na, self.m))), value) : tf.add(tf.mul(self.c, na), value);
        acc.assign(na);
        value.assign(nv);
        return;
      }
      const [w2, acc2] = runKernel('FerMomentumUpdate', { w: value, g: grad, acc }, { negLr, momentum, nesterov: self.useNesterov });
      acc.assign(acc2!);
      value.assign(w2!);
    });
  });
  self.incrementIterations();
  void original;
}
