#!/usr/bin/env node
// Interleaved A/B of the hot element-wise kernels on the paper networks' shapes (batch 128):
//   node scripts/ab-kernels.mjs [--old /path/to/old/fer-engine-native.node] [--rounds 7] [--threads 1,2] [--only adam,dropout]
// Variants: this folder's fer-engine-native.node under each kernel ISA it allows (setKernelIsa), and --old if given
// (an earlier build, loaded in the same process). Each round runs every (kernel, variant) once in a shuffled order;
// the report is the median over rounds, in ms, one JSON line per kernel and thread count. No assertions: a tool.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';

process.env.OMP_WAIT_POLICY ??= 'PASSIVE'; // as @fer/engine sets it
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rounds = Number(opt('rounds', '7'));
const threadList = opt('threads', '1,2').split(',').map(Number);
const only = opt('only', '') ? new Set(opt('only', '').split(',')) : undefined;
const require = createRequire(import.meta.url);
const cur = require(join(root, 'fer-engine-native.node'));
const variants = [];
for (const isa of cur.info().kernelIsas ?? ['?']) variants.push({ name: `new:${isa}`, addon: cur, isa });
if (opt('old')) variants.unshift({ name: 'old', addon: require(opt('old')) });

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const filled = (n, f = rand) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = f();
  return a;
};
const pool = new Map();
/** A random Float32Array of n values, shared between kernels (the inputs are only read). */
const input = (n, key) => {
  const k = `${key}:${n}`;
  if (!pool.has(k)) pool.set(k, filled(n));
  return pool.get(k);
};
const outs = new Map();
const output = (n, key) => {
  const k = `${key}:${n}`;
  if (!outs.has(k)) outs.set(k, new Float32Array(n));
  return outs.get(k);
};


const adamParams = Float32Array.of(1e-3, 0.9, 0.1, 0.999, 0.001, 0.5, 0.01, 1e-7, 0);
// [kernel, shape label, fn(addon)]
const cases = [];
const add = (kernel, label, fn) => (!only || only.has(kernel)) && cases.push({ kernel, label, fn });
for (const [label, n] of [['shallow dense 36864x512', 36864 * 512], ['deep conv4 3x3x512x512', 9 * 512 * 512]]) {
  const v = input(n, 'v').map(Math.abs);
  add('adam', label, (a) => a.adam(input(n, 'w'), input(n, 'g'), input(n, 'm'), v, output(n, 'o1'), output(n, 'o2'), output(n, 'o3'), adamParams));
}
for (const [label, n] of [['shallow block1 128x48x48x32', 128 * 48 * 48 * 32], ['deep block1 128x24x24x64', 128 * 24 * 24 * 64], ['deep block4 128x3x3x512', 128 * 3 * 3 * 512]]) {
  add('dropoutApply', label, (a) => a.dropoutApply(input(n, 'x'), output(n, 'o1'), Float64Array.of(5, 0.25, 0.5, 0.125), 0.75));
}
for (const [label, rows, C] of [['shallow block2 128x48x48x64', 128 * 48 * 48, 64], ['shallow block1 128x48x48x32', 128 * 48 * 48, 32], ['deep block3 128x12x12x512', 128 * 12 * 12, 512]]) {
  const n = rows * C;
  add('batchNormTrain', label, (a) => a.batchNormTrain(input(n, 'x'), input(C, 's'), input(C, 'b'), output(n, 'o1'), output(C, 'm'), output(C, 'vv').fill(1), C, 1e-5));
  add('batchNormTrainGrad', label, (a) => a.batchNormTrainGrad(input(n, 'x'), input(C, 'mu'), input(C, 'var').map(Math.abs), input(C, 's'), input(n, 'g'), output(n, 'o1'), output(C, 'd1'), output(C, 'd2'), C, 1e-5));
}
for (const [label, B, H, W, C] of [['shallow/deep block 128x48x48x64', 128, 48, 48, 64], ['deep block3 128x12x12x512', 128, 12, 12, 512]]) {
  const n = B * H * W * C;
  const dims = Int32Array.of(B, H, W, C, H / 2, W / 2, 2, 2, 2, 2, 0, 0);
  add('maxPoolGrad', label, (a) => a.maxPoolGrad(input(n, 'x'), input(n / 4, 'g'), output(n, 'o1'), dims));
}
for (const [label, n] of [['shallow block2 128x48x48x64', 128 * 48 * 48 * 64]]) {
  add('reluGrad', label, (a) => a.reluGrad(input(n, 'g'), input(n, 'x'), output(n, 'o1')));
  add('relu', label, (a) => a.unary(0, input(n, 'x'), output(n, 'o1'), 0));
  add('sum', `${label} over rows`, (a) => a.reduceLeading(input(n, 'x'), output(64, 'o1'), n / 64, 64, false));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(JSON.stringify({ ab: 'kernels', cpu: cpus()[0]?.model, variants: variants.map((v) => v.name), rounds, loadavg_start: loadavg().map((x) => Math.round(x * 100) / 100) }));
for (const threads of threadList) {
  for (const v of variants) v.addon.setThreads(threads);
  const times = new Map();
  for (let r = -1; r < rounds; r++) {
    const order = cases.flatMap((c) => variants.map((v) => ({ c, v })));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(((rand() + 1) / 2) * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const { c, v } of order) {
      if (v.isa) v.addon.setKernelIsa(v.isa);
      const t0 = performance.now();
      c.fn(v.addon);
      const ms = performance.now() - t0;
      if (r < 0) continue; // warm-up round
      const k = `${c.kernel}|${c.label}|${v.name}`;
      if (!times.has(k)) times.set(k, []);
      times.get(k).push(ms);
    }
  }
  for (const c of cases) {
    const line = { kernel: c.kernel, shape: c.label, threads };
    for (const v of variants) line[v.name] = Math.round(median(times.get(`${c.kernel}|${c.label}|${v.name}`)) * 100) / 100;
    console.log(JSON.stringify(line));
  }
  console.log(JSON.stringify({ threads, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) }));
}
cur.setKernelIsa?.('auto');

