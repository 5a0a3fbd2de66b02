// Picture figures that need the network: activation maps, first-layer filters, DeepDream.
import * as tf from '@tensorflow/tfjs';
import { gaussian, mulberry32 } from '../rng.js';
import { grayTile, grid, type Raster } from './png.js';

const SIDE = 48;
const PX = SIDE * SIDE;
const CONV = new Set(['Conv2D', 'SeparableConv2D', 'DepthwiseConv2D']);
const ACT = new Set(['ReLU', 'Activation', 'LeakyReLU', 'ELU']);

/**
 * The layers whose outputs the activation-map figure shows: the first conv layer and one about
 * two thirds deep, each taken after its activation (ReLU) when there is one.
 */
export function pickActivationLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = model.layers;
  const convIdx = layers.map((l, i) => (CONV.has(l.getClassName()) ? i : -1)).filter((i) => i >= 0);
  if (convIdx.length === 0) return [];
  const chosen = [...new Set([convIdx[0], convIdx[Math.min(convIdx.length - 1, Math.floor((convIdx.length * 2) / 3))]])];
  return chosen.map((i) => {
    for (let j = i + 1; j < layers.length && j < i + 4; j++) {
      const name = layers[j].getClassName();
      if (CONV.has(name) || name === 'MaxPooling2D') break;
      if (ACT.has(name)) return layers[j];
    }
    return layers[i];
  });
}

/**
 * One picture per chosen layer: a row per sample face, the face then its `maps` most varied
 * feature maps (viridis colour map, each map scaled to its own range).
 * The forward pass runs before the first `await`, so the maps show the weights at call time even
 * when training goes on while the tensors are read (reads are asynchronous: WebGPU in Node has no
 * synchronous read).
 */
export async function activationTiles(model: tf.LayersModel, x: Float32Array, raw: Uint8Array, count: number, maps = 8): Promise<{ layer: string; raster: Raster }[]> {
  const layers = pickActivationLayers(model);
  if (layers.length === 0 || model.inputs.length !== 1) return [];
  const sub = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.output as tf.SymbolicTensor) });
  const outs = tf.tidy(() => {
    const r = sub.predict(tf.tensor4d(x, [count, SIDE, SIDE, 1]));
    return Array.isArray(r) ? r : [r];
  });
  let values: Float32Array[];
  try {
    values = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    outs.forEach((t) => t.dispose());
  }
  return layers.map((layer, li) => {
    const [n, h, w, c] = outs[li].shape as number[];
    const data = values[li];
    const variance = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      let s = 0, sq = 0;
      for (let i = 0; i < n * h * w; i++) { const v = data[i * c + ch]; s += v; sq += v * v; }
      const m = s / (n * h * w);
      variance[ch] = sq / (n * h * w) - m * m;
    }
    const top = [...variance.keys()].sort((a, b) => variance[b] - variance[a]).slice(0, maps);
    const up = Math.max(2, Math.round(96 / h));
    const rows: Raster[][] = [];
    for (let s = 0; s < n; s++) {
      const row: Raster[] = [grayTile(raw.subarray(s * PX, (s + 1) * PX), SIDE, SIDE, 2)];
      for (const ch of top) {
        const m = new Float32Array(h * w);
        for (let p = 0; p < h * w; p++) m[p] = data[(s * h * w + p) * c + ch];
        row.push(grayTile(m, w, h, up, true));
      }
      rows.push(row);
    }
    return { layer: layer.name, raster: grid(rows, 2) };
  });
}

