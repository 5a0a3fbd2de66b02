/* eslint-disable no-console -- a benchmark script, not library code */
// Throughput of createDataParallelStepper, 1 vs N workers, on a paper-shallow-like model.
// Run: node --import tsx packages/fer-engine/src/parallel/_bench.ts [backend=wasm] [steps=3] [batch=128] [workers=1,2]
// Prints one JSON line per worker count (a benchmark script, not library code).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createDataParallelStepper, type DataParallelStepper } from './data-parallel.js';

const [backend = 'wasm', stepsArg = '3', batchArg = '128', workersArg = '1,2'] = process.argv.slice(2);
const steps = Number(stepsArg);
const B = Number(batchArg);
tf.env().set('PROD', true);
await tf.setBackend('cpu');

// conv32 3x3 + BN, conv64 3x3 + BN + maxpool, dense 512, dense 7 (the 18.9M-weight dense layer of the paper's shallow net).
const model = tf.sequential({
  layers: [
    tf.layers.conv2d({ inputShape: [48, 48, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
    tf.layers.batchNormalization(),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
    tf.layers.batchNormalization(),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 512, activation: 'relu' }),
    tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: 7, activation: 'softmax' }),
  ],
});
const x = new Float32Array(B * 48 * 48).map((_, i) => Math.sin(i * 0.37));
const y = new Uint8Array(B).map((_, i) => i % 7);
for (const workers of workersArg.split(',').map(Number)) {
  const t0 = performance.now();
  const stepper = await createDataParallelStepper({ workers, backend: backend as 'wasm' | 'cpu' })({ model, optimizer: { name: 'adam', learningRate: 1e-4 }, seed: 1 }) as DataParallelStepper;
  const startup = performance.now() - t0;
  await stepper.step({ x, y, size: B }, 1e-4); // warm-up
  const cpu0 = threadCpuSeconds();
  const t1 = performance.now();
  for (let i = 0; i < steps; i++) await stepper.step({ x, y, size: B }, 1e-4);
  const perStep = (performance.now() - t1) / steps;
  // NOTE: on a shared machine wall time depends on the load; per-thread CPU time does not. The busiest
  // thread's CPU time per step is the step time with one free core per worker.
  const cpu1 = threadCpuSeconds();
  const perThread = [...cpu1].map(([tid, s1]) => (s1 - (cpu0.get(tid) ?? 0)) / steps).sort((a, b) => b - a);
  const cpu = { processSecPerStep: +perThread.reduce((a, b) => a + b, 0).toFixed(2), busiestThreadsSecPerStep: perThread.slice(0, workers + 1).map((v) => +v.toFixed(2)) };
  const t = stepper.lastStepTimings!;
  await stepper.dispose();
  const timings = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)]));
  console.log(JSON.stringify({ bench: 'data-parallel', backend, workers, batch: B, steps, startupMs: Math.round(startup), msPerStep: Math.round(perStep), imgPerSec: +((B * 1000) / perStep).toFixed(1), lastStep: timings, cpu, loadavg: readLoad() }));
}
model.dispose();

// --- Internal helpers ---

/** utime + stime of every thread of this process, in seconds (Linux /proc; empty elsewhere). */
function threadCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync('/proc/self/task')) return out;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / 100); // fields 14, 15 (utime, stime) in clock ticks (USER_HZ = 100)
    } catch {
      // the thread ended
    }
  }
  return out;
}

function readLoad(): string {
  return existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : '';
}
