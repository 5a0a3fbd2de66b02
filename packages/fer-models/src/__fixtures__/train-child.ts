// Child process for train.test.ts (exact resume after SIGKILL); test-only, not in the published package.
// usage: node --conditions=@fer/source --import tsx train-child.ts <checkpointDir> <outFile> <resume 0|1> <slowFromEpoch>
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { builtinModels, createRegistry, train } from '../index.js';
import { tinyTrainData } from '../testing.js';

const [checkpointDir, outFile, resume, slowFrom] = process.argv.slice(2);
await tf.setBackend('cpu');
await tf.ready();
const model = createRegistry(builtinModels).create('paper-shallow', CHILD_MODEL_CONFIG(), { seed: 5 });
const data = tinyTrainData({ count: 24, inputSize: 16, batchSize: 3, seed: 2 });
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const result = await train({
  model,
  data: { train: data.train, validation: data.validation },
  config: CHILD_TRAIN_CONFIG(),
  checkpointDir,
  resume: resume === '1',
  onProgress: (p) => {
    if (p.epoch >= Number(slowFrom)) Atomics.wait(sleeper, 0, 0, 150);
  },
});
const weights = await Promise.all(model.getWeights().map(async (t) => (await t.data()) as Float32Array));
const total = weights.reduce((n, w) => n + w.length, 0);
const flat = new Float32Array(total);
let off = 0;
for (const w of weights) {
  flat.set(w, off);
  off += w.length;
}
writeFileSync(outFile, new Uint8Array(flat.buffer));
writeFileSync(`${outFile}.json`, JSON.stringify({ resumedFromEpoch: result.resumedFromEpoch, epochs: result.history.length, warnings: result.warnings }));

function CHILD_MODEL_CONFIG() {
  return { inputSize: 16, filters: [2, 3], denseUnits: 6 };
}
function CHILD_TRAIN_CONFIG() {
  return { epochs: 3, optimizer: { learningRate: 1e-3 }, earlyStopping: { restoreBest: false } };
}
