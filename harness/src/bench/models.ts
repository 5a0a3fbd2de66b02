// `pnpm bench models [--backend native|wasm|cpu|webgpu] [--models shallow,deep] [--threads 1,2] [--steps N]
//                    [--batch 128] [--workers N] [--repeat 3] [--peer-malloc jemalloc|glibc] [--isa native|avx2]
//                    [--profile] [--no-torch]`
// Trains the paper's shallow and deep networks (Alizadeh & Fazel 2017; the exact architectures of
// shared/bench/torch_reference.py) with Adam at batch 128 and measures train and inference img/s after
// warm-up. Each (model, thread count) runs in a child process of its own, so its line's peak RSS is its
// own (peak_rss_train_mb: at the end of the training steps, before inference); the PyTorch-CPU peer runs
// the same way (harness/peers/torch_models.py) at the same thread counts, at its best (./_peer.ts: Debian's
// jemalloc preloaded with decay off; --peer-malloc glibc to compare), right after ours in each of --repeat
// rounds. One summary line per model and thread count gives the median, min and max of every figure on
// both sides and the ratios of the medians (ours / torch). Every line carries the load average (`load`):
// on a shared machine compare only lines taken at the same time. --isa avx2 restricts both sides to AVX2
// (oneDNN's ONEDNN_MAX_CPU_ISA for our addon and PyTorch, ATen's ATEN_CPU_CAPABILITY for PyTorch).
// `native` (default) is wasm with @fer/engine's native kernels; `wasm` is the WASM kernels alone.
// --profile adds, per model, one JSON line with the time of every kernel (1 ms or more) in one training step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createDataParallelStepper, describeNativeKernels, disposeBackend } from '@fer/engine';
import { forEachFlag, unknownFlag } from '../flags.js';
import { out, positiveInt, setupBackend } from './_cli.js';
import { isaEnv, loadNow, parseIsa, parsePeerMalloc, peerEnv, spread, type BenchIsa, type PeerMalloc } from './_peer.js';

type ModelName = 'shallow' | 'deep';

interface Options {
  backend: string;
  models: ModelName[];
  threads: number[];
  /** Internal: measure in this process (one model, one thread count) instead of spawning children. */
  child: boolean;
  steps: number;
  batch: number;
  workers: number;
  profile: boolean;
  torch: boolean;
  /** Rounds of (ours, torch) per model and thread count; the summary gives their median and spread. */
  repeat: number;
  peerMalloc: PeerMalloc;
  isa: BenchIsa;
}

interface OurLine {
  model: ModelName;
  backend: string;
  threads: number;
  workers: number;
  batch: number;
  train_img_per_s: number;
  infer_img_per_s: number;
  /** Peak resident memory of the process that measured this model alone (after training; after inference too), and its wasm heap. */
  peak_rss_mb?: number;
  peak_rss_train_mb?: number;
  wasm_heap_mb?: number;
}

type Line = Record<string, unknown>;

/** The figures the summary line reduces to median, min and max, on both sides. */
export const SUMMARY_FIGURES = ['train_img_per_s', 'infer_img_per_s', 'peak_rss_train_mb', 'peak_rss_mb'] as const;

