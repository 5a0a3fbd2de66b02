import * as tf from '@tensorflow/tfjs';
import { setupBackend } from './_cli.js';
import { buildDeep, buildShallow } from './models.js';
const threads = Number(process.argv[2] ?? 1);
await setupBackend('native', threads);
for (const [name, build] of [['shallow', buildShallow], ['deep', buildDeep]] as const) {
  const model = build();
  const x = tf.randomNormal([128, 48, 48, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([128], 0, 7, 'int32', 2) as tf.Tensor1D, 7).toFloat();
  const opt = tf.train.adam(1e-3);
  const step = async () => { const c = opt.minimize(() => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar, true); await c!.data(); c!.dispose(); };
  await step();
  const rec = new Map<string, { ms: number; calls: number }>();
  const restore: (() => void)[] = [];
  for (const k of tf.getKernelsForBackend('wasm')) {
    if (!['Mean', 'Sum', 'MaxPoolGrad', 'Tile', 'Multiply', 'FerDropoutMask', 'FerBatchNormGrad', 'FusedBatchNorm', 'SquaredDifference', 'Sub', 'RealDiv', 'Add', 'FerDropoutApply', 'FerBatchNormTrain', 'FerBatchNormTrainGrad'].includes(k.kernelName)) continue;
    const cfg = k as { kernelName: string; kernelFunc: tf.KernelFunc };
    const orig = cfg.kernelFunc;
    cfg.kernelFunc = ((args: Parameters<tf.KernelFunc>[0]) => {
      const t = performance.now();
      const r = orig(args);
      const shapes = Object.values(args.inputs).map((i) => JSON.stringify((i as tf.TensorInfo).shape)).join(' ');
      const key = `${k.kernelName} ${shapes} ${JSON.stringify((args.attrs as { axis?: unknown })?.axis ?? (args.attrs as { shape?: unknown })?.shape ?? '')}`;
      const e = rec.get(key) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t; e.calls++; rec.set(key, e);
      return r;
    }) as tf.KernelFunc;
    restore.push(() => { cfg.kernelFunc = orig; });
  }
  await step();
  restore.forEach((r) => r());
  console.log(`== ${name} threads ${threads}`);
  for (const [k, v] of [...rec.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(v.ms.toFixed(1).padStart(7), String(v.calls).padStart(3), k);
}
