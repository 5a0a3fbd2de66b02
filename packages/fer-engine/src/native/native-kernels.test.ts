// The native kernels (@fer/engine-native-<platform>: oneDNN and OpenMP) registered on 'wasm', each against
// tfjs-backend-cpu (the reference) through tf.engine().runKernel, over seeded random shapes. Every case
// also counts the addon calls, so a case the native kernel should take cannot pass on the WASM fallback,
// and a case it must hand to the fallback (e.g. a [2,1] x [1,3] broadcast) is checked to do so.
// Bounds: max |native - cpu| <= 1e-4 * max(1, max |cpu|) (float32 sums in another order); element-wise
// ops that are one IEEE float32 operation per element (add, sub, mul, div, max, min, sqrt, square, neg,
// abs, relu, relu6, step, reciprocal) must equal cpu, and the WASM kernel they replace, bit for bit.
// When the addon does not load the native blocks are skipped, saying why, unless CI or
// FER_NATIVE_REQUIRED=1 is set: then the 'loads' test fails with the reason.
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { aleaDropoutMask, countCalls, expectAllClose, expectBitIdentical, mulberry32, randomValues, type KernelCase } from '@fer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WasmBackendLike } from '../kernels/_wasm.js';
import { describeNativeKernels, registerNativeKernels } from '../native-kernels.js';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';
import { loadNative } from './_addon.js';

registerWasmTrainingKernels();
// The kernels the native ones wrap, captured before they are replaced: "wasm without native".
const wasmOriginal = new Map(tf.getKernelsForBackend('wasm').map((k) => [k.kernelName, k.kernelFunc]));
// NOTE: 3 threads (more than this machine may have) so the OpenMP splits are uneven on purpose.
const status = registerNativeKernels({ threads: 3 });
const required = Boolean(process.env['CI']) || process.env['FER_NATIVE_REQUIRED'] === '1';
const skipped = status.active ? '' : ` (SKIPPED: native kernels not loaded: ${status.why})`;

// Counts calls into the addon, per function (the kernels look the functions up on the addon object per call).
const load = loadNative();
const calls = load.ok ? countCalls(load.addon) : new Map<string, number>();

const REL = 1e-4;

type Values = { shape: number[]; values: Float32Array };
type Input = { shape: number[]; values: Float32Array };

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const t = (shape: number[], seed: number, scale = 1, shift = 0): Input => ({ shape, values: randomValues(size(shape), seed).map((v) => v * scale + shift) });

function makeInputs(c: KernelCase): Record<string, tf.Tensor> {
  const ins: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) ins[k] = tf.tensor(v.values, v.shape, 'float32');
  return ins;
}

