// WebGPU training/inference throughput of the paper's models, as JSON lines in the shape of
// `pnpm bench models` (model, backend, workers, batch, train_img_per_s, infer_img_per_s) plus the adapter.
// Reads results asynchronously (WebGPU tensors cannot be read synchronously in Node) and releases the GPU.
//   node --conditions=@fer/source --import tsx packages/fer-engine/src/webgpu/_bench.ts [--models shallow,deep] [--batch 32] [--steps 2] [--allow-software]
import * as tf from '@tensorflow/tfjs';
import { describeBackend, disposeBackend, initBackend } from '../backend.js';
import { buildPaperModel } from './_paper-models.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const models = opt('--models', 'shallow,deep').split(',') as ('shallow' | 'deep' | 'hybrid')[];
const batch = Number(opt('--batch', '32'));
const steps = Number(opt('--steps', '2'));

const info = await initBackend({ backend: 'webgpu', allowSoftwareAdapter: args.includes('--allow-software') });
const d = describeBackend();
process.stdout.write(`${JSON.stringify({ bench: 'models', backend: info.backend, adapter: d.adapter?.name, software: d.adapter?.isSoftware, versions: d.versions })}\n`);
try {
  for (const name of models) {
    const m = buildPaperModel(tf, `paper-${name}`);
    const x = tf.randomNormal([batch, 48, 48, 1], 0, 1, 'float32', 1);
    const hog = tf.randomUniform([batch, 1296], 0, 1, 'float32', 3);
    const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 7, 'float32', 2).floor().toInt() as tf.Tensor1D, 7).toFloat());
    const inputs = name === 'hybrid' ? [x, hog] : x;
    const optimizer = tf.train.adam(1e-3);
    const step = async (): Promise<void> => {
      const cost = optimizer.minimize(() => tf.mean(tf.metrics.categoricalCrossentropy(y, m.apply(inputs, { training: true }) as tf.Tensor)) as tf.Scalar, true)!;
      await cost.data();
      cost.dispose();
    };
    await step(); // warm-up: shader compilation
    let t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    const train = (batch * steps) / ((performance.now() - t0) / 1000);
    const infer = async (): Promise<void> => {
      const p = tf.tidy(() => m.apply(inputs, { training: false }) as tf.Tensor);
      await p.data();
      p.dispose();
    };
    await infer();
    t0 = performance.now();
    for (let i = 0; i < steps; i++) await infer();
    const inferRate = (batch * steps) / ((performance.now() - t0) / 1000);
    optimizer.dispose();
    tf.dispose([x, hog, y]);
    m.dispose();
    process.stdout.write(`${JSON.stringify({ model: name, backend: tf.getBackend(), workers: 1, batch, train_img_per_s: Math.round(train * 100) / 100, infer_img_per_s: Math.round(inferRate * 100) / 100 })}\n`);
  }
} finally {
  await disposeBackend();
}
