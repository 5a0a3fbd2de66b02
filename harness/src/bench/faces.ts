// `pnpm bench faces [--score-threshold T] [--data PATH] [--limit N] [--seed S] [--model DIR] [--sizes 64,128,256] [--framing N] [--backend B]`
//
// The pasted-faces measurement of issue 27: PrivateTest faces (48x48), upscaled to several sizes, rotated a little
// and pasted at random positions into larger colour pictures with random backgrounds (all seeded), then
// detect (@fer/face) -> align and crop -> classify (@fer/models), against classifying the original 48x48 crops.
// Prints JSON lines: the detection rate, both accuracies (overall and per size), faces per second of
// detection + crop + classification, the false positives (detections that are not the pasted face), and (--framing N) the crop framing that best reproduces FER2013's crops
// (mean Pearson correlation of the aligned crop with the original, over a grid of scale x centre, on N faces).
import { loadDataset, splitIndices } from '@fer/data';
import { createFaceDetector, cropFacePixels, CROP_DEFAULTS, FACE_DETECTOR_DEFAULTS, type Face } from '@fer/face/node';
import { loadModel, predict } from '@fer/models';
import { startBackend } from '../backend.js';
import { resolvePredictModel } from '../commands/_pretrained.js';
import { dataPath } from '../data.js';
import { FerCliError } from '../errors.js';
import { forEachFlag } from '../flags.js';
import { gather } from '../job/prepare.js';
import { mulberry32 } from '../rng.js';

interface Args { scoreThreshold?: number; data?: string; limit: number; seed: number; model?: string; sizes: number[]; width: number; height: number; maxRotation: number; framing: number; backend: string }

const KNOWN = ['--score-threshold', '--data', '--limit', '--seed', '--model', '--sizes', '--picture', '--max-rotation', '--framing', '--backend'];

function parseArgs(argv: string[]): Args {
  const a: Args = { limit: 500, seed: 27, sizes: [64, 128, 256], width: 640, height: 480, maxRotation: 15, framing: 0, backend: 'auto' };
  forEachFlag(argv, (key, value) => {
    const int = (lo: number) => {
      const v = value(), x = Number(v);
      if (!Number.isInteger(x) || x < lo) throw new FerCliError('E_BAD_OPTION', `fer bench faces: ${key} is "${v}", expected an integer >= ${lo}.`);
      return x;
    };
    if (key === '--data') a.data = value();
    else if (key === '--limit') a.limit = int(1);
    else if (key === '--seed') a.seed = int(0);
    else if (key === '--model') a.model = value();
    else if (key === '--sizes') {
      a.sizes = value().split(',').map(Number);
      if (a.sizes.some((s) => !Number.isInteger(s) || s < 24 || s > 2000)) throw new FerCliError('E_BAD_OPTION', `fer bench faces: --sizes must be integers in [24, 2000], e.g. 64,128,256.`);
    } else if (key === '--picture') {
      const m = /^(\d+)x(\d+)$/.exec(value());
      if (!m) throw new FerCliError('E_BAD_OPTION', 'fer bench faces: --picture is WIDTHxHEIGHT, e.g. 640x480.');
      [a.width, a.height] = [Number(m[1]), Number(m[2])];
    } else if (key === '--max-rotation') a.maxRotation = int(0);
    else if (key === '--framing') a.framing = int(0);
    else if (key === '--backend') a.backend = value();
    else if (key === '--score-threshold') {
      a.scoreThreshold = Number(value());
      if (!(a.scoreThreshold > 0 && a.scoreThreshold < 1)) throw new FerCliError('E_BAD_OPTION', 'fer bench faces: --score-threshold must be in (0, 1).');
    }
  }, { command: 'fer bench faces', known: KNOWN });
  if (Math.max(...a.sizes) * 1.5 > Math.min(a.width, a.height)) throw new FerCliError('E_BAD_OPTION', `fer bench faces: the largest size (${Math.max(...a.sizes)}) must fit, rotated, in the ${a.width}x${a.height} picture.`);
  return a;
}

