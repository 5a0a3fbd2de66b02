// `pnpm bench parity [--backend wasm|cpu] [--steps N] [--batch N] [--lr 1e-3] [--optimizer adam|sgd] [--momentum 0.9]
//    [--full] [--seeds 1,2,3] [--plot curves.png] [--data PATH] [--keep]`
// Step-by-step parity of our training step (@fer/models localStepper) with PyTorch (harness/peers/parity.py):
// both start from the same weights (paper-shallow, filters [4, 8], denseUnits 64, dropout off, seed 1) and
// see the same batches (the first N*batch FER2013 Training rows in file order, mean-image normalized, no
// shuffle, no augmentation). Before training, the forward loss and the gradients of the first batch are
// compared too (the diagnostic for a step-1 divergence). The conv biases feed a BatchNorm, so their true
// gradient is 0 and both sides hold float noise there (their relative differences, and Adam's lr-sized steps
// on that noise, also seen in the BN moving means, say nothing). Prints one JSON line per step
// {step, ours_loss, torch_loss, rel_diff}, one line for the step-0 gradients, then a summary line.
// --full: paper-shallow at full width with its dropout (masks differ between the sides, so per-step losses are
// compared as seed ranges over windows of 25 steps; run several --seeds), e.g. the learning rates the sweep
// tries: --full --seeds 1,2 --steps 200 --batch 128 --lr 1e-3 (or --optimizer sgd --lr 0.01).
// Needs the real data (--data or FER2013_PATH) and
// /usr/bin/python3 with torch and numpy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { fitNormalizer, loadDataset, splitIndices } from '@fer/data';
import { disposeBackend } from '@fer/engine';
import { CHART_FONT, renderPng, type VegaLiteSpec } from '@fer/metrics';
import { builtinModels, createRegistry, localStepper, trainingLogProbs } from '@fer/models';
import { mulberry32 } from '../rng.js';
import { dataPath } from '../data.js';
import { forEachFlag, unknownFlag } from '../flags.js';
import { out, positiveInt, setupBackend } from './_cli.js';
import { peerEnv } from './_peer.js';

interface Options {
  backend: string;
  steps: number;
  batch: number;
  lr: number;
  /** Paper-shallow at full width (filters [32, 64], 512 units) with its dropout (0.25 / 0.5), not the shrunk net. */
  full: boolean;
  optimizer: 'adam' | 'sgd';
  momentum: number;
  seeds: number[];
  /** Write the per-step loss curves of both sides as a PNG here. */
  plot?: string;
  data?: string;
  keep: boolean;
}

const SHRUNK = { filters: [4, 8], denseUnits: 64, convDropout: 0, denseDropout: 0 };
const FULL = { filters: [32, 64], denseUnits: 512, convDropout: 0.25, denseDropout: 0.5 };
const EPSILON = 1e-7;
/** Steps per window of the seed-spread comparison (with dropout the two sides draw different masks). */
const WINDOW = 25;

export async function run(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  try {
    await runBench(o);
  } finally {
    await disposeBackend();
  }
}