export async function run(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  if (o.child) {
    try {
      await runChild(o);
    } finally {
      // NOTE: destroys the WebGPU device (if any), else Node does not exit after a webgpu run.
      await disposeBackend();
    }
    return;
  }
  const torchEnv = peerEnv({ malloc: o.peerMalloc, isa: o.isa });
  out({
    bench: 'models', cores: availableParallelism(), repeat: o.repeat, isa: o.isa, threads: o.threads, models: o.models,
    ...(o.torch ? { peer_malloc: torchEnv.malloc, ...(torchEnv.note ? { peer_note: torchEnv.note } : {}) } : {}), load: loadNow(),
  });
  const ours: Line[] = [];
  const torch: Line[] = [];
  // NOTE: ours and the peer alternate (same model, same threads, one right after the other) in every round,
  // so both sides see the same machine load; the rounds' spread shows how much that load moved. Who goes first
  // swaps every round (ours in odd rounds, the peer in even ones), so neither side always gets the warmer or the
  // quieter slot; the summary's paired ratios compare the two measurements of one round.
  for (let round = 1; round <= o.repeat; round++) {
    for (const threads of o.threads) {
      for (const name of o.models) {
        const measureOurs = () => {
          for (const l of runChildProcess(o, name, threads)) {
            const line = { ...l, round, load: loadNow() };
            out(line);
            if ('train_img_per_s' in l) ours.push(line);
          }
        };
        const measureTorch = () => {
          if (!o.torch) return;
          const t = runTorch(o, name, threads, torchEnv.env);
          if (t) {
            const line = { ...t, malloc: torchEnv.malloc, isa: o.isa, round, load: loadNow() };
            out(line);
            torch.push(line);
          }
        };
        for (const measure of peerFirst(round) ? [measureTorch, measureOurs] : [measureOurs, measureTorch]) measure();
      }
    }
  }
  for (const threads of o.threads) {
    for (const name of o.models) out({ ...summarize(name, threads, ours, o.torch ? torch : undefined), isa: o.isa, ...(o.torch ? { peer_malloc: torchEnv.malloc } : {}), load: loadNow() });
  }
}

/** Whether the peer is measured before ours in this round (1-based): in even rounds. */
export function peerFirst(round: number): boolean {
  return round % 2 === 0;
}

/**
 * One summary line for a model and thread count: per side, the median, min and max of {@link SUMMARY_FIGURES}
 * over the rounds, and the ratios of the medians (ours / torch; for memory, above 1 means we use more).
 * `paired_train` and `paired_infer` are the median, min and max of the per-round ratios (ours / torch of the
 * same round, measured back to back): a slow drift of the machine's speed moves both sides of a round alike, so
 * these spread less than the two medians do on a shared virtual machine.
 */
export function summarize(model: ModelName, threads: number, ours: readonly Line[], torch?: readonly Line[]): Line {
  const pick = (lines: readonly Line[]) => lines.filter((l) => l['model'] === model && l['threads'] === threads);
  const side = (lines: readonly Line[]) => {
    const s: Record<string, ReturnType<typeof spread>> = {};
    for (const f of SUMMARY_FIGURES) {
      const v = lines.map((l) => Number(l[f])).filter((x) => Number.isFinite(x));
      if (v.length) s[f] = spread(v);
    }
    return s;
  };
  const a = side(pick(ours));
  const line: Line = { summary: 'models', model, threads, rounds: pick(ours).length, ours: a };
  if (!torch) return line;
  const b = side(pick(torch));
  const ratio = (f: (typeof SUMMARY_FIGURES)[number]) => (a[f] && b[f] && b[f].median > 0 ? round(a[f].median / b[f].median) : null);
  const paired = (f: 'train_img_per_s' | 'infer_img_per_s') => {
    const peer = new Map(pick(torch).map((l) => [l['round'], Number(l[f])]));
    const r = pick(ours).flatMap((l) => {
      const p = peer.get(l['round']);
      const v = Number(l[f]);
      return l['round'] !== undefined && p !== undefined && p > 0 && Number.isFinite(v) ? [v / p] : [];
    });
    return r.length ? spread(r) : null;
  };
  return {
    ...line, torch: b, torch_rounds: pick(torch).length, ratio_train: ratio('train_img_per_s'), ratio_infer: ratio('infer_img_per_s'), ratio_peak_rss_train: ratio('peak_rss_train_mb'), ratio_peak_rss: ratio('peak_rss_mb'),
    paired_train: paired('train_img_per_s'), paired_infer: paired('infer_img_per_s'),
  };
}

