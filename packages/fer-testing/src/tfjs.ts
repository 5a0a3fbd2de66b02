// tfjs helpers for comparing backends: run one kernel, a training step's loss and gradients, weights in
// and out, and a fast tfjs-backend-cpu reference for the convolution filter gradient. Each takes the tf
// namespace the test uses.
import type * as tfType from '@tensorflow/tfjs';
import { expectAllClose } from './compare.js';
import { mulberry32 } from './rng.js';

/** One kernel call: its name, float32 inputs by name, and attributes. */
export interface KernelCase {
  name: string;
  inputs: Record<string, { shape: number[]; values: Float32Array }>;
  attrs: Record<string, unknown>;
}

/** Runs `c` through tf.engine().runKernel on `backend`; returns the output values and shape, leaving no tensor. */
export async function runKernelOn(tf: typeof tfType, backend: string, c: KernelCase): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const ins: Record<string, tfType.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) ins[k] = tf.tensor(v.values, v.shape, 'float32');
  const out = tf.engine().runKernel(c.name, ins as unknown as tfType.NamedTensorMap, c.attrs as unknown as tfType.NamedAttrMap) as tfType.Tensor;
  const values = Float32Array.from((await out.data()) as Float32Array);
  const shape = out.shape.slice();
  tf.dispose([out, ...Object.values(ins)]);
  return { shape, values };
}

/**
 * Runs `c` on `backend` and on `reference` ('cpu' unless given); throws unless the shapes are equal and
 * max |got - reference| <= rel * max(1, max |reference|). Returns both results.
 */
export async function expectKernelClose(
  tf: typeof tfType,
  c: KernelCase,
  o: { backend: string; reference?: string; rel?: number },
): Promise<{ got: { shape: number[]; values: Float32Array }; ref: { shape: number[]; values: Float32Array } }> {
  const ref = await runKernelOn(tf, o.reference ?? 'cpu', c);
  const got = await runKernelOn(tf, o.backend, c);
  const what = `${c.name} on ${o.backend} ${JSON.stringify(Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v.shape])))} ${JSON.stringify(c.attrs)}`;
  if (JSON.stringify(got.shape) !== JSON.stringify(ref.shape)) throw new Error(`${what}: output shape [${got.shape}], the reference has [${ref.shape}]`);
  expectAllClose(got.values, ref.values, what, o.rel);
  return { got, ref };
}

/** Copies of every weight of `m`, in getWeights() order. */
export async function readWeights(m: tfType.LayersModel): Promise<Float32Array[]> {
  return Promise.all(m.getWeights().map(async (w) => Float32Array.from((await w.data()) as Float32Array)));
}

/** Sets every weight of `m` from `values` (getWeights() order). */
export function setWeights(tf: typeof tfType, m: tfType.LayersModel, values: ArrayLike<number>[]): void {
  const shapes = m.getWeights().map((w) => w.shape);
  const ts = values.map((v, i) => tf.tensor(Float32Array.from(v), shapes[i]));
  m.setWeights(ts);
  tf.dispose(ts);
}

/** A training step's mean categorical cross-entropy and the gradient of every trainable weight (model order). */
export interface GradStep {
  loss: number;
  grads: Float32Array[];
  names: string[];
}

/**
 * One training step's loss and gradients of `m` on `inputs` (made, and disposed, here) with integer labels.
 * With `seed`, Math.random is a seeded generator during the step, so unseeded Dropout layers draw the same
 * masks on every backend (tfjs draws them in JS from a generator seeded with Math.random()).
 */
export async function gradStep(
  tf: typeof tfType,
  m: tfType.LayersModel,
  inputs: () => tfType.Tensor | tfType.Tensor[],
  labels: number[],
  seed?: number,
): Promise<GradStep> {
  const vars = m.trainableWeights.map((w) => w.read() as tfType.Variable);
  const x = inputs();
  const classes = (m.outputs[0].shape[1] as number | null) ?? 0;
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat());
  const realRandom = Math.random;
  if (seed !== undefined) Math.random = mulberry32(seed);
  let value: tfType.Scalar;
  let grads: tfType.NamedTensorMap;
  try {
    ({ value, grads } = tf.variableGrads(() => tf.mean(tf.metrics.categoricalCrossentropy(y, m.apply(x, { training: true }) as tfType.Tensor)) as tfType.Scalar, vars));
  } finally {
    Math.random = realRandom;
  }
  const loss = (await value.data())[0];
  const out: Float32Array[] = [];
  for (const v of vars) out.push(Float32Array.from((await grads[v.name].data()) as Float32Array));
  tf.dispose([value, y, ...(Array.isArray(x) ? x : [x]), ...Object.values(grads)]);
  return { loss, grads: out, names: m.trainableWeights.map((w) => w.originalName) };
}

/**
 * Replaces tfjs-backend-cpu's Conv2DBackpropFilter, a scalar loop that takes tens of seconds for one
 * paper-model step (it blocks the event loop past vitest's RPC timeout on a loaded machine), with the same
 * sum as one forward convolution of the cpu backend: x as [Ci,H,W,B] (batch as channels) with dy as a
 * [Ho,Wo,B,Co] filter. Stride 1, odd kernel, 'same' padding, NHWC only; anything else goes to the original.
 * Returns the original kernel function (to check the replacement against) and `restore`.
 */
export function useFastCpuFilterGradient(tf: typeof tfType): { original: tfType.KernelFunc; restore(): void } {
  const config = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  if (!config) throw new Error('useFastCpuFilterGradient: no Conv2DBackpropFilter kernel on the cpu backend; import @tensorflow/tfjs first');
  const original = config.kernelFunc;
  const fast: tfType.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tfType.TensorInfo; dy: tfType.TensorInfo };
    const a = attrs as unknown as { strides: number | number[]; pad: unknown; dataFormat?: string; filterShape: number[] };
    const [kh, kw] = a.filterShape;
    const st = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
    if (a.pad !== 'same' || st[0] !== 1 || st[1] !== 1 || kh % 2 === 0 || kw % 2 === 0 || (a.dataFormat ?? 'NHWC') !== 'NHWC') {
      return original({ inputs, backend, attrs });
    }
    const cpu = backend as tfType.KernelBackend;
    const transpose = (t: tfType.TensorInfo, perm: number[]): tfType.TensorInfo =>
      tf.getKernel('Transpose', 'cpu')!.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as tfType.TensorInfo;
    const xt = transpose(x, [3, 1, 2, 0]);
    const dyt = transpose(dy, [1, 2, 0, 3]);
    const ph = (kh - 1) / 2;
    const pw = (kw - 1) / 2;
    const out = tf.getKernel('Conv2D', 'cpu')!.kernelFunc({
      inputs: { x: xt, filter: dyt },
      backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [ph, ph], [pw, pw], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] } as never,
    }) as tfType.TensorInfo;
    const result = transpose(out, [1, 2, 0, 3]);
    for (const t of [xt, dyt, out]) cpu.disposeData(t.dataId);
    return result;
  };
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ ...config, kernelFunc: fast });
  return {
    original,
    restore() {
      tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
      tf.registerKernel(config);
    },
  };
}