async function runBench(o: Options): Promise<void> {
  const data = dataPath(o.data);
  if (!data || !existsSync(data)) {
    out({ bench: 'parity', skipped: `no FER2013 file${data ? ` at ${data}` : ''} (pass --data or set FER2013_PATH)` });
    return;
  }
  if (o.backend !== 'wasm' && o.backend !== 'cpu' && o.backend !== 'native') throw new Error(`--backend "${o.backend}" is not one of native, wasm, cpu.`);
  const unavailable = await setupBackend(o.backend);
  if (unavailable) throw new Error(unavailable);

  const ds = await loadDataset(data);
  const allTrain = splitIndices(ds, 'Training');
  const n = o.steps * o.batch;
  if (n > allTrain.length) throw new Error(`--steps * --batch = ${n} exceeds the ${allTrain.length} Training rows.`);
  const trainIdx = Array.from(allTrain.subarray(0, n));
  const normalizer = fitNormalizer(ds, trainIdx, { kind: 'mean-image' });
  const px = ds.width * ds.height;
  const rows = new Uint8Array(n * px);
  const labels = new Uint8Array(n);
  trainIdx.forEach((r, j) => {
    rows.set(ds.pixels.subarray(r * px, (r + 1) * px), j * px);
    labels[j] = ds.labels[r];
  });
  const x = normalizer.apply(rows, n);
  const config = o.full ? FULL : SHRUNK;
  const dropout = config.convDropout > 0 || config.denseDropout > 0;
  const optimizer = { name: o.optimizer, learningRate: o.lr, epsilon: EPSILON, momentum: o.optimizer === 'sgd' ? o.momentum : undefined };
  const curves: { seed: number; ours: number[]; torch: number[] | null }[] = [];

  for (const seed of o.seeds) {
    const dir = mkdtempSync(join(tmpdir(), 'fer-parity-'));
    try {
      writeFileSync(join(dir, 'x.f32'), bytes(x));
      writeFileSync(join(dir, 'y.u8'), labels);

      const registry = createRegistry(builtinModels);
      const model = registry.create('paper-shallow', config, { seed });
      const l2 = Number(registry.resolveConfig('paper-shallow', config)['l2']);
      const regularized = model.layers
        .filter((l) => (l.getConfig() as Record<string, unknown>)['kernelRegularizer'] != null)
        .map((l) => l.name);
      await dumpWeights(model, join(dir, 'init'));

      // Step-0 diagnostic (no dropout only: with dropout the sides draw different masks): the forward loss and
      // gradients of batch 0, with the stepper's loss formula.
      let step0Loss: number | null = null;
      if (!dropout) {
        const initial = model.getWeights().map((t) => t.clone());
        const grads = step0Grads(model, x.subarray(0, o.batch * px), labels.subarray(0, o.batch), o.batch);
        mkdirSync(join(dir, 'grad0'));
        const gradManifest = grads.grads.map((g, i) => {
          writeFileSync(join(dir, 'grad0', `${i}.f32`), bytes(g.data));
          return { name: g.name, shape: g.shape, file: `${i}.f32` };
        });
        writeFileSync(join(dir, 'grad0', 'manifest.json'), JSON.stringify({ loss: grads.loss, weights: gradManifest }));
        model.setWeights(initial); // the forward pass above moved the BN moving statistics
        initial.forEach((t) => t.dispose());
        step0Loss = grads.loss;
      }

      const stepper = await localStepper({ model, optimizer, seed });
      const ours: number[] = [];
      // NOTE: tfjs draws Dropout masks from Math.random; seed it as train() does, so a run is repeatable.
      const original = Math.random;
      Math.random = mulberry32(seed);
      try {
        for (let s = 0; s < o.steps; s++) {
          const lo = s * o.batch;
          const r = await stepper.step({ x: x.subarray(lo * px, (lo + o.batch) * px), y: labels.subarray(lo, lo + o.batch), size: o.batch }, o.lr);
          ours.push(r.loss);
        }
      } finally {
        Math.random = original;
      }
      await stepper.syncToModel();
      await stepper.dispose();
      await dumpWeights(model, join(dir, 'final'));
      model.dispose();
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({
        steps: o.steps, batch: o.batch, lr: o.lr, epsilon: EPSILON, optimizer: o.optimizer, momentum: o.momentum, seed, l2, regularized, ...config, ours_loss: ours, step0_loss: step0Loss,
      }));

      const peer = runPeer(dir);
      if ('skipped' in peer) {
        ours.forEach((l, step) => out({ seed, step, ours_loss: l }));
        out({ bench: 'parity', backend: o.backend, torch: peer });
        curves.push({ seed, ours, torch: null });
        continue;
      }
      const torch = peer.losses;
      curves.push({ seed, ours, torch });
      const rel = ours.map((l, i) => Math.abs(l - torch[i]) / Math.max(Math.abs(torch[i]), 1e-12));
      ours.forEach((l, step) => out({ seed, step, ours_loss: l, torch_loss: torch[step], rel_diff: rel[step] }));
      if (step0Loss !== null) out({ seed, step0: true, ours_forward_loss: step0Loss, torch_forward_loss: peer.step0_loss, max_grad_rel_diff: peer.grad_rel_diff });
      out({
        bench: 'parity', backend: o.backend, seed, steps: o.steps, batch: o.batch, optimizer: o.optimizer, lr: o.lr, full: o.full, l2, regularized, peer: peer.peer,
        max_rel_loss_diff_first_5_steps: Math.max(...rel.slice(0, 5)),
        max_rel_loss_diff: Math.max(...rel),
        ...(dropout ? {} : { max_weight_rel_diff: peer.weight_rel_diff, max_weight_abs_diff: peer.weight_abs_diff }),
      });
    } finally {
      if (o.keep) process.stderr.write(`parity: kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
  const compared = curves.filter((c): c is { seed: number; ours: number[]; torch: number[] } => c.torch !== null);
  if (compared.length) out({ bench: 'parity', summary: true, optimizer: o.optimizer, lr: o.lr, full: o.full, seeds: o.seeds, windows: compareWindows(compared, WINDOW) });
  if (o.plot && curves.length) {
    const png = await renderPng(lossCurvesSpec(curves, `paper-shallow ${o.full ? 'full width, dropout' : 'shrunk, no dropout'}: ${o.optimizer} lr ${o.lr}, batch ${o.batch}`));
    writeFileSync(o.plot, png);
    process.stderr.write(`parity: wrote ${o.plot}\n`);
  }
}

/**
 * Per window of `size` steps: each side's mean loss per seed, the mean and spread (max - min) over seeds, and
 * whether the two sides' seed ranges overlap (with dropout, the only fair per-step comparison: the masks differ).
 */
export function compareWindows(curves: { ours: number[]; torch: number[] }[], size: number): { from: number; to: number; ours: number[]; torch: number[]; overlap: boolean }[] {
  const steps = Math.min(...curves.map((c) => Math.min(c.ours.length, c.torch.length)));
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const windows = [];
  for (let from = 0; from < steps; from += size) {
    const to = Math.min(steps, from + size);
    const ours = curves.map((c) => +mean(c.ours.slice(from, to)).toFixed(4));
    const torch = curves.map((c) => +mean(c.torch.slice(from, to)).toFixed(4));
    const overlap = Math.max(...ours) >= Math.min(...torch) && Math.max(...torch) >= Math.min(...ours);
    windows.push({ from, to, ours, torch, overlap });
  }
  return windows;
}

function lossCurvesSpec(curves: { seed: number; ours: number[]; torch: number[] | null }[], title: string): VegaLiteSpec {
  const values = curves.flatMap((c) => [
    ...c.ours.map((loss, step) => ({ step: step + 1, loss, run: `ours, seed ${c.seed}` })),
    ...(c.torch ?? []).map((loss, step) => ({ step: step + 1, loss, run: `PyTorch, seed ${c.seed}` })),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 260,
    data: { values },
    mark: { type: 'line', strokeWidth: 1 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'loss', type: 'quantitative', title: 'training loss (cross-entropy + L2), log scale', scale: { type: 'log' } },
      color: { field: 'run', type: 'nominal', title: null },
    },
    config: { font: CHART_FONT },
  } as VegaLiteSpec;
}

/** Loss (exactly localStepper's: log-softmax of the logits + calculateLosses) and its gradients, batch 0. */
function step0Grads(model: tf.LayersModel, x: Float32Array, y: Uint8Array, n: number): { loss: number; grads: { name: string; shape: number[]; data: Float32Array }[] } {
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const numClasses = model.outputs[0].shape[1] ?? 0;
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor4d(x, [n, 48, 48, 1]);
    const target = tf.oneHot(tf.tensor1d(Int32Array.from(y), 'int32'), numClasses).toFloat();
    return tf.variableGrads(() => {
      const perExample = tf.neg(tf.sum(tf.mul(target, trainingLogProbs(model, xs).logProbs), 1));
      let total = tf.div(tf.sum(perExample), n) as tf.Scalar;
      for (const r of model.calculateLosses()) total = tf.add(total, r);
      return total;
    }, vars);
  });
  const loss = value.dataSync()[0];
  value.dispose();
  const out = model.trainableWeights.map((w, i) => {
    const g = grads[vars[i].name];
    return { name: w.originalName ?? w.name, shape: g.shape.slice(), data: Float32Array.from(g.dataSync()) };
  });
  Object.values(grads).forEach((g) => g.dispose());
  return { loss, grads: out };
}

async function dumpWeights(model: tf.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir);
  const manifest = [];
  for (const [i, w] of model.weights.entries()) {
    const v = w.read();
    writeFileSync(join(dir, `${i}.f32`), bytes(Float32Array.from(await v.data())));
    manifest.push({ name: w.originalName ?? w.name, shape: v.shape.slice(), trainable: w.trainable, file: `${i}.f32` });
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

interface PeerResult {
  peer: string;
  losses: number[];
  step0_loss: number;
  grad_rel_diff: Record<string, number>;
  weight_rel_diff: Record<string, number>;
  weight_abs_diff: Record<string, number>;
}

function runPeer(dir: string): PeerResult | { skipped: string } {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { skipped: `no ${python}` };
  const here = dirname(fileURLToPath(import.meta.url));
  const script = resolve(here, '../../peers/parity.py');
  // NOTE: the peer at its best (PyTorch's CPU guide): Debian's jemalloc preloaded with decay off where installed.
  const { env } = peerEnv();
  const r = spawnSync(python, [script, dir], { encoding: 'utf8', maxBuffer: 16 << 20, env });
  if (r.status !== 0) return { skipped: `parity.py failed (${r.status}): ${(r.stderr || r.stdout).slice(-2000)}` };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as PeerResult;
}

function bytes(a: Float32Array): Uint8Array {
  // little-endian on every platform we run on (x86-64, arm64)
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { backend: 'wasm', steps: 30, batch: 64, lr: 1e-3, full: false, optimizer: 'adam', momentum: 0.9, seeds: [1], keep: false };
  const KNOWN = ['--backend', '--steps', '--batch', '--lr', '--full', '--optimizer', '--momentum', '--seeds', '--plot', '--data', '--keep'];
  forEachFlag(argv, (flag, value) => {
    switch (flag) {
      case '--backend': o.backend = value(); break;
      case '--steps': o.steps = positiveInt(flag, value()); break;
      case '--batch': o.batch = positiveInt(flag, value()); break;
      case '--lr': o.lr = Number(value()); break;
      case '--full': o.full = true; break;
      case '--optimizer': {
        const v = value();
        if (v !== 'adam' && v !== 'sgd') throw new Error(`--optimizer: got "${v}", expected adam or sgd.`);
        o.optimizer = v;
        break;
      }
      case '--momentum': o.momentum = Number(value()); break;
      case '--seeds': o.seeds = value().split(',').map((v) => positiveInt(flag, v.trim())); break;
      case '--plot': o.plot = value(); break;
      case '--data': o.data = value(); break;
      case '--keep': o.keep = true; break;
      default: throw unknownFlag('fer bench parity', flag, KNOWN);
    }
  }, { command: 'fer bench parity', known: KNOWN });
  if (!(o.lr > 0)) throw new Error('--lr must be a positive number.');
  if (!(o.momentum >= 0 && o.momentum < 1)) throw new Error(`--momentum: got ${o.momentum}, expected a number in [0, 1).`);
  return o;
}