/** Measures one model at one thread count in this process (a child of `run`). */
async function runChild(o: Options): Promise<void> {
  const threads = o.threads[0]!;
  const backendNote = await setupBackend(o.backend, threads);
  if (backendNote) {
    out({ bench: 'models', backend: o.backend, threads, available: false, reason: backendNote });
    return;
  }
  for (const name of o.models) {
    const { line, rssTrainMb } = await measureModel(name, o);
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
    out({
      ...line,
      backend: o.backend === 'native' ? 'wasm+native' : line.backend,
      threads,
      peak_rss_train_mb: rssTrainMb,
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
      ...(heap ? { wasm_heap_mb: round(heap / 2 ** 20) } : {}),
    });
    if (o.profile) out(await profileStep(name, o.batch));
  }
  if (o.backend === 'native') {
    const d = describeNativeKernels();
    if (o.isa !== 'native') out({ native_isa: d.isa, native_kernel_isa: d.kernelIsa, isa: o.isa });
    if (d.failures?.length) out({ warning: 'native kernels fell back to WASM', failures: d.failures });
    if (o.profile) out({ native: { dnnl: d.dnnl, isa: d.isa, kernel_isa: d.kernelIsa, conv_plan: d.convPlan, threads: d.threads, libraries: d.libraries, primitives: d.primitives } });
  }
}

/** Runs `run` in a child process for one model and thread count; returns its JSON lines. */
function runChildProcess(o: Options, name: ModelName, threads: number): Record<string, unknown>[] {
  const args = [
    // the same entry as this process: `fer bench models` (cli) or harness/src/bench.ts itself
    ...process.execArgv, process.argv[1]!, ...(/bench\.[cm]?[jt]s$/.test(process.argv[1]!) ? [] : ['bench']), 'models', '--child', '--models', name, '--threads', String(threads), '--backend', o.backend,
    '--steps', String(o.steps), '--batch', String(o.batch), '--workers', String(o.workers), '--isa', o.isa, ...(o.profile ? ['--profile'] : []),
  ];
  const env = { ...process.env, ...isaEnv(o.isa, 'ours') };
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'], env });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  if (r.status !== 0) lines.push({ bench: 'models', model: name, threads, failed: `child exited ${r.status ?? r.signal}` });
  return lines;
}

// --- Models (exactly torch_reference.py: Conv(k, padding k//2) + BN + ReLU [+ MaxPool2] + Dropout) ---

function convBlock(m: tf.Sequential, filters: number, k: number, pool: boolean, first: boolean): void {
  m.add(tf.layers.conv2d({ filters, kernelSize: k, padding: 'same', ...(first ? { inputShape: [48, 48, 1] } : {}) }));
  m.add(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }));
  m.add(tf.layers.reLU());
  if (pool) m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.dropout({ rate: 0.25 }));
}

/** The paper's shallow network: conv32 3x3, conv64 3x3 + pool, dense 512, dense 7. */
export function buildShallow(): tf.Sequential {
  const m = tf.sequential({ name: 'paper_shallow' });
  convBlock(m, 32, 3, false, true);
  convBlock(m, 64, 3, true, false);
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 512, activation: 'relu' }));
  m.add(tf.layers.dropout({ rate: 0.5 }));
  m.add(tf.layers.dense({ units: 7, activation: 'softmax' }));
  return m;
}

/** The paper's deep network: conv 64 3x3, 128 5x5, 512 3x3, 512 3x3 (each pooled), dense 256, 512, 7. */
export function buildDeep(): tf.Sequential {
  const m = tf.sequential({ name: 'paper_deep' });
  convBlock(m, 64, 3, true, true);
  convBlock(m, 128, 5, true, false);
  convBlock(m, 512, 3, true, false);
  convBlock(m, 512, 3, true, false);
  m.add(tf.layers.flatten()); // 3x3x512 = 4608
  for (const units of [256, 512]) {
    m.add(tf.layers.dense({ units }));
    m.add(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }));
    m.add(tf.layers.reLU());
    m.add(tf.layers.dropout({ rate: 0.25 }));
  }
  m.add(tf.layers.dense({ units: 7, activation: 'softmax' }));
  return m;
}

// --- Measurement ---