/** Runs `c` on `backend` (no tensor or wasm data left behind); `native` = addon calls it made, by function. */
async function runOn(backend: 'cpu' | 'wasm', c: KernelCase): Promise<Values & { native: Map<string, number> }> {
  await tf.setBackend(backend);
  const before = new Map(calls);
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const ins = makeInputs(c);
  const out = tf.engine().runKernel(c.name, ins as unknown as tf.NamedTensorMap, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const values = Float32Array.from((await out.data()) as Float32Array);
  const shape = out.shape.slice();
  tf.dispose([out, ...Object.values(ins)]);
  expect(tf.memory().numTensors, `${c.name} on ${backend} leaked tensors`).toBe(tensors);
  expect(tf.engine().backend.numDataIds(), `${c.name} on ${backend} left data in the backend`).toBe(dataIds);
  const native = new Map<string, number>();
  for (const [k, n] of calls) if (n !== (before.get(k) ?? 0)) native.set(k, n - (before.get(k) ?? 0));
  return { shape, values, native };
}

/** Runs `c` through the WASM kernel the native one replaced (tfjs-backend-wasm or @fer/engine's WASM kernel). */
async function runWasmOriginal(c: KernelCase): Promise<Values> {
  await tf.setBackend('wasm');
  const ins = makeInputs(c);
  const backend = tf.backend() as unknown as WasmBackendLike;
  const fn = wasmOriginal.get(c.name)!;
  const out = fn({ inputs: ins as never, backend, attrs: c.attrs as never }) as tf.TensorInfo;
  const values = Float32Array.from(backend.readSync(out.dataId) as Float32Array);
  backend.disposeData(out.dataId);
  tf.dispose(Object.values(ins));
  return { shape: out.shape.slice(), values };
}

/**
 * Native vs cpu; `fn` is the addon function the case must call once (undefined: must fall back, no native call;
 * `notFn`: must fall back, and the fallback may use other native kernels, e.g. a forward conv, but not `notFn`).
 */
async function compare(c: KernelCase, fn: string | undefined, o: { exact?: boolean; rel?: number; notFn?: string } = {}): Promise<Values> {
  const ref = await runOn('cpu', c);
  const got = await runOn('wasm', c);
  const what = `${c.name} ${JSON.stringify(Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v.shape])))} ${JSON.stringify(c.attrs)}`;
  expect(got.shape, what).toEqual(ref.shape);
  if (fn) expect(Object.fromEntries(got.native), `${what}: expected one native ${fn} call`).toEqual({ [fn]: 1 });
  else if (o.notFn) expect(got.native.has(o.notFn), `${what}: expected the WASM fallback, got native ${o.notFn} calls`).toBe(false);
  else expect(got.native.size, `${what}: expected the WASM fallback, got native calls ${JSON.stringify([...got.native])}`).toBe(0);
  if (o.exact) expectBitIdentical(got.values, ref.values, what);
  else expectAllClose(got.values, ref.values, what, o.rel ?? REL);
  return got;
}

describe('native kernels: loading', () => {
  // NOTE: each declared only where it applies, so a run counts no skipped test.
  if (required || status.active) {
    it(`load and register on wasm${required ? ' (required here: CI or FER_NATIVE_REQUIRED=1)' : ''}`, () => {
      expect(status.active, `the native kernels did not load: ${status.why}`).toBe(true);
      expect(status.kernels).toEqual(expect.arrayContaining([
        'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul',
        'Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum',
        'Relu', 'Sqrt', 'Square', 'Rsqrt', 'Neg', 'Exp', 'Log', 'Abs', 'Step', 'Relu6', 'Sigmoid', 'Reciprocal',
        'Sum', 'Mean', 'FusedBatchNorm', 'MaxPool', 'MaxPoolGrad', 'Cast', 'FerBatchNormGrad', 'FerDropoutMask', 'FerAdamUpdate', 'FerSgdUpdate', 'FerMomentumUpdate',
      ]));
      expect(status).toMatchObject({ threads: 3, dnnl: expect.any(String), isa: expect.any(String) });
      // Our own loops' instruction set (the copy chosen at load; see native-isa.test.ts).
      expect(status.kernelIsa).toMatch(/^(sse2|avx2|avx512)$/);
      expect(describeNativeKernels().kernelIsa).toMatch(/^(sse2|avx2|avx512)$/);
      expect(describeNativeKernels().convPlan).toMatch(/^(auto|nhwc|blocked|gemm)$/);
    });
  }

  if (!required && !status.active) {
    it(`report why they are off${skipped}`, () => {
      expect(status.why).toEqual(expect.any(String));
      expect(describeNativeKernels()).toMatchObject({ active: false, why: status.why });
    });
  }

  it('describeNativeKernels() reports the same state, with no fallbacks yet', () => {
    const d = describeNativeKernels();
    expect(d.active).toBe(status.active);
    if (d.active) expect(d).toMatchObject({ failures: [], package: '@fer/engine-native-linux-x64-gnu', libraries: expect.arrayContaining([expect.stringMatching(/libdnnl\.so/)]) });
    else expect(d.why).toBe(status.why);
  });
});

// --- Convolutions ---

interface ConvCase { B: number; H: number; W: number; Ci: number; Co: number; kh: number; kw: number; strides: [number, number]; pad: 'same' | 'valid' | number[][]; dil: number }

function convCases(): ConvCase[] {
  const r = mulberry32(11);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const out: ConvCase[] = [
    { B: 1, H: 7, W: 9, Ci: 3, Co: 5, kh: 3, kw: 3, strides: [1, 1], pad: 'same', dil: 1 },
    { B: 2, H: 7, W: 9, Ci: 4, Co: 6, kh: 5, kw: 5, strides: [2, 2], pad: 'same', dil: 1 },
    { B: 3, H: 9, W: 7, Ci: 17, Co: 1, kh: 1, kw: 1, strides: [2, 2], pad: 'valid', dil: 1 },
    { B: 1, H: 8, W: 8, Ci: 1, Co: 17, kh: 3, kw: 3, strides: [2, 1], pad: [[0, 0], [1, 0], [2, 1], [0, 0]], dil: 1 },
    { B: 2, H: 9, W: 11, Ci: 5, Co: 7, kh: 3, kw: 3, strides: [1, 1], pad: 'same', dil: 2 },
    { B: 2, H: 10, W: 10, Ci: 3, Co: 4, kh: 3, kw: 5, strides: [1, 1], pad: 'valid', dil: 2 },
    // Larger, blocked-layout friendly shapes (oneDNN takes other code paths for 16/64 channels).
    { B: 2, H: 16, W: 16, Ci: 16, Co: 32, kh: 3, kw: 3, strides: [1, 1], pad: 'same', dil: 1 },
    { B: 2, H: 12, W: 12, Ci: 64, Co: 64, kh: 3, kw: 3, strides: [1, 1], pad: 'same', dil: 1 },
    { B: 2, H: 12, W: 12, Ci: 32, Co: 48, kh: 5, kw: 5, strides: [2, 2], pad: 'same', dil: 1 },
    // mini-xception's 1x1 stride-2 shortcut over an even size: the last row/column is never read (negative
    // implicit padding), where oneDNN 2.6 writes out of bounds; it must go to the WASM kernels.
    { B: 16, H: 44, W: 44, Ci: 2, Co: 2, kh: 1, kw: 1, strides: [2, 2], pad: 'same', dil: 1 },
  ];
  for (let i = 0; i < 24; i++) {
    const k = pick([1, 3, 5]);
    const strides: [number, number] = [pick([1, 2]), pick([1, 2])];
    const kind = pick(['same', 'valid', 'explicit'] as const);
    const pads = [int(0, 2), int(0, 2), int(0, 2), int(0, 2)];
    const minH = kind === 'valid' ? k : kind === 'explicit' ? Math.max(1, k - pads[0] - pads[1]) : 1;
    const minW = kind === 'valid' ? k : kind === 'explicit' ? Math.max(1, k - pads[2] - pads[3]) : 1;
    out.push({
      B: pick([1, 1, 2, 3]), H: int(minH, 11), W: int(minW, 11), Ci: int(1, 17), Co: int(1, 17), kh: k, kw: k, strides,
      pad: kind === 'explicit' ? [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]] : kind, dil: 1,
    });
  }
  return out;
}

