import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectNoLeak, tinyFaces } from '@fer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModels, createRegistry, loadModel, MAX_MODEL_JSON_BYTES, predict, saveModel } from './index.js';
import * as browserEntry from './browser.js';

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
const seven = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/** A fresh saved tiny model in `dir/name`. */
async function savedModel(name: string): Promise<string> {
  const model = registry.create('paper-shallow', small, { seed: 1 });
  const out = join(dir, name);
  await saveModel(out, model, { modelName: 'paper-shallow', config: registry.resolveConfig('paper-shallow', small), classNames: seven });
  model.dispose();
  return out;
}

async function editJson(file: string, edit: (j: any) => void): Promise<void> {
  const j = JSON.parse(await readFile(file, 'utf8'));
  edit(j);
  await writeFile(file, JSON.stringify(j));
}

/** Byte offset of weight `name` in weights.bin (float32, manifest order). */
async function offsetOf(out: string, name: string): Promise<number> {
  const j = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
  let off = 0;
  for (const w of j.weightsManifest[0].weights) {
    if (w.name === name) return off;
    off += w.shape.reduce((a: number, b: number) => a * b, 1) * 4;
  }
  throw new Error(`no weight ${name}`);
}

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

  it('loads from a URL and from files in memory (the browser entry too), with the same checks', async () => {
    const out = await savedModel('by-url');
    const server = createServer((req, res) => {
      readFile(join(out, decodeURIComponent((req.url ?? '/').slice('/m/'.length)))).then(
        (body) => res.writeHead(200).end(body),
        () => res.writeHead(404, 'Not Found').end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/m`;
      const faces = tinyFaces(2, 5);
      const fromDir = await loadModel(out);
      const want = Array.from((await predict(fromDir, faces.pixels, 2)).probabilities);
      const files = Object.fromEntries(await Promise.all(['fer.json', 'model.json', 'weights.bin'].map(async (f) => [f, new Uint8Array(await readFile(join(out, f)))])));
      for (const load of [() => loadModel(url), () => browserEntry.loadModel(url), () => browserEntry.loadModel(new URL(`${url}/`)), () => browserEntry.loadModel(files), () => loadModel({ ...files, 'fer.json': new TextDecoder().decode(files['fer.json']) })]) {
        const loaded = await load();
        expect(loaded.meta).toEqual(fromDir.meta);
        expect(Array.from((await expectNoLeak(tf, () => browserEntry.predict(loaded, faces.pixels, 2))).probabilities)).toEqual(want);
        loaded.model.dispose();
      }
      fromDir.model.dispose();
      await expect(browserEntry.loadModel(`${url}/nothing`)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/nothing\/fer\.json \(HTTP 404 Not Found\)/) });
      await expect(browserEntry.loadModel({ 'fer.json': files['fer.json'], 'model.json': files['model.json'] })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/no file named "weights\.bin"/) });
      await expect(browserEntry.loadModel('models/fer')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/no page address/) });
      await expect(browserEntry.loadModel(42 as never)).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
      const flipped = new Uint8Array(files['weights.bin']);
      flipped[flipped.length - 1] ^= 1;
      await expect(browserEntry.loadModel({ ...files, 'weights.bin': flipped })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/in-memory model files: the weights \(weights\.bin\) have sha256/) });
      const json = JSON.parse(new TextDecoder().decode(files['model.json']));
      for (const p of ['%2e%2e/weights.bin', 'https://example.com/weights.bin']) {
        json.weightsManifest[0].paths = [p];
        await expect(browserEntry.loadModel({ ...files, 'model.json': JSON.stringify(json) })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringContaining(`weights path ${JSON.stringify(p)} leaves the model folder`) });
      }
    } finally {
      server.close();
    }
  });

  it('gives clear errors for missing and corrupt files', async () => {
    await expect(loadModel(join(dir, 'nothing'))).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/fer\.json/) });
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const out = join(dir, 'corrupt');
    await saveModel(out, model, { modelName: 'paper-shallow', config: {}, classNames: seven });
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

  describe('refuses bad saved models on load (issue 13)', () => {
    it('NaN and Infinity weights, naming the weight', async () => {
      for (const [value, label] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
        const out = await savedModel(`nan-${label}`);
        const j = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
        const name = j.weightsManifest[0].weights[2].name as string;
        const bytes = await readFile(join(out, 'weights.bin'));
        const off = await offsetOf(out, name);
        new DataView(bytes.buffer, bytes.byteOffset).setFloat32(off + 4, value, true);
        await writeFile(join(out, 'weights.bin'), bytes);
        await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringContaining(`weight ${name} holds ${label} at index 1`) });
      }
    });

    it('a bit flip that keeps the weights finite (sha256 in fer.json)', async () => {
      const out = await savedModel('bitflip');
      const bytes = await readFile(join(out, 'weights.bin'));
      bytes[100] ^= 0x01;
      await writeFile(join(out, 'weights.bin'), bytes);
      await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/weights\.bin.*sha256/) });
    });

    it('weight names or shapes that do not match the topology, naming the weight and both shapes', async () => {
      const out = await savedModel('swapped');
      let gamma = '', beta = '';
      await editJson(join(out, 'model.json'), (j) => {
        const ws = j.weightsManifest[0].weights as { name: string }[];
        const g = ws.findIndex((w) => w.name.endsWith('/gamma'));
        const b = ws.findIndex((w) => w.name.endsWith('/beta'));
        [gamma, beta] = [ws[g].name, ws[b].name];
        [ws[g].name, ws[b].name] = [beta, gamma];
      });
      await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(new RegExp(`model\\.json names weight ${beta} \\(shape \\[2\\]\\) where the topology has ${gamma} \\(shape \\[2\\]\\)`)) });
      const out2 = await savedModel('reshaped');
      let name = '';
      await editJson(join(out2, 'model.json'), (j) => {
        const w = (j.weightsManifest[0].weights as { name: string; shape: number[] }[]).find((x) => x.name.endsWith('/bias') && x.shape.length === 1)!;
        name = w.name;
        w.shape = [1, w.shape[0]]; // same byte count, other shape
      });
      await expect(loadModel(out2)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(new RegExp(`weight ${name} has shape \\[1, \\d+\\] in model\\.json, the topology expects \\[\\d+\\]`)) });
    });

    it('a class-name count other than the output units (on save and on load)', async () => {
      const out = await savedModel('classes');
      await editJson(join(out, 'fer.json'), (j) => (j.classNames = ['a', 'b', 'c']));
      await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/fer\.json: got 3 class names, expected 7/) });
      const model = registry.create('paper-shallow', small, { seed: 1 });
      await expect(saveModel(join(dir, 'classes-save'), model, { modelName: 'paper-shallow', config: {}, classNames: ['a'] })).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/got 1 class names, expected 7/) });
      model.dispose();
    });

    it('weight paths in model.json that leave the model folder', async () => {
      for (const p of ['../../../../etc/hostname', '/etc/hostname', 'sub/../../weights.bin']) {
        const out = await savedModel(`traversal-${p.length}`);
        await editJson(join(out, 'model.json'), (j) => (j.weightsManifest[0].paths = [p]));
        await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringContaining(`weights path ${JSON.stringify(p)} leaves the model folder`) });
      }
    });

    it('a layer size edited in the topology is refused before anything is built (no gigabyte allocation)', async () => {
      const out = await savedModel('huge-dense');
      await editJson(join(out, 'model.json'), (j) => {
        const dense = j.modelTopology.config.layers.find((l: any) => l.class_name === 'Dense');
        dense.config.units = 150_000;
      });
      const before = tf.memory().numBytes;
      await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/layer \w+ \(Dense\) has units 150000, but its weights in the manifest have shapes \[\d+, 4\], \[4\]; refusing to build it/) });
      expect(tf.memory().numBytes).toBe(before);
      const conv = await savedModel('huge-conv');
      await editJson(join(conv, 'model.json'), (j) => {
        const c = j.modelTopology.config.layers.find((l: any) => l.class_name === 'Conv2D');
        c.config.kernel_size = [300, 300];
      });
      await expect(loadModel(conv)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/has kernel_size \[300,300\]/) });
      const input = await savedModel('huge-input');
      await editJson(join(input, 'model.json'), (j) => {
        j.modelTopology.config.layers.find((l: any) => l.class_name === 'InputLayer').config.batch_input_shape = [null, 4800, 4800, 1];
      });
      await expect(loadModel(input)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/the topology's inputs are \w+ \[4800, 4800, 1\], fer\.json expects \[48, 48, 1\]/) });
    });

    it('a manifest entry of the wrong type is E_MODEL_LOAD, not a TypeError', async () => {
      const out = await savedModel('null-weights');
      await editJson(join(out, 'model.json'), (j) => (j.weightsManifest[0].weights = null));
      await expect(loadModel(out)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/weightsManifest \[0\]\.weights is null, not a list/) });
      const out2 = await savedModel('bad-shape');
      await editJson(join(out2, 'model.json'), (j) => (j.weightsManifest[0].weights[0].shape = [-1, 'x']));
      await expect(loadModel(out2)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/not a list of non-negative integers/) });
    });

    it('the topology, manifest and size checks apply to every source (files in memory, URL), and quantized weights count their stored bytes', async () => {
      const out = await savedModel('every-source');
      const files = Object.fromEntries(await Promise.all(['fer.json', 'model.json', 'weights.bin'].map(async (f) => [f, new Uint8Array(await readFile(join(out, f)))])));
      const json = () => JSON.parse(new TextDecoder().decode(files['model.json']));
      const huge = json();
      huge.modelTopology.config.layers.find((l: any) => l.class_name === 'Dense').config.units = 150_000;
      const before = tf.memory().numBytes;
      await expect(browserEntry.loadModel({ ...files, 'model.json': JSON.stringify(huge) })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/has units 150000, but its weights in the manifest have shapes/) });
      expect(tf.memory().numBytes).toBe(before);
      const nullWeights = json();
      nullWeights.weightsManifest[0].weights = null;
      await expect(loadModel({ ...files, 'model.json': JSON.stringify(nullWeights) })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/weightsManifest \[0\]\.weights is null, not a list/) });
      await expect(browserEntry.loadModel({ ...files, 'model.json': new Uint8Array(MAX_MODEL_JSON_BYTES + 1) })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(new RegExp(`model\\.json has ${MAX_MODEL_JSON_BYTES + 1} bytes, more than the ${MAX_MODEL_JSON_BYTES} loadModel reads`)) });
      // uint8-quantized weights (1 byte a value, as @fer/face's pretrained files may be) load from every source.
      const q = json();
      const floats = new Float32Array(files['weights.bin'].slice().buffer);
      const bytes: number[] = [];
      let off = 0;
      for (const w of q.weightsManifest[0].weights) {
        const n = w.shape.reduce((a: number, b: number) => a * b, 1);
        const v = floats.subarray(off, off + n);
        off += n;
        const min = Math.min(...v), scale = (Math.max(...v) - min) / 255 || 1;
        w.quantization = { dtype: 'uint8', min, scale };
        for (const x of v) bytes.push(Math.round((x - min) / scale));
      }
      const meta = JSON.parse(new TextDecoder().decode(files['fer.json']));
      delete meta.weightsSha256;
      const quantized = { 'fer.json': JSON.stringify(meta), 'model.json': JSON.stringify(q), 'weights.bin': Uint8Array.from(bytes) };
      const qdir = join(dir, 'quantized');
      await rm(qdir, { recursive: true, force: true });
      await mkdir(qdir);
      for (const [name, body] of Object.entries(quantized)) await writeFile(join(qdir, name), body);
      for (const load of [() => loadModel(quantized), () => loadModel(qdir)]) {
        const loaded = await load();
        expect(loaded.model.countParams()).toBe(bytes.length);
        loaded.model.dispose();
      }
      await expect(loadModel({ ...quantized, 'weights.bin': Uint8Array.from(bytes).subarray(1) })).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(new RegExp(`weight files hold ${bytes.length - 1} bytes, expected ${bytes.length}`)) });
    });

    it('reads only regular files inside the model folder: no FIFO hang, no /dev/zero, no symlink out', async () => {
      const fifo = await savedModel('fifo');
      await rm(join(fifo, 'weights.bin'));
      execFileSync('mkfifo', [join(fifo, 'weights.bin')]);
      await expect(loadModel(fifo)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/weights\.bin is a FIFO \(named pipe\); expected a weights file named in model\.json, a regular file/) });
      const fifoMeta = await savedModel('fifo-meta');
      await rm(join(fifoMeta, 'fer.json'));
      execFileSync('mkfifo', [join(fifoMeta, 'fer.json')]);
      await expect(loadModel(fifoMeta)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/fer\.json is a FIFO/) });

      const zero = await savedModel('zero');
      await rm(join(zero, 'weights.bin'));
      await symlink('/dev/zero', join(zero, 'weights.bin'));
      await expect(loadModel(zero)).rejects.toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(/weights\.bin is a link that leads out of the model folder/) });

      // Another model's weights (same shapes) through a symlink: refused, and its size never shows.
      const other = await savedModel('other');
      const linked = await savedModel('linked');
      await rm(join(linked, 'weights.bin'));
      await symlink(join(other, 'weights.bin'), join(linked, 'weights.bin'));
      const err = await loadModel(linked).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringContaining('leads out of the model folder') });
      expect((err as Error).message).not.toMatch(/bytes/);
      // A link inside the folder is fine.
      const inside = await savedModel('inside');
      await rename(join(inside, 'weights.bin'), join(inside, 'real.bin'));
      await symlink('real.bin', join(inside, 'weights.bin'));
      const ok = await loadModel(inside);
      ok.model.dispose();
    });

    it('predict refuses to report NaN probabilities of an unchecked model', async () => {
      const model = registry.create('paper-shallow', small, { seed: 1 });
      const v = model.weights[0];
      tf.tidy(() => { v.write(tf.fill(v.shape as number[], NaN)); });
      await expect(predict({ model, meta: { format: 'fer-model@1', modelName: 'x', config: {}, classNames: seven, inputSize: [48, 48, 1] } }, new Uint8Array(2304), 1)).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/gave NaN for image 0/) });
      model.dispose();
    });

    it('saveModel refuses non-finite weights', async () => {
      const model = registry.create('paper-shallow', small, { seed: 1 });
      const v = model.weights[0];
      tf.tidy(() => { v.write(tf.fill(v.shape as number[], NaN)); });
      await expect(saveModel(join(dir, 'nan-save'), model, { modelName: 'paper-shallow', config: {}, classNames: seven })).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/NaN/) });
      model.dispose();
    });
  });
});