async function measureModel(name: ModelName, o: Options): Promise<{ line: OurLine; rssTrainMb: number }> {
  const model = name === 'shallow' ? buildShallow() : buildDeep();
  const { x, y } = batchTensors(o.batch, 1);
  let trainSeconds: number;
  if (o.workers > 1) {
    trainSeconds = await trainParallel(model, o);
  } else {
    const step = adamStep(model, x, y);
    await step();
    await step();
    const t0 = performance.now();
    for (let i = 0; i < o.steps; i++) await step();
    trainSeconds = (performance.now() - t0) / 1000;
    step.dispose();
  }
  const rssTrainMb = round(process.resourceUsage().maxRSS / 1024);
  const infer = async (): Promise<void> => {
    const p = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor);
    await p.data();
    p.dispose();
  };
  await infer();
  await infer(); // NOTE: XNNPACK packs a dense kernel on its second use (see @fer/engine's BatchMatMul), then reuses it
  const t1 = performance.now();
  for (let i = 0; i < o.steps; i++) await infer();
  const inferSeconds = (performance.now() - t1) / 1000;
  x.dispose();
  y.dispose();
  model.dispose();
  const line: OurLine = {
    model: name,
    backend: tf.getBackend(),
    threads: o.threads[0]!,
    workers: o.workers,
    batch: o.batch,
    train_img_per_s: round((o.batch * o.steps) / trainSeconds),
    infer_img_per_s: round((o.batch * o.steps) / inferSeconds),
  };
  return { line, rssTrainMb };
}

function lossOf(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const probs = model.apply(x, { training: true }) as tf.Tensor;
  return tf.metrics.categoricalCrossentropy(y, probs).mean() as tf.Scalar;
}

/** Seeded inputs (like torch.randn) and one-hot labels; the caller disposes them. */
function batchTensors(batch: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const x = tf.randomNormal([batch, 48, 48, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
  const labels = tf.tidy(() => tf.randomUniform([batch], 0, 7, 'float32', seed + 1).floor().toInt());
  const y = tf.oneHot(labels as tf.Tensor1D, 7).toFloat() as tf.Tensor2D;
  labels.dispose();
  return { x, y };
}

/** Data-parallel training through @fer/engine's createDataParallelStepper. */
async function trainParallel(model: tf.LayersModel, o: Options): Promise<number> {
  const stepper = await createDataParallelStepper({ workers: o.workers, backend: o.backend === 'cpu' ? 'cpu' : 'wasm', native: o.backend === 'native' ? true : false, threads: Math.max(1, Math.floor(o.threads[0]! / o.workers)) })({ model, optimizer: { name: 'adam', learningRate: 1e-3 }, seed: 1 });
  try {
    const xs = new Float32Array(o.batch * 48 * 48);
    const ys = new Uint8Array(o.batch);
    let s = 1;
    for (let i = 0; i < xs.length; i++) xs[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < ys.length; i++) ys[i] = i % 7;
    const batch = { x: xs, y: ys, size: o.batch };
    await stepper.step(batch, 1e-3);
    await stepper.step(batch, 1e-3);
    const t0 = performance.now();
    for (let i = 0; i < o.steps; i++) await stepper.step(batch, 1e-3);
    return (performance.now() - t0) / 1000;
  } finally {
    await stepper.dispose();
  }
}

/** One Adam (lr 1e-3) training step of `model` on the batch (x, y), awaited to the end; `dispose` frees the optimizer. */
function adamStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): (() => Promise<void>) & { dispose(): void } {
  const optimizer = tf.train.adam(1e-3);
  const step = async () => {
    const cost = optimizer.minimize(() => lossOf(model, x, y), true);
    await cost?.data();
    cost?.dispose();
  };
  return Object.assign(step, { dispose: () => optimizer.dispose() });
}

/** Times every kernel of the active backend over one training step (after a warm-up step). */
async function profileStep(name: ModelName, batch: number): Promise<Record<string, unknown>> {
  const model = name === 'shallow' ? buildShallow() : buildDeep();
  const { x, y } = batchTensors(batch, 2);
  const step = adamStep(model, x, y);
  await step();
  const totals = new Map<string, { ms: number; calls: number }>();
  const restore: (() => void)[] = [];
  let depth = 0; // NOTE: kernels that call other kernels are timed once, at the outermost call
  for (const k of tf.getKernelsForBackend(tf.getBackend())) {
    const cfg = k as { kernelName: string; kernelFunc: tf.KernelFunc };
    const original = cfg.kernelFunc;
    const kernelName = cfg.kernelName;
    cfg.kernelFunc = ((args: Parameters<tf.KernelFunc>[0]) => {
      if (depth > 0) return original(args);
      const t = performance.now();
      depth++;
      let r: ReturnType<tf.KernelFunc>;
      try {
        r = original(args);
      } finally {
        depth--;
      }
      const e = totals.get(kernelName) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t;
      e.calls++;
      totals.set(kernelName, e);
      return r;
    }) as tf.KernelFunc;
    restore.push(() => {
      cfg.kernelFunc = original;
    });
  }
  const t0 = performance.now();
  try {
    await step();
  } finally {
    for (const r of restore) r();
  }
  const stepMs = performance.now() - t0;
  step.dispose();
  x.dispose();
  y.dispose();
  model.dispose();
  const kernels = [...totals.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([k, v]) => ({ kernel: k, ms: Math.round(v.ms), calls: v.calls, share: round(v.ms / stepMs) }));
  const kernelMs = kernels.reduce((s, k) => s + k.ms, 0);
  return { profile: name, backend: tf.getBackend(), batch, step_ms: Math.round(stepMs), kernel_ms: kernelMs, kernels: kernels.filter((k) => k.ms >= 1) };
}

// --- PyTorch peer ---

function runTorch(o: Options, model: ModelName, threads: number, env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  const python = '/usr/bin/python3';
  const script = findTorchScript();
  if (!existsSync(python) || !script) {
    out({ peer: 'pytorch', skipped: `no ${existsSync(python) ? 'shared/bench/torch_reference.py' : python}` });
    return undefined;
  }
  const wrapper = resolve(dirname(fileURLToPath(import.meta.url)), '../../peers/torch_models.py');
  const r = spawnSync(python, [wrapper, '--script', script, '--model', model, '--threads', String(threads), '--batch', String(o.batch), '--steps', String(Math.max(o.steps, 2))], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    env,
  });
  if (r.status !== 0) {
    out({ peer: 'pytorch', skipped: `torch_models.py exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}` });
    return undefined;
  }
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith('{'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

/** `../shared/bench/torch_reference.py` relative to the repository root (the folder with pnpm-workspace.yaml). */
function findTorchScript(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(resolve(dir, 'pnpm-workspace.yaml'))) break;
    dir = dirname(dir);
  }
  const candidates = [resolve(dir, '../shared/bench/torch_reference.py'), resolve(process.cwd(), '../shared/bench/torch_reference.py')];
  return candidates.find((c) => existsSync(c));
}