/** Whether every input row and column is read (no negative implicit bottom/right padding): oneDNN takes only those. */
function readsEveryInput(c: ConvCase): boolean {
  const info = tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.Ci], [c.kh, c.kw, c.Ci, c.Co], c.strides, c.dil, c.pad as never, undefined, false, 'channelsLast');
  const effH = (c.kh - 1) * c.dil + 1;
  const effW = (c.kw - 1) * c.dil + 1;
  return (info.outHeight - 1) * info.strideHeight + effH - c.H - info.padInfo.top >= 0 && (info.outWidth - 1) * info.strideWidth + effW - c.W - info.padInfo.left >= 0;
}

// Every case runs under each convolution plan the addon has (setConvPlan): 'auto' (per shape), and forced 'nhwc',
// 'blocked' (oneDNN's own layout with the activations reordered in and out) and 'gemm' (im2col + GEMM).
const PLANS = load.ok && load.addon.setConvPlan ? ['auto', 'nhwc', 'blocked', 'gemm'] : ['auto'];

describe.skipIf(!status.active).each(PLANS)(`Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter: native = cpu, plan %s${skipped}`, (plan) => {
  beforeAll(() => {
    if (load.ok && load.addon.setConvPlan) expect(load.addon.setConvPlan(plan)).toBe(plan);
  });
  afterAll(() => {
    if (load.ok && load.addon.setConvPlan) load.addon.setConvPlan('auto');
  });

  it.each(convCases().map((c, i) => [i, c] as const))('case %i %j', async (i, c) => {
    const x = t([c.B, c.H, c.W, c.Ci], 1000 + i);
    const filter = t([c.kh, c.kw, c.Ci, c.Co], 2000 + i);
    const bias = t([c.Co], 3000 + i);
    const native = readsEveryInput(c);
    const conv = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [c.dil, c.dil], dimRoundingMode: undefined };
    const y = await compare({ name: 'Conv2D', inputs: { x, filter }, attrs: conv }, native ? 'convForward' : undefined);
    await compare({ name: 'FusedConv2D', inputs: { x, filter, bias }, attrs: { ...conv, activation: 'relu' } }, native ? 'convForward' : undefined);
    await compare({ name: 'FusedConv2D', inputs: { x, filter, bias }, attrs: { ...conv, activation: 'linear' } }, native ? 'convForward' : undefined);
    await compare({ name: 'FusedConv2D', inputs: { x, filter }, attrs: { ...conv, activation: 'relu' } }, native ? 'convForward' : undefined);
    if (c.dil !== 1) return; // the backprop kernels take no dilations
    const dy = t(y.shape, 4000 + i);
    const grad = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    // NOTE: the WASM fallbacks of the gradients are forward convolutions, which may run natively.
    await compare({ name: 'Conv2DBackpropInput', inputs: { dy, filter }, attrs: { ...grad, inputShape: x.shape } }, native ? 'convBackwardData' : undefined, { notFn: 'convBackwardData' });
    await compare({ name: 'Conv2DBackpropFilter', inputs: { x, dy }, attrs: { ...grad, filterShape: filter.shape } }, native ? 'convBackwardWeights' : undefined, { notFn: 'convBackwardWeights' });
  });

  it('hands FusedConv2D with a leakyrelu activation to the WASM kernel, with the right result', async () => {
    const x = t([2, 6, 6, 3], 5001);
    const filter = t([3, 3, 3, 4], 5002);
    const bias = t([4], 5003);
    await compare({ name: 'FusedConv2D', inputs: { x, filter, bias }, attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation: 'leakyrelu', leakyreluAlpha: 0.2 } }, undefined);
  });
});

