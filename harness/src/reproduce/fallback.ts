// Harness-side stand-ins for @fer/data, used only while its exports have not landed (see deps.ts).
// Small and plain; env.json and the report list which ones a run used.
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { gaussian, mulberry32 } from './rng.js';
import { CLASS_NAMES } from './spec.js';
import type { FerDatasetLike } from './deps.js';

const SPLIT_NAMES = ['Training', 'PublicTest', 'PrivateTest'] as const;

/** A seeded synthetic FER-like set: cartoon faces whose brows/eyes/mouth depend on the class. */
export function makeSyntheticFer(opts: { seed?: number; counts?: { Training: number; PublicTest: number; PrivateTest: number } } = {}): FerDatasetLike {
  const counts = opts.counts ?? { Training: 700, PublicTest: 140, PrivateTest: 140 };
  const rand = mulberry32(opts.seed ?? 2017);
  const total = counts.Training + counts.PublicTest + counts.PrivateTest;
  const W = 48;
  const pixels = new Uint8Array(total * W * W);
  const labels = new Uint8Array(total);
  const splits = new Uint8Array(total);
  let i = 0;
  SPLIT_NAMES.forEach((split, s) => {
    for (let j = 0; j < counts[split]; j++, i++) {
      const label = j % 7;
      labels[i] = label;
      splits[i] = s;
      drawFace(pixels.subarray(i * W * W, (i + 1) * W * W), label, rand);
    }
  });
  return { count: total, width: W, height: W, pixels, labels, splits, classNames: [...CLASS_NAMES], source: 'synthetic', synthetic: true, skipped: 0 };
}

// Per class: brow tilt, brow height, eye size, mouth curve, mouth open, asymmetry.
const FACE_PARAMS: readonly (readonly number[])[] = [
  [0.5, 0, 1, -0.1, 0.05, 0], // Angry
  [0.2, 0, 0.8, -0.3, 0.1, 0.6], // Disgust
  [-0.35, -2, 1.5, -0.1, 0.35, 0], // Fear
  [0, 0, 0.9, 0.7, 0.2, 0], // Happy
  [-0.5, -1, 0.9, -0.6, 0.05, 0], // Sad
  [0, -4, 1.6, 0, 0.8, 0], // Surprise
  [0, 0, 1, 0, 0.05, 0], // Neutral
];

function drawFace(img: Uint8Array, label: number, rand: () => number): void {
  const W = 48;
  const [tilt, browY, eye, curve, open, asym] = FACE_PARAMS[label];
  const cx = 24 + (rand() - 0.5) * 6;
  const cy = 25 + (rand() - 0.5) * 6;
  const scale = 0.85 + rand() * 0.3;
  const bg = 40 + rand() * 60;
  const skin = 130 + rand() * 80;
  const j = () => 0.6 + rand() * 0.8; // per-face jitter of the expression strength
  const k = j();
  const f = new Float32Array(W * W).fill(bg);
  for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) {
    const dx = (x - cx) / (16 * scale), dy = (y - cy) / (20 * scale);
    if (dx * dx + dy * dy < 1) f[y * W + x] = skin;
  }
  const dot = (px: number, py: number, r: number, v: number) => {
    for (let y = Math.floor(py - r - 1); y <= py + r + 1; y++) for (let x = Math.floor(px - r - 1); x <= px + r + 1; x++) {
      if (x < 0 || y < 0 || x >= W || y >= W) continue;
      if ((x - px) ** 2 + (y - py) ** 2 <= r * r) f[y * W + x] = v;
    }
  };
  const ey = cy - 5 * scale;
  for (const side of [-1, 1]) {
    const ex = cx + side * 6 * scale;
    dot(ex, ey, 1.6 * eye * scale, 30);
    // brow: a short line tilted towards the nose for anger, away for sadness/fear
    for (let t = -3; t <= 3; t += 0.5) {
      const bx = ex + t * scale;
      const by = ey - 4 * scale + browY * k * scale * 0.5 + tilt * k * side * t * 0.6;
      dot(bx, by, 0.8, 25);
    }
  }
  const my = cy + 8 * scale;
  for (let t = -6; t <= 6; t += 0.4) {
    const mx = cx + t * scale;
    // happy (curve > 0): centre lower than the corners, i.e. a smile
    const yy = my + curve * k * 3 * scale * (1 - (t / 6) ** 2 - 0.5) + asym * k * t * 0.3;
    dot(mx, yy, 0.9, 35);
    if (open > 0.1) dot(mx, yy + open * k * 4 * scale * (1 - (t / 6) ** 2), 0.9, 20);
  }
  for (let p = 0; p < W * W; p++) img[p] = Math.max(0, Math.min(255, Math.round(f[p] + gaussian(rand) * 14)));
}

/** Kaggle fer2013.csv (plain or .gz): emotion,pixels,Usage. */
export function loadFer2013Csv(path: string): FerDatasetLike {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const lines = buf.toString('latin1').split(/\r?\n/);
  const rows = lines.slice(1).filter((l) => l.trim().length > 0);
  const n = rows.length;
  const pixels = new Uint8Array(n * 2304);
  const labels = new Uint8Array(n);
  const splits = new Uint8Array(n);
  let skipped = 0, k = 0;
  for (const line of rows) {
    const [e, px, usage] = line.split(',');
    const s = SPLIT_NAMES.indexOf(usage?.trim() as (typeof SPLIT_NAMES)[number]);
    const vals = px?.trim().split(' ');
    if (s < 0 || !vals || vals.length !== 2304) { skipped++; continue; }
    for (let p = 0; p < 2304; p++) pixels[k * 2304 + p] = Number(vals[p]);
    labels[k] = Number(e);
    splits[k] = s;
    k++;
  }
  return { count: k, width: 48, height: 48, pixels: pixels.subarray(0, k * 2304), labels: labels.subarray(0, k), splits: splits.subarray(0, k), classNames: [...CLASS_NAMES], source: path, synthetic: false, skipped };
}

export function splitIndices(ds: FerDatasetLike, split: string): Uint32Array {
  const s = SPLIT_NAMES.indexOf(split as (typeof SPLIT_NAMES)[number]);
  const out: number[] = [];
  for (let i = 0; i < ds.count; i++) if (ds.splits[i] === s) out.push(i);
  return Uint32Array.from(out);
}