// --- Internal helpers ---

/** `fer bench models` flags (exported for tests). */
export function parseArgs(argv: string[]): Options {
  const cores = availableParallelism();
  const o: Options = { backend: 'native', models: ['shallow', 'deep'], threads: cores > 1 ? [1, cores] : [1], child: false, steps: 3, batch: 128, workers: 1, profile: false, torch: true, repeat: 3, peerMalloc: 'jemalloc', isa: 'native' };
  const KNOWN = ['--backend', '--models', '--threads', '--child', '--steps', '--batch', '--workers', '--repeat', '--peer-malloc', '--isa', '--profile', '--no-torch'];
  forEachFlag(argv, (flag, value) => {
    switch (flag) {
      case '--backend': o.backend = value(); break;
      case '--models': {
        const ms = value().split(',').map((m) => m.trim()).filter(Boolean);
        for (const m of ms) if (m !== 'shallow' && m !== 'deep') throw new Error(`--models: unknown model "${m}". Known: shallow, deep.`);
        o.models = ms as ModelName[];
        break;
      }
      case '--threads': o.threads = value().split(',').map((t) => positiveInt(flag, t.trim())); break;
      case '--child': o.child = true; break;
      case '--steps': o.steps = positiveInt(flag, value()); break;
      case '--batch': o.batch = positiveInt(flag, value()); break;
      case '--workers': o.workers = positiveInt(flag, value()); break;
      case '--repeat': o.repeat = positiveInt(flag, value()); break;
      case '--peer-malloc': o.peerMalloc = parsePeerMalloc(flag, value()); break;
      case '--isa': o.isa = parseIsa(flag, value()); break;
      case '--profile': o.profile = true; break;
      case '--no-torch': o.torch = false; break;
      default: throw unknownFlag('fer bench models', flag, KNOWN);
    }
  }, { command: 'fer bench models', known: KNOWN });
  return o;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
