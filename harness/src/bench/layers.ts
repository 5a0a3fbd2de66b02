// `pnpm bench layers [--threads 1,2] [--reps N] [--backend native|wasm] [--peer-malloc jemalloc|glibc] [--isa native|avx2] [--no-torch]`
// GFLOP per CPU-second of every convolution and dense layer of the paper's networks at batch 128, per
// operation (forward, backward-input, backward-filter), with @fer/engine's kernels (run through
// tf.engine().runKernel on wasm, i.e. exactly what training calls) and with PyTorch (harness/peers/
// torch_layers.py) in the same run. CPU seconds are the whole process's (process.cpuUsage / process_time:
// all threads), so a kernel that keeps two cores busy for 1 s costs 2 CPU-seconds. The peer runs at its best
// (./_peer.ts: jemalloc preloaded where installed); --isa avx2 restricts both sides to AVX2. Every line carries
// the load average (`load`).
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describeNativeKernels } from '@fer/engine';
import { forEachFlag, unknownFlag } from '../flags.js';
import { out, positiveInt, setupBackend } from './_cli.js';
import { isaEnv, loadNow, parseIsa, parsePeerMalloc, peerEnv, type BenchIsa, type PeerMalloc } from './_peer.js';

interface ConvLayer { name: string; kind: 'conv'; B: number; H: number; W: number; Ci: number; Co: number; k: number }
interface DenseLayer { name: string; kind: 'dense'; M: number; K: number; N: number }
type Layer = ConvLayer | DenseLayer;

const B = 128;
/** The paper networks' heavy layers (shared/bench/torch_reference.py): 'same' 3x3/5x5 convs, stride 1. */
export const PAPER_LAYERS: Layer[] = [
  { name: 'shallow.conv1 48x48 1->32 3x3', kind: 'conv', B, H: 48, W: 48, Ci: 1, Co: 32, k: 3 },
  { name: 'shallow.conv2 48x48 32->64 3x3', kind: 'conv', B, H: 48, W: 48, Ci: 32, Co: 64, k: 3 },
  { name: 'shallow.fc1 36864->512', kind: 'dense', M: B, K: 36864, N: 512 },
  { name: 'deep.conv1 48x48 1->64 3x3', kind: 'conv', B, H: 48, W: 48, Ci: 1, Co: 64, k: 3 },
  { name: 'deep.conv2 24x24 64->128 5x5', kind: 'conv', B, H: 24, W: 24, Ci: 64, Co: 128, k: 5 },
  { name: 'deep.conv3 12x12 128->512 3x3', kind: 'conv', B, H: 12, W: 12, Ci: 128, Co: 512, k: 3 },
  { name: 'deep.conv4 6x6 512->512 3x3', kind: 'conv', B, H: 6, W: 6, Ci: 512, Co: 512, k: 3 },
  { name: 'deep.fc1 4608->256', kind: 'dense', M: B, K: 4608, N: 256 },
  { name: 'deep.fc2 256->512', kind: 'dense', M: B, K: 256, N: 512 },
];

interface Options { backend: string; threads: number[]; reps: number; torch: boolean; peerMalloc: PeerMalloc; isa: BenchIsa }

export async function run(argv: string[]): Promise<void> {
  const o: Options = { backend: 'native', threads: [1, 2], reps: 3, torch: true, peerMalloc: 'jemalloc', isa: 'native' };
  const KNOWN = ['--backend', '--threads', '--reps', '--peer-malloc', '--isa', '--no-torch'];
  forEachFlag(argv, (flag, value) => {
    switch (flag) {
      case '--backend': o.backend = value(); break;
      case '--threads': o.threads = value().split(',').map((t) => positiveInt(flag, t.trim())); break;
      case '--reps': o.reps = positiveInt(flag, value()); break;
      case '--peer-malloc': o.peerMalloc = parsePeerMalloc(flag, value()); break;
      case '--isa': o.isa = parseIsa(flag, value()); break;
      case '--no-torch': o.torch = false; break;
      default: throw unknownFlag('fer bench layers', flag, KNOWN);
    }
  }, { command: 'fer bench layers', known: KNOWN });
  // NOTE: oneDNN reads its ISA cap when it creates its first primitive, i.e. after this (Node's process.env sets the real environment).
  Object.assign(process.env, isaEnv(o.isa, 'ours'));
  const peer = peerEnv({ malloc: o.peerMalloc, isa: o.isa });
  out({ bench: 'layers', isa: o.isa, ...(o.torch ? { peer_malloc: peer.malloc, ...(peer.note ? { peer_note: peer.note } : {}) } : {}), load: loadNow() });
  for (const threads of o.threads) {
    const unavailable = await setupBackend(o.backend, threads);
    if (unavailable) {
      out({ bench: 'layers', backend: o.backend, available: false, reason: unavailable });
      return;
    }
    const ours = measureOurs(o.reps, o.backend, threads);
    const torch = o.torch ? runTorch(threads, o.reps, peer.env) : [];
    for (const line of ours) {
      out({ ...line, load: loadNow() });
      const t = torch.find((l) => l['layer'] === line.layer && l['op'] === line.op);
      if (t) {
        const torchRate = Number(t['gflop']) / Number(t['cpu_s']);
        out({ layer: line.layer, op: line.op, threads, torch_gflop_per_cpu_s: round(torchRate), ratio: round(line.gflop_per_cpu_s / torchRate), malloc: peer.malloc, load: loadNow() });
      }
    }
  }
}