/** The first conv layer's kernels, one tile each (own min..max), upscaled, 8 per row. */
export async function filterTiles(model: tf.LayersModel): Promise<{ layer: string; count: number; raster: Raster } | undefined> {
  const conv = model.layers.find((l) => l.getClassName() === 'Conv2D');
  if (!conv) return undefined;
  const kernel = conv.getWeights()[0];
  const [kh, kw, cin, cout] = kernel.shape as number[];
  const data = await kernel.data();
  // ~96 px per kernel, in a near-square grid (at most 8 wide), so even 8 kernels (smoke) make a readable picture.
  const up = Math.max(8, Math.round(96 / kh));
  const tiles: Raster[] = [];
  for (let o = 0; o < cout; o++) {
    const k = new Float32Array(kh * kw);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      let v = 0;
      for (let ci = 0; ci < cin; ci++) v += data[((y * kw + x) * cin + ci) * cout + o];
      k[y * kw + x] = v;
    }
    tiles.push(grayTile(k, kw, kh, up));
  }
  const rows: Raster[][] = [];
  const cols = Math.min(8, Math.ceil(Math.sqrt(tiles.length)));
  for (let i = 0; i < tiles.length; i += cols) rows.push(tiles.slice(i, i + cols));
  return { layer: conv.name, count: cout, raster: grid(rows, 6) };
}

/** Class scores before the softmax when the head allows it, else log-probabilities. */
function classScore(model: tf.LayersModel): (x: tf.Tensor4D) => tf.Tensor2D {
  const last = model.layers[model.layers.length - 1];
  const cfg = last.getConfig() as { activation?: string };
  if (last.getClassName() === 'Dense' && cfg.activation === 'softmax') {
    const sub = tf.model({ inputs: model.inputs, outputs: last.input as tf.SymbolicTensor });
    const [kernel, bias] = last.getWeights();
    return (x) => tf.add(tf.matMul(sub.apply(x) as tf.Tensor2D, kernel), bias) as tf.Tensor2D;
  }
  if (last.getClassName() === 'Activation' && cfg.activation === 'softmax') {
    const sub = tf.model({ inputs: model.inputs, outputs: last.input as tf.SymbolicTensor });
    return (x) => sub.apply(x) as tf.Tensor2D;
  }
  return (x) => tf.log(tf.add(model.apply(x) as tf.Tensor2D, 1e-7)) as tf.Tensor2D;
}

/**
 * DeepDream / class visualisation: gradient ascent on the input to raise one class score, with
 * random jitter (shift, then shift back) and a 3x3 blur every few steps. Seeded; returns the
 * image in the network's normalized space.
 */
export async function deepDream(model: tf.LayersModel, cls: number, o: { steps: number; stepSize: number; jitter: number; blurEvery: number; seed: number }): Promise<Float32Array> {
  const score = classScore(model);
  const rand = mulberry32(o.seed * 31 + cls);
  let img = tf.tensor4d(Float32Array.from({ length: PX }, () => gaussian(rand) * 0.1), [1, SIDE, SIDE, 1]);
  const blurK = tf.tensor4d([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16), [3, 3, 1, 1]);
  const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.slice(score(x as tf.Tensor4D), [0, cls], [1, 1])));
  for (let step = 1; step <= o.steps; step++) {
    const dx = Math.round((rand() * 2 - 1) * o.jitter);
    const dy = Math.round((rand() * 2 - 1) * o.jitter);
    const next = tf.tidy(() => {
      const shifted = roll(img, dy, dx);
      let g = roll(grad(shifted) as tf.Tensor4D, -dy, -dx);
      g = tf.div(g, tf.add(tf.mean(tf.abs(g)), 1e-8));
      let y = tf.add(img, tf.mul(g, o.stepSize)) as tf.Tensor4D;
      if (o.blurEvery > 0 && step % o.blurEvery === 0) y = tf.conv2d(y, blurK, 1, 'same');
      return tf.clipByValue(y, -3, 3) as tf.Tensor4D;
    });
    img.dispose();
    img = next;
  }
  const out = (await img.data()) as Float32Array;
  img.dispose();
  blurK.dispose();
  return Float32Array.from(out);
}

function roll(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  let y = x;
  const sy = ((dy % SIDE) + SIDE) % SIDE, sx = ((dx % SIDE) + SIDE) % SIDE;
  if (sy) y = tf.concat([tf.slice(y, [0, SIDE - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, SIDE - sy, -1, -1])], 1);
  if (sx) y = tf.concat([tf.slice(y, [0, 0, SIDE - sx, 0], [-1, -1, sx, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, SIDE - sx, -1])], 2);
  return y;
}
