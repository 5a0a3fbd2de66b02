import { checkKeys, checkNumber } from './_config.js';
import { gauss, mixSeed, mulberry32, shuffleInPlace } from './_rng.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { EMOTIONS, IMAGE_PIXELS, IMAGE_SIZE, SPLITS, type SplitName } from './labels.js';

/** Options of {@link makeSyntheticFer}. */
export interface SyntheticOptions {
  /** Default 1. Same seed and counts give byte-identical data. */
  seed?: number;
  /** Rows per split; a split left out keeps its default { Training: 2100, PublicTest: 350, PrivateTest: 350 }. */
  counts?: Partial<Record<SplitName, number>>;
  /** Relative class frequencies (7 numbers), default uniform. */
  classProportions?: readonly number[];
  /** Difficulty in [0, 1]: scales pose, lighting, noise and the overlap between classes. Default 0.5. */
  difficulty?: number;
}

/** Default rows per split of the synthetic set. */
export const SYNTHETIC_DEFAULT_COUNTS: Readonly<Record<SplitName, number>> = { Training: 2100, PublicTest: 350, PrivateTest: 350 };

// Per-class shape parameters (means): canonical face units, y grows downwards.
// mouth curve > 0 = corners up (smile); brow slant > 0 = inner ends raised (sad/fear), < 0 = lowered (angry).
interface ClassShape { curve: number; open: number; width: number; browUp: number; browSlant: number; eye: number; tilt: number; wrinkle: number }
const SHAPES: Record<(typeof EMOTIONS)[number], ClassShape> = {
  Angry: { curve: -0.04, open: 0.0, width: 0.22, browUp: -0.05, browSlant: -0.13, eye: 0.06, tilt: 0, wrinkle: 0.3 },
  Disgust: { curve: -0.1, open: 0.02, width: 0.26, browUp: -0.02, browSlant: -0.06, eye: 0.05, tilt: 0.09, wrinkle: 1 },
  Fear: { curve: -0.06, open: 0.07, width: 0.33, browUp: 0.06, browSlant: 0.09, eye: 0.11, tilt: 0, wrinkle: 0 },
  Happy: { curve: 0.16, open: 0.03, width: 0.36, browUp: 0.0, browSlant: 0.0, eye: 0.05, tilt: 0, wrinkle: 0 },
  Sad: { curve: -0.13, open: 0.0, width: 0.27, browUp: 0.0, browSlant: 0.1, eye: 0.065, tilt: 0, wrinkle: 0 },
  Surprise: { curve: 0.0, open: 0.15, width: 0.16, browUp: 0.11, browSlant: 0.02, eye: 0.12, tilt: 0, wrinkle: 0 },
  Neutral: { curve: 0.0, open: 0.0, width: 0.28, browUp: 0.0, browSlant: 0.0, eye: 0.08, tilt: 0, wrinkle: 0 },
};
const SD: ClassShape = { curve: 0.05, open: 0.025, width: 0.04, browUp: 0.035, browSlant: 0.045, eye: 0.018, tilt: 0.04, wrinkle: 0.3 };

/**
 * A seeded synthetic FER-like data set: 48x48 gray faces in the 7 classes, drawn procedurally
 * (face oval, eyes, brows, mouth shape differing by class; pose, scale, lighting varied; noise added).
 * A small CNN learns it well above chance in a short run, but not trivially. Marked `synthetic: true`.
 * @example
 * const ds = makeSyntheticFer({ seed: 1 });
 * ds.count // 2800; ds.source // 'synthetic'
 */