describe.skipIf(!status.active || !(load.ok && load.addon.setConvPlan))(`convolution plans${skipped}`, () => {
  const addon = load.ok ? load.addon : undefined;
  /** The implementation info() reports for each direction of a 'same' stride-1 convolution after one call of each. */
  function implsOf(B: number, H: number, Ci: number, Co: number, k: number): string[] {
    const p = (k - 1) / 2;
    const dims = new Int32Array([B, H, H, Ci, H, H, Co, k, k, 1, 1, 1, 1, p, p, p, p]);
    const f = (n: number, seed: number) => randomValues(n, seed);
    addon!.convForward(f(B * H * H * Ci, 1), f(k * k * Ci * Co, 2), null, new Float32Array(B * H * H * Co), dims, 0);
    addon!.convBackwardData(f(B * H * H * Co, 3), f(k * k * Ci * Co, 2), new Float32Array(B * H * H * Ci), dims);
    addon!.convBackwardWeights(f(B * H * H * Ci, 1), f(B * H * H * Co, 3), new Float32Array(k * k * Ci * Co), dims);
    const key = [B, H, H, Ci, H, H, Co, k, k, 1, 1, 1, 1, p, p, p, p].join('x');
    const prims = addon!.info().primitives;
    return [`conv_fwd:${key}x0`, `conv_bwd_data:${key}x0`, `conv_bwd_weights:${key}x0`].map((name) => prims[name] ?? `(no ${name})`);
  }

  it('auto on AVX2 picks, per direction, the layout and algorithm measured fastest for the paper layers', () => {
    if (addon!.info().isa !== 'avx2') return; // the rule is for oneDNN's AVX2 kernels; other ISAs keep NHWC
    addon!.setConvPlan!('auto');
    expect(addon!.info().convPlan).toBe('auto');
    // [forward, backward-data, backward-weights]
    expect(implsOf(2, 48, 1, 64, 3)).toEqual(['jit:avx2', 'x64:gemm:jit', 'jit:avx2']); // first layer
    expect(implsOf(2, 48, 32, 64, 3)).toEqual(['jit:avx2', 'jit:avx2 blocked', 'jit:avx2']); // shallow conv2
    expect(implsOf(2, 24, 64, 128, 5)).toEqual(['jit:avx2', 'jit:avx2 blocked', 'jit:avx2']); // deep conv2
    expect(implsOf(2, 12, 128, 512, 3)).toEqual(['jit:avx2 blocked', 'jit:avx2', 'x64:gemm:jit']); // deep conv3
    expect(implsOf(2, 6, 512, 512, 3)).toEqual(['jit:avx2 blocked', 'jit:avx2', 'x64:gemm:jit']); // deep conv4
  });

  it('blocked gives the bits of nhwc on AVX2 (the same direct kernel, another layout), for every direction', () => {
    if (addon!.info().isa !== 'avx2') return;
    const run = (plan: string, B: number, H: number, Ci: number, Co: number, k: number): Float32Array[] => {
      addon!.setConvPlan!(plan);
      const p = (k - 1) / 2;
      const dims = new Int32Array([B, H, H, Ci, H, H, Co, k, k, 1, 1, 1, 1, p, p, p, p]);
      const x = randomValues(B * H * H * Ci, 11), w = randomValues(k * k * Ci * Co, 12), dy = randomValues(B * H * H * Co, 13);
      const y = new Float32Array(B * H * H * Co), dx = new Float32Array(B * H * H * Ci), dw = new Float32Array(k * k * Ci * Co);
      addon!.convForward(x, w, randomValues(Co, 14), y, dims, 1);
      addon!.convBackwardData(dy, w, dx, dims);
      addon!.convBackwardWeights(x, dy, dw, dims);
      return [y, dx, dw];
    };
    try {
      for (const [B, H, Ci, Co, k] of [[2, 48, 32, 64, 3], [2, 24, 64, 128, 5], [2, 12, 128, 512, 3], [2, 6, 512, 512, 3], [3, 7, 5, 6, 3]] as const) {
        const a = run('nhwc', B, H, Ci, Co, k);
        const b = run('blocked', B, H, Ci, Co, k);
        ['forward', 'backward-data', 'backward-weights'].forEach((d, i) => expectBitIdentical(b[i]!, a[i]!, `${B}x${H}x${H}x${Ci}->${Co} ${k}x${k} ${d}`));
      }
    } finally {
      addon!.setConvPlan!('auto');
    }
  });

  it('a forced plan is what runs, for every direction', () => {
    try {
      for (const [plan, want] of [['nhwc', /^jit:\w+$/], ['blocked', /^jit:\w+ blocked$/], ['gemm', /gemm/]] as const) {
        expect(addon!.setConvPlan!(plan)).toBe(plan);
        expect(addon!.info().convPlan).toBe(plan);
        for (const impl of implsOf(2, 12, 16, 24, 3)) expect(impl, `plan ${plan}`).toMatch(want);
      }
    } finally {
      addon!.setConvPlan!('auto');
    }
  });

  it('FER_NATIVE_CONV sets the plan at load, in any case (a child process)', () => {
    const path = load.ok ? load.origin.path : '';
    for (const [value, want] of [['GEMM', 'gemm'], ['blocked', 'blocked'], ['', 'auto']] as const) {
      const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(path)}).info().convPlan)`], {
        env: { ...process.env, FER_NATIVE_CONV: value }, encoding: 'utf8', timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout, `FER_NATIVE_CONV=${value}`).toBe(want);
    }
  });

  it('setConvPlan rejects an unknown name, saying what it expects, and keeps the plan it had', () => {
    addon!.setConvPlan!('nhwc');
    try {
      expect(() => addon!.setConvPlan!('fastest')).toThrow(/setConvPlan: argument 0 is 'fastest'; expected 'auto', 'nhwc', 'blocked' or 'gemm'/);
      expect(addon!.info().convPlan).toBe('nhwc');
    } finally {
      addon!.setConvPlan!('auto');
    }
  });
});

// --- Matrix products ---

describe.skipIf(!status.active)(`BatchMatMul, _FusedMatMul: native = cpu${skipped}`, () => {
  const r = mulberry32(21);
  const n = (hi: number): number => 1 + Math.floor(r() * hi);
  const cases = Array.from({ length: 16 }, (_, i) => ({ i, M: n(40), K: n(40) * (i % 4 === 3 ? 12 : 1), N: n(40), tA: (i & 1) === 1, tB: (i & 2) === 2, rank3: i % 3 === 0 }));
  cases.push({ i: 16, M: 1, K: 1, N: 1, tA: false, tB: false, rank3: false }, { i: 17, M: 128, K: 300, N: 96, tA: false, tB: true, rank3: true });
  it.each(cases)('%j', async ({ i, M, K, N, tA, tB, rank3 }) => {
    const lead = rank3 ? [1] : [];
    const a = t([...lead, ...(tA ? [K, M] : [M, K])], 100 + i);
    const b = t([...lead, ...(tB ? [N, K] : [K, N])], 200 + i);
    const bias = t([N], 300 + i);
    await compare({ name: 'BatchMatMul', inputs: { a, b }, attrs: { transposeA: tA, transposeB: tB } }, 'matmul');
    for (const activation of ['linear', 'relu']) {
      await compare({ name: '_FusedMatMul', inputs: { a, b, bias }, attrs: { transposeA: tA, transposeB: tB, activation } }, 'matmul');
    }
    await compare({ name: '_FusedMatMul', inputs: { a, b }, attrs: { transposeA: tA, transposeB: tB, activation: 'relu' } }, 'matmul');
  });

  it('hands a batch of 3 products to the WASM kernel, with the right result', async () => {
    await compare({ name: 'BatchMatMul', inputs: { a: t([3, 5, 7], 401), b: t([3, 7, 4], 402) }, attrs: { transposeA: false, transposeB: false } }, undefined);
    await compare({ name: 'BatchMatMul', inputs: { a: t([3, 7, 5], 403), b: t([3, 4, 7], 404) }, attrs: { transposeA: true, transposeB: true } }, undefined);
  });
});

// --- Element-wise ---

const BINARY_OPS = ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum'];
// One IEEE float32 operation per element (max/min: none): the same bits on every backend.
const BINARY_EXACT = new Set(['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum']);

const BROADCASTS: { mode: string; a: number[]; b: number[]; native: boolean }[] = [
  { mode: 'same shape', a: [3, 5, 7], b: [3, 5, 7], native: true },
  { mode: 'same size, other rank', a: [1, 35], b: [35], native: true },
  { mode: 'scalar b', a: [4, 9], b: [], native: true },
  { mode: 'scalar a', a: [], b: [4, 9], native: true },
  { mode: 'size-1 b of rank 2', a: [2, 3, 4], b: [1, 1], native: true },
  { mode: 'size-1 a', a: [1], b: [6, 5], native: true },
  { mode: 'row b (channels)', a: [2, 3, 4, 5], b: [5], native: true },
  { mode: 'row b (two trailing dims)', a: [2, 3, 4, 5], b: [4, 5], native: true },
  { mode: 'row b with leading 1s', a: [2, 3, 4, 5], b: [1, 1, 5], native: true },
  { mode: 'row a', a: [5], b: [2, 3, 4, 5], native: true },
  { mode: 'row a with leading 1s', a: [1, 3, 1], b: [2, 3, 1], native: true },
  { mode: 'large same shape (threads)', a: [3, 100, 120], b: [3, 100, 120], native: true },
  { mode: 'large scalar (threads)', a: [3, 100, 120], b: [], native: true },
  { mode: 'large row (threads)', a: [120], b: [3, 100, 120], native: true },
  { mode: 'outer product: fallback', a: [2, 1], b: [1, 3], native: false },
  { mode: 'column broadcast: fallback', a: [3, 1], b: [3, 4], native: false },
  { mode: 'middle-axis broadcast: fallback', a: [4, 1, 5], b: [4, 3, 5], native: false },
  { mode: 'both broadcast, same size: fallback', a: [1, 6], b: [6, 1], native: false },
];

describe.skipIf(!status.active)(`binary ops: native = cpu (bit-identical for add, sub, mul, div, max, min)${skipped}`, () => {
  it.each(BINARY_OPS.flatMap((op, i) => BROADCASTS.map((m, j) => [op, m.mode, i * 100 + j] as const)))('%s, %s', async (op, mode, seed) => {
    const m = BROADCASTS.find((x) => x.mode === mode)!;
    const a = t(m.a, 6000 + seed, 2);
    const b = t(m.b, 7000 + seed, 2);
    const c: KernelCase = { name: op, inputs: { a, b }, attrs: {} };
    const got = await compare(c, m.native ? 'binary' : undefined, { exact: BINARY_EXACT.has(op) });
    if (m.native) {
      // The WASM kernel it replaced: the same float32 arithmetic, so the same bits.
      const wasm = await runWasmOriginal(c);
      expect(wasm.shape).toEqual(got.shape);
      expectBitIdentical(got.values, wasm.values, `${op} ${mode}: native vs the WASM kernel it replaced`);
    }
  });

  it('Maximum and Minimum propagate NaN and order signed zeros as cpu (Math.max, Math.min) does', async () => {
    const a = { shape: [10], values: Float32Array.of(NaN, 1, NaN, -2, 3, 0.5, -0, 0, -0, 0) };
    const b = { shape: [10], values: Float32Array.of(0, NaN, NaN, 4, -3, 0.25, 0, -0, -0, 0) };
    for (const op of ['Maximum', 'Minimum']) await compare({ name: op, inputs: { a, b }, attrs: {} }, 'binary', { exact: true });
  });
});

const UNARY: { op: string; scale: number; shift: number; exact: boolean; attrs?: Record<string, unknown> }[] = [
  { op: 'Relu', scale: 1, shift: 0, exact: true },
  { op: 'Relu6', scale: 8, shift: 0, exact: true },
  { op: 'Sqrt', scale: 2, shift: 2.5, exact: true },
  { op: 'Square', scale: 3, shift: 0, exact: true },
  { op: 'Neg', scale: 1, shift: 0, exact: true },
  { op: 'Abs', scale: 1, shift: 0, exact: true },
  { op: 'Reciprocal', scale: 1, shift: 1.5, exact: true },
  { op: 'Step', scale: 1, shift: 0, exact: true, attrs: { alpha: 0 } },
  { op: 'Step', scale: 1, shift: 0, exact: true, attrs: { alpha: 0.3 } },
  { op: 'Rsqrt', scale: 2, shift: 2.5, exact: false },
  { op: 'Exp', scale: 5, shift: 0, exact: false },
  { op: 'Log', scale: 2, shift: 2.5, exact: false },
  { op: 'Sigmoid', scale: 6, shift: 0, exact: false },
];

describe.skipIf(!status.active)(`unary ops: native = cpu (bit-identical where one IEEE operation)${skipped}`, () => {
  it.each(UNARY.flatMap((u, i) => [[5, 7], [3, 110, 110]].map((shape) => [u.op, JSON.stringify(u.attrs ?? {}), shape, i] as const)))('%s %s %j', async (op, attrsText, shape, i) => {
    const u = UNARY.find((x) => x.op === op && JSON.stringify(x.attrs ?? {}) === attrsText)!;
    const x = t(shape, 8000 + i * 10 + shape.length, u.scale, u.shift);
    // Exact zeros, where relu/step/abs switch.
    x.values[0] = 0;
    x.values[1] = -0;
    if (u.shift > 0) x.values[0] = x.values[1] = u.shift;
    const c: KernelCase = { name: op, inputs: { x }, attrs: u.attrs ?? {} };
    const got = await compare(c, 'unary', { exact: u.exact });
    if (u.exact) expectBitIdentical(got.values, (await runWasmOriginal(c)).values, `${op}: native vs the WASM kernel it replaced`);
  });

  it('Relu, Relu6, Step and Abs keep NaN as cpu does', async () => {
    const x = { shape: [4], values: Float32Array.of(NaN, -1, 2, 7) };
    for (const op of ['Relu', 'Relu6', 'Step', 'Abs']) await compare({ name: op, inputs: { x }, attrs: { alpha: 0.5 } }, 'unary', { exact: true });
  });
});

// --- Reductions, batch norm, pooling, cast ---

describe.skipIf(!status.active)(`Sum, Mean over leading axes: native = cpu${skipped}`, () => {
  const cases: { shape: number[]; axis: number[]; native: boolean }[] = [
    { shape: [2, 3, 4, 5], axis: [0], native: true },
    { shape: [2, 3, 4, 5], axis: [0, 1], native: true },
    { shape: [2, 3, 4, 5], axis: [1, 0, 2], native: true },
    { shape: [2, 3, 4, 5], axis: [-4], native: true },
    { shape: [7, 9], axis: [0], native: true },
    { shape: [1, 6], axis: [0], native: true },
    { shape: [9, 1], axis: [0], native: true },
    { shape: [64, 600], axis: [0], native: true },
    { shape: [40, 30, 40], axis: [0, 1], native: true },
    { shape: [2, 3, 4, 5], axis: [1], native: false },
    { shape: [2, 3, 4, 5], axis: [0, 2], native: false },
    { shape: [2, 3, 4, 5], axis: [3], native: false },
    { shape: [7, 9], axis: [0, 1], native: false },
  ];
  it.each(cases.map((c, i) => [i, c] as const))('case %i %j', async (i, c) => {
    const x = t(c.shape, 9000 + i);
    for (const name of ['Sum', 'Mean']) {
      for (const keepDims of [false, true]) {
        await compare({ name, inputs: { x }, attrs: { axis: c.axis, keepDims } }, c.native ? 'reduceLeading' : undefined);
      }
    }
  });
});

describe.skipIf(!status.active)(`FusedBatchNorm: native = cpu${skipped}`, () => {
  const shapes = [[2, 5, 7, 3], [1, 7, 9, 17], [4, 16], [3, 1, 1, 1], [2, 60, 60, 5]];
  const combos = [{ offset: true, scale: true }, { offset: false, scale: true }, { offset: true, scale: false }, { offset: false, scale: false }];
  it.each(shapes.flatMap((s, i) => combos.map((o) => [i, s, o] as const)))('case %i %j %j', async (i, shape, o) => {
    const C = shape[shape.length - 1];
    const seed = 10_000 + i * 10;
    const inputs: KernelCase['inputs'] = { x: t(shape, seed, 3, 0.5), mean: t([C], seed + 1), variance: t([C], seed + 2, 0.5, 0.7) };
    if (o.offset) inputs['offset'] = t([C], seed + 3);
    if (o.scale) inputs['scale'] = t([C], seed + 4, 0.5, 1);
    await compare({ name: 'FusedBatchNorm', inputs, attrs: { varianceEpsilon: 1e-3 } }, 'batchNorm');
  });

  it('takes size-1 mean, variance, offset and scale', async () => {
    const inputs = { x: t([2, 4, 4, 6], 10_900), mean: t([1], 10_901), variance: t([1], 10_902, 0.2, 1), offset: t([1], 10_903), scale: t([1], 10_904, 0.5, 1) };
    await compare({ name: 'FusedBatchNorm', inputs, attrs: { varianceEpsilon: 1e-5 } }, 'batchNorm');
  });
});

describe.skipIf(!status.active)(`MaxPool, MaxPoolGrad: native = cpu${skipped}`, () => {
  const r = mulberry32(31);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const cases: { B: number; H: number; W: number; C: number; f: number; s: number; pad: 'same' | 'valid' }[] = [];
  for (const f of [2, 3]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        cases.push({ B: 1, H: 7, W: 9, C: int(1, 17), f, s, pad });
        cases.push({ B: int(2, 3), H: int(f, 12), W: int(f, 12), C: int(1, 17), f, s, pad });
      }
    }
  }
  cases.push({ B: 3, H: 40, W: 40, C: 8, f: 2, s: 2, pad: 'valid' }, { B: 3, H: 41, W: 39, C: 8, f: 3, s: 1, pad: 'same' }); // threads
  it.each(cases.map((c, i) => [i, c] as const))('case %i %j', async (i, c) => {
    const x = t([c.B, c.H, c.W, c.C], 11_000 + i);
    const attrs = { filterSize: [c.f, c.f], strides: [c.s, c.s], pad: c.pad, dimRoundingMode: undefined };
    const y = await compare({ name: 'MaxPool', inputs: { x }, attrs }, 'maxPool', { exact: true });
    const dy = t(y.shape, 12_000 + i);
    await compare({ name: 'MaxPoolGrad', inputs: { dy, input: x, output: { shape: y.shape, values: y.values } }, attrs }, 'maxPoolGrad');
  });
});

describe.skipIf(!status.active)(`MaxPoolGrad with ties, NaN, -Infinity and signed zeros: native = cpu (bit for bit for windows that do not overlap)${skipped}`, () => {
  // Values on a coarse grid, so windows often hold their maximum twice: the first one (row-major) gets dy.
  const special = [NaN, -Infinity, -0, 0, 0.5, -0.5, 1];
  for (const [i, [f, s, pad]] of ([[2, 2, 'valid'], [2, 2, 'same'], [3, 3, 'valid'], [3, 2, 'same']] as const).entries()) {
    it(`${f}x${f} stride ${s} ${pad}`, async () => {
      const shape = [3, 9, 11, 5];
      const x = { shape, values: randomValues(size(shape), 13_000 + i).map((v, k) => (k % 7 === 0 ? special[(k / 7) % special.length]! : Math.round(v * 2) / 2)) };
      const attrs = { filterSize: [f, f], strides: [s, s], pad, dimRoundingMode: undefined };
      // NOTE: the forward pass from cpu (the native MaxPool lets NaN win a window, tfjs-backend-cpu does not).
      const y = (await runOn('cpu', { name: 'MaxPool', inputs: { x }, attrs })) as Values;
      const dy = { shape: y.shape, values: randomValues(size(y.shape), 14_000 + i).map((v, k) => (k % 5 === 0 ? -0 : v)) };
      await compare({ name: 'MaxPoolGrad', inputs: { dy, input: x, output: { shape: y.shape, values: y.values } }, attrs }, 'maxPoolGrad', { exact: s === f }); // overlapping windows add in another order
    });
  }
});

describe.skipIf(!status.active)(`results that do not depend on the thread count${skipped}`, () => {
  const addon = load.ok ? load.addon : undefined;
  const withThreads = <T>(n: number, f: () => T): T => {
    addon!.setThreads(n);
    try {
      return f();
    } finally {
      addon!.setThreads(3);
    }
  };

  it('dropoutMask, dropoutApply: the serial alea sequence and end state at 1, 2 and 3 threads (streams jumped ahead)', () => {
    // 300,007 values: above the parallel threshold, not a multiple of any stream count.
    const n = 300_007;
    const run = (threads: number) => withThreads(threads, () => {
      const state = Float64Array.of(1, 0.125, 0.5, 0.75);
      const out = new Float32Array(n);
      addon!.dropoutMask(out, state, 0.6);
      return { out, state };
    });
    // The reference: alea step by step, as seedrandom (and the addon's serial path) computes it.
    const { mask: ref, state: end } = aleaDropoutMask(n, [1, 0.125, 0.5, 0.75], 0.6);
    const x = randomValues(n, 5).map((v, i) => (i === 0 ? -0 : v));
    for (const threads of [1, 2, 3]) {
      const got = run(threads);
      expectBitIdentical(got.out, ref, `dropoutMask at ${threads} threads`);
      expect(Array.from(got.state), `state after the mask at ${threads} threads`).toEqual(end);
      if (!addon!.dropoutApply) continue;
      // dropoutApply: x times the same mask (float32 products, as tf.mul), the same end state.
      const applied = withThreads(threads, () => {
        const state = Float64Array.of(1, 0.125, 0.5, 0.75);
        const out = new Float32Array(n);
        addon!.dropoutApply!(x, out, state, 0.6);
        return { out, state };
      });
      expectBitIdentical(applied.out, x.map((v, i) => Math.fround(v * ref[i]!)), `dropoutApply at ${threads} threads`);
      expect(Array.from(applied.state)).toEqual(end);
    }
  });

  it('reduceLeading: the same bits at 1 and 3 threads, for many rows and for few rows of many columns', () => {
    for (const [rows, cols] of [[70_001, 7], [300, 3000], [3, 100_000]]) {
      const x = randomValues(rows * cols, rows);
      const run = (threads: number) => withThreads(threads, () => {
        const o = new Float32Array(cols);
        addon!.reduceLeading(x, o, rows, cols, true);
        return o;
      });
      expectBitIdentical(run(3), run(1), `mean of ${rows}x${cols}`);
    }
  });
});

describe.skipIf(!status.active)(`Cast to the same dtype${skipped}`, () => {
  it('shares the data (refcounted): the result outlives its input, and nothing is left behind', async () => {
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const x = tf.tensor([1.5, -2.25, 3], [3], 'float32');
    const y = tf.engine().runKernel('Cast', { x }, { dtype: 'float32' }) as tf.Tensor;
    expect(tf.engine().backend.numDataIds()).toBe(dataIds + 1);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1.5, -2.25, 3]);
    const z = tf.engine().runKernel('Cast', { x: y }, { dtype: 'int32' }) as tf.Tensor;
    expect(z.dtype).toBe('int32');
    expect(Array.from(await z.data())).toEqual([1, -2, 3]);
    tf.dispose([y, z]);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
  });
});

describe.skipIf(!status.active)(`after all the kernel cases${skipped}`, () => {
  it('no native call failed over to the WASM kernels (describeNativeKernels().failures is empty)', () => {
    const d = describeNativeKernels();
    expect(d.active).toBe(true);
    expect(d.failures).toEqual([]);
    for (const fn of ['convForward', 'convBackwardData', 'convBackwardWeights', 'matmul', 'binary', 'unary', 'reduceLeading', 'batchNorm', 'maxPool', 'maxPoolGrad']) {
      expect(calls.get(fn) ?? 0, `native ${fn} calls`).toBeGreaterThan(0);
    }
  });
});

// --- The addon's own argument checks (what a caller bypassing the kernels gets) ---

describe.skipIf(!load.ok)(`the addon's argument checks${skipped}`, () => {
  const addon = load.ok ? load.addon : undefined;
  it('names the function, the argument and what was expected', () => {
    const f = (n: number) => new Float32Array(n);
    expect(() => addon!.batchNormTrain!(f(12), null, null, f(12), f(5), f(5), 5, 1e-3)).toThrow(/batchNormTrain: argument 6 channels must divide the input size/);
    expect(() => addon!.batchNormTrain!(f(12), null, null, f(12), f(4), f(4), 0, 1e-3)).toThrow(/argument 6 channels must divide/);
    expect(() => addon!.dropoutMask(f(4), new Float32Array(4) as unknown as Float64Array, 0.5)).toThrow(/dropoutMask: argument 1 must be a Float64Array \[c, s0, s1, s2\]/);
    expect(() => addon!.dropoutMask(f(4), new Float64Array(3), 0.5)).toThrow(/argument 1 must be a Float64Array/);
    expect(() => addon!.dropoutApply!(f(4), f(4), new Float64Array(4), 1.5)).toThrow(/dropoutApply: argument 3 keepProb must be in \(0, 1\]/);
    expect(() => addon!.dropoutApply!(new Float64Array(4) as unknown as Float32Array, f(4), new Float64Array(4), 0.5)).toThrow(/dropoutApply: argument 0 is not a Float32Array/);
    expect(() => addon!.dropoutApply!(f(4), f(2), new Float64Array(4), 0.5)).toThrow(/argument 1 has 2 elements; expected at least 4/);
  });
});