/** One seeded test picture: the face upscaled to `size`, rotated by `angle`, centred at (cx, cy), on a random background. */
export function pastedPicture(face: Uint8Array, o: { width: number; height: number; size: number; angle: number; cx: number; cy: number }, rand: () => number): Uint8Array {
  const { width: W, height: H } = o;
  const img = new Uint8Array(W * H * 4);
  const kind = Math.floor(rand() * 3);
  const c0 = [rand() * 255, rand() * 255, rand() * 255], c1 = [rand() * 255, rand() * 255, rand() * 255];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = (y * W + x) * 4;
      const t = kind === 1 ? x / W : y / H;
      for (let c = 0; c < 3; c++) {
        const v = kind === 0 ? c0[c] : kind === 1 ? c0[c] + (c1[c] - c0[c]) * t : c0[c] + (rand() - 0.5) * 60;
        img[p + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      img[p + 3] = 255;
    }
  }
  // Inverse-map each picture pixel in the pasted square's bounding box into the 48x48 face (bilinear).
  const cos = Math.cos(o.angle), sin = Math.sin(o.angle), half = (o.size * Math.SQRT2) / 2 + 2;
  const k = 48 / o.size;
  for (let y = Math.max(0, Math.floor(o.cy - half)); y < Math.min(H, Math.ceil(o.cy + half)); y++) {
    for (let x = Math.max(0, Math.floor(o.cx - half)); x < Math.min(W, Math.ceil(o.cx + half)); x++) {
      const dx = x + 0.5 - o.cx, dy = y + 0.5 - o.cy;
      // Face coordinates (rotated by -angle), in 48x48 pixels.
      const u = (cos * dx + sin * dy) * k + 24 - 0.5, v = (-sin * dx + cos * dy) * k + 24 - 0.5;
      if (u < -0.5 || v < -0.5 || u > 47.5 || v > 47.5) continue;
      const uc = Math.min(47, Math.max(0, u)), vc = Math.min(47, Math.max(0, v));
      const u0 = Math.floor(uc), v0 = Math.floor(vc), u1 = Math.min(47, u0 + 1), v1 = Math.min(47, v0 + 1), fu = uc - u0, fv = vc - v0;
      const g = (face[v0 * 48 + u0] * (1 - fu) + face[v0 * 48 + u1] * fu) * (1 - fv) + (face[v1 * 48 + u0] * (1 - fu) + face[v1 * 48 + u1] * fu) * fv;
      const p = (y * W + x) * 4;
      img[p] = img[p + 1] = img[p + 2] = Math.round(g);
    }
  }
  return img;
}