export function makeSyntheticFer(opts: SyntheticOptions = {}): FerDataset {
  checkKeys('makeSyntheticFer', opts, ['seed', 'counts', 'classProportions', 'difficulty']);
  const seed = checkNumber('makeSyntheticFer', 'seed', opts.seed ?? 1, 0, 2 ** 32 - 1, true);
  const difficulty = checkNumber('makeSyntheticFer', 'difficulty', opts.difficulty ?? 0.5, 0, 1);
  if (opts.counts) checkKeys('makeSyntheticFer counts', opts.counts, SPLITS);
  const counts = SPLITS.map((s) => checkNumber('makeSyntheticFer', `counts.${s}`, opts.counts?.[s] ?? SYNTHETIC_DEFAULT_COUNTS[s], 0, 1e7, true));
  const props = opts.classProportions ?? EMOTIONS.map(() => 1);
  if (props.length !== EMOTIONS.length || props.some((p) => !(p >= 0) || !Number.isFinite(p)) || props.every((p) => p === 0)) {
    throw new FerDataError('E_BAD_OPTION', `makeSyntheticFer: classProportions is ${JSON.stringify(props)}, expected ${EMOTIONS.length} non-negative numbers, not all 0.`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) throw new FerDataError('E_BAD_OPTION', 'makeSyntheticFer: counts are all 0, expected at least one row.');
  const pixels = new Uint8Array(total * IMAGE_PIXELS);
  const labels = new Uint8Array(total);
  const splits = new Uint8Array(total);
  let row = 0;
  for (let s = 0; s < SPLITS.length; s++) {
    const n = counts[s];
    const lab = classSequence(n, props, mixSeed(seed, s, 1));
    for (let j = 0; j < n; j++, row++) {
      labels[row] = lab[j];
      splits[row] = s;
      drawFace(pixels, row * IMAGE_PIXELS, lab[j], mulberry32(mixSeed(seed, s, j + 2)), difficulty);
    }
  }
  return { count: total, width: IMAGE_SIZE, height: IMAGE_SIZE, pixels, labels, splits, classNames: EMOTIONS, source: 'synthetic', synthetic: true, skipped: 0 };
}

// --- Internal helpers ---

/** 4096 standard-normal quantiles: one table lookup per noisy pixel instead of Box-Muller. */
const NOISE = (() => {
  const t = new Float32Array(4096);
  const g = mulberry32(12345);
  for (let i = 0; i < t.length; i++) t[i] = gauss(g);
  return t;
})();

/** Exact class quotas by largest remainder, then a seeded shuffle. */
function classSequence(n: number, props: readonly number[], seed: number): number[] {
  const sum = props.reduce((a, b) => a + b, 0);
  const quota = props.map((p) => (n * p) / sum);
  const base = quota.map(Math.floor);
  let left = n - base.reduce((a, b) => a + b, 0);
  const order = quota.map((q, i) => [q - Math.floor(q), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) if (left-- > 0) base[i]++;
  const seq: number[] = [];
  base.forEach((k, c) => { for (let j = 0; j < k; j++) seq.push(c); });
  shuffleInPlace(seq, mulberry32(seed));
  return seq;
}

function drawFace(out: Uint8Array, off: number, label: number, r: () => number, difficulty: number): void {
  const m = SHAPES[EMOTIONS[label]];
  const spread = 0.6 + 0.8 * difficulty; // class overlap grows with difficulty
  const p = (k: keyof ClassShape) => m[k] + SD[k] * spread * gauss(r);
  const curve = p('curve'), open = Math.max(0, p('open')), width = Math.max(0.1, p('width'));
  const browUp = p('browUp'), browSlant = p('browSlant'), eye = Math.max(0.015, p('eye'));
  const tilt = p('tilt') * (r() < 0.5 ? -1 : 1), wrinkle = p('wrinkle');
  // Pose and lighting.
  const d = difficulty;
  const scale = 19 * (1 + (r() * 2 - 1) * (0.04 + 0.12 * d));
  const cx = 23.5 + (r() * 2 - 1) * (0.5 + 3 * d), cy = 24.5 + (r() * 2 - 1) * (0.5 + 3 * d);
  const rot = (r() * 2 - 1) * (0.03 + 0.22 * d);
  const yaw = (r() * 2 - 1) * 0.15 * d; // shifts the features sideways inside the oval
  const cosr = Math.cos(rot), sinr = Math.sin(rot);
  const bg0 = 30 + r() * 190, bgGrad = (r() * 2 - 1) * 60;
  const skin = 110 + r() * 110, light = (r() * 2 - 1) * (20 + 40 * d);
  const ink = 0.45 + r() * 0.35; // how dark features are relative to skin
  const noise = 4 + r() * (6 + 16 * d);
  const hair = r() < 0.5 ? 0.25 + r() * 0.25 : 2; // hairline height (2 = none)
  const px = 1 / scale; // one pixel in face units
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const dx = (x - cx) * px, dy = (y - cy) * px;
      const u = cosr * dx + sinr * dy, v = -sinr * dx + cosr * dy;
      let val = bg0 + bgGrad * (x / IMAGE_SIZE - 0.5);
      const fa = u * (1 / 0.74), fb = (v - 0.05) * (1 / 0.95);
      const fe = fa * fa + fb * fb;
      const faceA = fe < 0.85 ? 1 : fe > 1.25 ? 0 : soft(1 - Math.sqrt(fe), px);
      if (faceA > 0) {
        let f = skin + light * u - 25 * fe;
        const fu = u - yaw;
        let dark = 0;
        // Eyes: ellipses, openness by class, with a pupil.
        const nearEye = Math.abs(v + 0.18) < eye * 1.3;
        // NOTE: eyes and brows never cross the midline, so only the feature on this pixel's side is drawn.
        {
          const side = fu < 0 ? -1 : 1;
          const ex = (fu - side * 0.3) / 0.13, ey = (v + 0.18) / eye;
          const e = ex * ex + ey * ey;
          if (nearEye && e < 1.6) dark = Math.max(dark, 0.9 * soft(1 - Math.sqrt(e), px / eye));
          // Brows: segment from inner (|u|=0.1) to outer (|u|=0.48); inner end moved by browSlant.
          const t = (side * fu - 0.1) / 0.38;
          if (v < -0.25 && t > -0.1 && t < 1.1) {
            const tc = Math.min(1, Math.max(0, t));
            const by = -0.42 - browUp - browSlant * (1 - tc) - eye * 0.6;
            dark = Math.max(dark, 0.8 * soft(0.045 - Math.abs(v - by), px));
          }
        }
        // Nose: a soft vertical shadow; disgust wrinkles across the bridge.
        dark = Math.max(dark, 0.25 * soft(0.03 - Math.abs(fu - 0.04), px) * (v > -0.1 && v < 0.2 ? 1 : 0));
        if (wrinkle > 0.3 && Math.abs(fu) < 0.16) {
          for (let k = 0; k < 2; k++) dark = Math.max(dark, 0.5 * Math.min(1, wrinkle) * soft(0.018 - Math.abs(v + 0.05 - 0.07 * k), px));
        }
        // Mouth: a curve y(u) = my - curve * (1 - (u/w)^2) ... corners up when curve > 0, opened by `open`.
        const mu = fu / width;
        if (v > 0.15 && Math.abs(mu) < 1.15) {
          const q = Math.min(1, mu * mu);
          const my = 0.48 + tilt * mu - curve * (q - 0.5);
          const half = open * Math.sqrt(Math.max(0, 1 - q));
          const dist = Math.abs(v - my) - half;
          const lip = soft(0.035 - dist, px) * soft(1.0 - Math.abs(mu), px / width);
          dark = Math.max(dark, (half > 0.01 && dist < 0 ? 1 : 0.85) * lip);
        }
        f = f * (1 - ink * dark);
        if (v < -0.95 + hair) f = f * 0.45; // hair
        val = val * (1 - faceA) + f * faceA;
      }
      val += noise * NOISE[(r() * 4096) | 0];
      out[off + y * IMAGE_SIZE + x] = val < 0 ? 0 : val > 255 ? 255 : Math.round(val);
    }
  }
}

/** Anti-aliased inside test: 1 well inside, 0 outside, linear over about one pixel. */
function soft(signedDist: number, px: number): number {
  const a = signedDist / px + 0.5;
  return a <= 0 ? 0 : a >= 1 ? 1 : a;
}
