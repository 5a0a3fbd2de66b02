import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectNoLeak, tinyFaces } from '@fer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModels, createRegistry, loadModel, predict, saveModel } from './index.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  dir = await mkdtemp(join(tmpdir(), 'fer-models-save-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const registry = createRegistry(builtinModels);
const small = { filters: [2, 3], denseUnits: 4 };

describe('saveModel / loadModel / predict', () => {
  it('round-trips weights, topology and meta; predict matches and leaks nothing', async () => {
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const out = join(dir, 'shallow');
    const config = registry.resolveConfig('paper-shallow', small);
    await saveModel(out, model, { modelName: 'paper-shallow', config, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], training: { epochs: 0 } });
    const faces = tinyFaces(3, 2);
    const before = await predict({ model, meta: { format: 'fer-model@1', modelName: 'paper-shallow', config, classNames: [], inputSize: [48, 48, 1] } }, faces.pixels, 3);
    const loaded = await loadModel(out);
    expect(loaded.meta).toMatchObject({ modelName: 'paper-shallow', inputSize: [48, 48, 1], training: { epochs: 0 } });
    expect(loaded.meta.config).toEqual(config);
    const after = await expectNoLeak(tf, () => predict(loaded, faces.pixels, 3));
    expect(Array.from(after.probabilities)).toEqual(Array.from(before.probabilities));
    for (let i = 0; i < 3; i++) {
      const row = after.probabilities.subarray(i * 7, i * 7 + 7);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(after.labels.length).toBe(3);
    model.dispose();
    loaded.model.dispose();
  });

  it('the saved folder loads over HTTP with plain tf.loadLayersModel, as a browser would', async () => {
    const model = registry.create('paper-hybrid-shallow', small, { seed: 2 });
    const out = join(dir, 'served');
    const config = registry.resolveConfig('paper-hybrid-shallow', small);
    await saveModel(out, model, { modelName: 'paper-hybrid-shallow', config, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], training: { epochs: 0 } });
    const requested: string[] = [];
    const server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').slice(1));
      requested.push(name);
      readFile(join(out, name)).then(
        (body) => res.writeHead(200, { 'content-type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      // The same HTTP loader a browser uses: model.json, then the weight files it names, relative to it.
      const loaded = await tf.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
      expect(requested[0]).toBe('model.json');
      expect(requested.length).toBeGreaterThan(1);
      expect(loaded.inputs.map((t) => t.shape)).toEqual(model.inputs.map((t) => t.shape));
      const image = tf.randomUniform([2, 48, 48, 1], -1, 1, 'float32', 3);
      const hogs = tf.randomUniform([2, model.inputs[1].shape[1]!], 0, 0.3, 'float32', 4);
      const [a, b] = [model.predict([image, hogs]) as tf.Tensor, loaded.predict([image, hogs]) as tf.Tensor];
      expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
      tf.dispose([image, hogs, a, b]);
      loaded.dispose();
    } finally {
      server.close();
      model.dispose();
    }
  });

  it('gives clear errors for missing and corrupt files', async () => {
    await expect(loadModel(join(dir, 'nothing'))).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/fer\.json/) });
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const out = join(dir, 'corrupt');
    await saveModel(out, model, { modelName: 'paper-shallow', config: {}, classNames: [] });
    model.dispose();
    await writeFile(join(out, 'weights.bin'), new Uint8Array(10));
    await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/hold 10 bytes/) });
    await writeFile(join(out, 'model.json'), '{not json');
    await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/not valid JSON/) });
  });

  it('rejects pixel arrays of the wrong size', async () => {
    const model = registry.create('paper-shallow', small, { seed: 1 });
    await expect(predict({ model, meta: { format: 'fer-model@1', modelName: 'x', config: {}, classNames: [], inputSize: [48, 48, 1] } }, new Uint8Array(100), 1)).rejects.toThrow(/expected count \* 48 \* 48 = 2304/);
    model.dispose();
  });
});