function corr(a: Uint8Array, b: Uint8Array, offA = 0): number {
  const n = 2304;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[offA + i]; mb += b[i]; }
  ma /= n; mb /= n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[offA + i] - ma, y = b[i] - mb;
    ab += x * y; aa += x * x; bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const path = dataPath(a.data);
  if (!path) throw new FerCliError('E_USAGE', 'fer bench faces: needs FER2013 (--data PATH or FER2013_PATH): it pastes PrivateTest faces.');
  const modelDir = await resolvePredictModel(a.model);
  const backend = await startBackend(a.backend);
  const ds = await loadDataset(path);
  const all = splitIndices(ds, 'PrivateTest');
  // A seeded sample of PrivateTest rows.
  const rand = mulberry32(a.seed);
  const order = Array.from(all);
  for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  const rows = gather(ds, order.slice(0, Math.min(a.limit, order.length)));
  const n = rows.labels.length;
  const loaded = await loadModel(modelDir);
  const detector = await createFaceDetector(a.scoreThreshold === undefined ? {} : { scoreThreshold: a.scoreThreshold });
  try {
    const direct = (await predict(loaded, rows.pixels, n)).labels;
    const sizeOf: number[] = [], found: boolean[] = [], viaPhoto: number[] = [];
    let falsePositives = 0;
    const crops: { face: Face; img: Uint8Array; i: number }[] = [];
    let busy = 0;
    for (let i = 0; i < n; i++) {
      const size = a.sizes[i % a.sizes.length];
      const angle = ((rand() * 2 - 1) * a.maxRotation * Math.PI) / 180;
      const r = (size * Math.SQRT2) / 2;
      const cx = r + rand() * (a.width - 2 * r), cy = r + rand() * (a.height - 2 * r);
      const face = rows.pixels.subarray(i * 2304, (i + 1) * 2304);
      const img = pastedPicture(face, { width: a.width, height: a.height, size, angle, cx, cy }, rand);
      const image = { data: img, width: a.width, height: a.height };
      const t0 = performance.now();
      const faces = await detector.detect(image);
      // The pasted face: a detection whose box centre is within the pasted square and whose size is plausible.
      const hit = faces.find((f) => Math.hypot(f.box.x + f.box.width / 2 - cx, f.box.y + f.box.height / 2 - cy) < size / 2 && f.box.width > 0.3 * size && f.box.width < 1.5 * size);
      falsePositives += faces.filter((f) => f !== hit).length;
      let label = -1;
      if (hit) {
        const { pixels } = await cropFacePixels(image, [hit]);
        label = (await predict(loaded, pixels, 1)).labels[0];
        if (crops.length < a.framing) crops.push({ face: hit, img, i });
      }
      busy += performance.now() - t0;
      sizeOf.push(size); found.push(Boolean(hit)); viaPhoto.push(label);
    }
    const acc = (pred: ArrayLike<number>, keep: (i: number) => boolean) => {
      let c = 0, m = 0;
      for (let i = 0; i < n; i++) if (keep(i)) { m++; if (pred[i] === rows.labels[i]) c++; }
      return { accuracy: m ? c / m : null, count: m };
    };
    const line = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'faces', ...o })}\n`);
    const env = { backend: backend.backend, model: loaded.meta.modelName, modelDir, seed: a.seed, picture: `${a.width}x${a.height}`, maxRotationDeg: a.maxRotation, scoreThreshold: a.scoreThreshold ?? FACE_DETECTOR_DEFAULTS.scoreThreshold, crop: CROP_DEFAULTS };
    for (const s of [...a.sizes, 0]) {
      const keep = (i: number) => s === 0 || sizeOf[i] === s;
      const m = acc(direct, keep).count;
      const det = Array.from({ length: n }, (_, i) => i).filter((i) => keep(i) && found[i]).length;
      line({
        size: s === 0 ? 'all' : s, faces: m, detectionRate: det / m,
        accuracyDirect: acc(direct, keep).accuracy, accuracyViaPhoto: acc(viaPhoto, keep).accuracy,
        accuracyDirectOnDetected: acc(direct, (i) => keep(i) && found[i]).accuracy, accuracyViaPhotoOnDetected: acc(viaPhoto, (i) => keep(i) && found[i]).accuracy,
        ...(s === 0 ? { falsePositives, facesPerSecond: n / (busy / 1000), env } : {}),
      });
    }
    if (a.framing > 0) {
      const scales = [1.8, 2.0, 2.2, 2.25, 2.4, 2.5, 2.6, 2.7, 2.8, 3.0, 3.2], centres = [-0.1, 0, 0.1, 0.2, 0.3, 0.4, 0.5];
      const grid: { scale: number; centre: number; meanCorrelation: number }[] = [];
      for (const scale of scales) {
        for (const centre of centres) {
          let sum = 0;
          for (const c of crops) {
            const { pixels } = await cropFacePixels({ data: c.img, width: a.width, height: a.height }, [c.face], { scale, centre });
            sum += corr(pixels, rows.pixels.subarray(c.i * 2304, (c.i + 1) * 2304));
          }
          grid.push({ scale, centre, meanCorrelation: sum / crops.length });
        }
      }
      grid.sort((x, y) => y.meanCorrelation - x.meanCorrelation);
      line({ framing: true, faces: crops.length, best: grid[0], top5: grid.slice(0, 5), defaults: grid.find((g) => g.scale === CROP_DEFAULTS.scale && g.centre === CROP_DEFAULTS.centre) });
    }
  } finally {
    detector.dispose();
    loaded.model.dispose();
  }
}