// --- Internal helpers ---

function cpuSeconds(fn: () => tf.Tensor, reps: number, readBack: boolean): number {
  fn().dispose();
  const t0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    // NOTE: no dataSync on wasm (and native, which is wasm): the kernel has finished when runKernel returns, and
    // reading the output back would add a copy of it into JS memory (37-75 MB for the 48x48 layers) that the
    // PyTorch side does not make and training never does. Other backends may run asynchronously: read back there.
    const y = fn();
    if (readBack) y.dataSync();
    y.dispose();
  }
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6 / reps;
}

function measureOurs(reps: number, backend: string, threads: number) {
  const lines: { layer: string; op: string; backend: string; threads: number; impl?: string; gflop: number; cpu_s: number; gflop_per_cpu_s: number }[] = [];
  for (const l of PAPER_LAYERS) {
    const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => () =>
      tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
    let flops: number;
    let ops: [string, () => tf.Tensor][];
    const keep: tf.Tensor[] = [];
    if (l.kind === 'conv') {
      const x = tf.randomNormal([l.B, l.H, l.W, l.Ci], 0, 1, 'float32', 1);
      const w = tf.randomNormal([l.k, l.k, l.Ci, l.Co], 0, 0.1, 'float32', 2);
      const dy = tf.randomNormal([l.B, l.H, l.W, l.Co], 0, 1, 'float32', 3);
      keep.push(x, w, dy);
      flops = 2 * l.B * l.H * l.W * l.Co * l.Ci * l.k * l.k;
      const conv = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined };
      ops = [
        ['forward', run('Conv2D', { x, filter: w }, conv)],
        ['backward-input', run('Conv2DBackpropInput', { dy, filter: w }, { ...conv, inputShape: x.shape })],
        ['backward-filter', run('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: w.shape })],
      ];
    } else {
      const x = tf.randomNormal([l.M, l.K], 0, 1, 'float32', 1);
      const w = tf.randomNormal([l.K, l.N], 0, 0.1, 'float32', 2);
      const dy = tf.randomNormal([l.M, l.N], 0, 1, 'float32', 3);
      keep.push(x, w, dy);
      flops = 2 * l.M * l.K * l.N;
      ops = [
        ['forward', run('BatchMatMul', { a: x, b: w }, { transposeA: false, transposeB: false })],
        ['backward-input', run('BatchMatMul', { a: dy, b: w }, { transposeA: false, transposeB: true })],
        ['backward-filter', run('BatchMatMul', { a: x, b: dy }, { transposeA: true, transposeB: false })],
      ];
    }
    for (const [op, fn] of ops) {
      const s = cpuSeconds(fn, reps, backend !== 'native' && backend !== 'wasm');
      lines.push({ layer: l.name, op, backend, threads, gflop: round(flops / 1e9, 3), cpu_s: round(s, 5), gflop_per_cpu_s: round(flops / 1e9 / s) });
    }
    tf.dispose(keep);
  }
  if (backend === 'native' && describeNativeKernels().failures?.length) out({ warning: 'native kernels fell back to WASM', failures: describeNativeKernels().failures });
  return lines;
}

function runTorch(threads: number, reps: number, env: NodeJS.ProcessEnv): Record<string, unknown>[] {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../peers/torch_layers.py');
  const r = spawnSync('/usr/bin/python3', [script, '--threads', String(threads), '--reps', String(reps)], { input: JSON.stringify(PAPER_LAYERS), encoding: 'utf8', maxBuffer: 16 << 20, env });
  if (r.status !== 0) {
    out({ peer: 'pytorch', skipped: `torch_layers.py exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}` });
    return [];
  }
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function round(v: number, d = 2): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}
