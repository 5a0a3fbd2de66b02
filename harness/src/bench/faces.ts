// `pnpm bench faces [--score-threshold T] [--tile-levels K] [--tile-score-threshold T] [--peer human|none] [--human-mesh] [--data PATH] [--limit N] [--negatives N] [--seed S] [--model DIR] [--sizes 64,128,256] [--framing N] [--backend B]`
//
// The pasted-faces measurement of issue 27: PrivateTest faces (48x48), upscaled to several sizes, rotated a little
// and pasted at random positions into larger colour pictures with random backgrounds (all seeded), then
// detect (@fer/face) -> align and crop -> classify (@fer/models), against classifying the original 48x48 crops.
// Prints JSON lines: the detection rate, both accuracies (overall and per size), faces per second of
// detection + crop + classification, the false positives (detections that are not the pasted face), the false
// positives per picture on `--negatives N` face-free pictures (the same backgrounds, plus PrivateTest faces cut into
// 12x12 blocks and shuffled: face-like texture, no face), and (--framing N) the crop framing that best reproduces FER2013's crops
// (mean Pearson correlation of the aligned crop with the original, over a grid of scale x centre, on N faces).
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
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

interface Args { scoreThreshold?: number; tileLevels?: number; tileScoreThreshold?: number; negatives: number; peer: 'human' | 'none'; humanMesh: boolean; data?: string; limit: number; seed: number; model?: string; sizes: number[]; width: number; height: number; maxRotation: number; framing: number; backend: string }

const KNOWN = ['--score-threshold', '--tile-levels', '--tile-score-threshold', '--negatives', '--peer', '--human-mesh', '--data', '--limit', '--seed', '--model', '--sizes', '--picture', '--max-rotation', '--framing', '--backend'];

function parseArgs(argv: string[]): Args {
  const a: Args = { negatives: 100, peer: 'human', humanMesh: false, limit: 500, seed: 27, sizes: [64, 128, 256], width: 640, height: 480, maxRotation: 15, framing: 0, backend: 'auto' };
  forEachFlag(argv, (key, value) => {
    const int = (lo: number) => {
      const v = value(), x = Number(v);
      if (!Number.isInteger(x) || x < lo) throw new FerCliError('E_BAD_OPTION', `fer bench faces: ${key} is "${v}", expected an integer >= ${lo}.`);
      return x;
    };
    if (key === '--data') a.data = value();
    else if (key === '--limit') a.limit = int(1);
    else if (key === '--seed') a.seed = int(0);
    else if (key === '--tile-levels') a.tileLevels = int(0);
    else if (key === '--negatives') a.negatives = int(0);
    else if (key === '--human-mesh') a.humanMesh = true;
    else if (key === '--peer') {
      const v = value();
      if (v !== 'human' && v !== 'none') throw new FerCliError('E_BAD_OPTION', `fer bench faces: --peer is "${v}", expected human or none.`);
      a.peer = v;
    }
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
    else if (key === '--tile-score-threshold') {
      a.tileScoreThreshold = Number(value());
      if (!(a.tileScoreThreshold > 0 && a.tileScoreThreshold <= 1)) throw new FerCliError('E_BAD_OPTION', 'fer bench faces: --tile-score-threshold must be in (0, 1].');
    } else if (key === '--score-threshold') {
      a.scoreThreshold = Number(value());
      if (!(a.scoreThreshold > 0 && a.scoreThreshold < 1)) throw new FerCliError('E_BAD_OPTION', 'fer bench faces: --score-threshold must be in (0, 1).');
    }
  }, { command: 'fer bench faces', known: KNOWN });
  if (Math.max(...a.sizes) * 1.5 > Math.min(a.width, a.height)) throw new FerCliError('E_BAD_OPTION', `fer bench faces: the largest size (${Math.max(...a.sizes)}) must fit, rotated, in the ${a.width}x${a.height} picture.`);
  return a;
}

/** A seeded random background: plain, a gradient or noisy, in colour (RGBA). */
function background(W: number, H: number, rand: () => number): Uint8Array {
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
  return img;
}

/** One seeded test picture: the face upscaled to `size`, rotated by `angle`, centred at (cx, cy), on a random background. */
export function pastedPicture(face: Uint8Array, o: { width: number; height: number; size: number; angle: number; cx: number; cy: number }, rand: () => number): Uint8Array {
  const img = background(o.width, o.height, rand);
  paste(img, face, o);
  return img;
}

/** The 48x48 face with its 8x8 blocks of 6x6 pixels shuffled (seeded): a face's texture, not a face. */
export function scrambled(face: Uint8Array, rand: () => number): Uint8Array {
  const order = Array.from({ length: 64 }, (_, i) => i);
  for (let i = 63; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  const out = new Uint8Array(2304);
  order.forEach((from, to) => {
    const [fx, fy, tx, ty] = [(from % 8) * 6, Math.floor(from / 8) * 6, (to % 8) * 6, Math.floor(to / 8) * 6];
    for (let r = 0; r < 6; r++) out.set(face.subarray((fy + r) * 48 + fx, (fy + r) * 48 + fx + 6), (ty + r) * 48 + tx);
  });
  return out;
}

/** A face-free picture: a random background with `faces.length` scrambled faces (none: the bare background) pasted at the given sizes. */
export function faceFreePicture(faces: Uint8Array[], o: { width: number; height: number; sizes: number[] }, rand: () => number): Uint8Array {
  const img = background(o.width, o.height, rand);
  faces.forEach((f, i) => {
    const size = o.sizes[i % o.sizes.length], r = (size * Math.SQRT2) / 2;
    paste(img, scrambled(f, rand), { width: o.width, height: o.height, size, angle: (rand() - 0.5) * 0.5, cx: r + rand() * (o.width - 2 * r), cy: r + rand() * (o.height - 2 * r) });
  });
  return img;
}

function paste(img: Uint8Array, face: Uint8Array, o: { width: number; height: number; size: number; angle: number; cx: number; cy: number }): void {
  const { width: W, height: H } = o;
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
  const detector = await createFaceDetector({ scoreThreshold: a.scoreThreshold, tileLevels: a.tileLevels, tileScoreThreshold: a.tileScoreThreshold });
  const peer = a.peer === 'human' ? await startHumanPeer({ mesh: a.humanMesh }) : null;
  try {
    const direct = (await predict(loaded, rows.pixels, n)).labels;
    const classOf = new Map(loaded.meta.classNames.map((c, k) => [c.toLowerCase(), k]));
    // human keeps detections down to its minConfidence (0.2); `theirs05` also scores it at our scoreThreshold.
    const ours = tally(n), theirs = tally(n), theirs05 = tally(n);
    const minScore = a.scoreThreshold ?? FACE_DETECTOR_DEFAULTS.scoreThreshold;
    const atOurThreshold = <T extends { faces: { score: number }[]; labels: number[]; ms: number }>(r: T) => {
      const keep = r.faces.map((f) => f.score >= minScore);
      return { ...r, faces: r.faces.filter((_, k) => keep[k]), labels: r.labels.filter((_, k) => keep[k]) };
    };
    const sizeOf: number[] = [];
    const crops: { face: Face; img: Uint8Array; i: number }[] = [];
    /** Our pipeline on one picture: detect, crop and classify every face (as `fer predict` does). */
    const runOurs = async (image: { data: Uint8Array; width: number; height: number }) => {
      const t0 = performance.now();
      const faces = await detector.detect(image);
      const { pixels, count } = await cropFacePixels(image, faces);
      const labels = count ? Array.from((await predict(loaded, pixels, count)).labels) : [];
      return { faces, labels, ms: performance.now() - t0 };
    };
    const runTheirs = async (image: { data: Uint8Array; width: number; height: number }) => {
      if (!peer || 'unavailable' in peer) return null;
      const r = await peer.detect(image);
      // human enlarges BlazeFace's box by its detector scale about the centre; shrink it back for the same hit test.
      const faces = r.faces.map((f) => {
        const [x, y, w, h] = f.box, k = 1 / peer.info.detectorScale;
        return { score: f.score, box: { x: x + (w * (1 - k)) / 2, y: y + (h * (1 - k)) / 2, width: w * k, height: h * k } };
      });
      return { faces, labels: r.faces.map((f) => (f.emotion === null ? -1 : classOf.get(f.emotion.toLowerCase()) ?? -1)), ms: r.ms };
    };
    for (let i = 0; i < n; i++) {
      const size = a.sizes[i % a.sizes.length];
      const angle = ((rand() * 2 - 1) * a.maxRotation * Math.PI) / 180;
      const r = (size * Math.SQRT2) / 2;
      const cx = r + rand() * (a.width - 2 * r), cy = r + rand() * (a.height - 2 * r);
      const face = rows.pixels.subarray(i * 2304, (i + 1) * 2304);
      const img = pastedPicture(face, { width: a.width, height: a.height, size, angle, cx, cy }, rand);
      const image = { data: img, width: a.width, height: a.height };
      sizeOf.push(size);
      // The pasted face: a detection whose box centre is within the pasted square and whose size is plausible.
      const isHit = (b: { x: number; y: number; width: number; height: number }) => Math.hypot(b.x + b.width / 2 - cx, b.y + b.height / 2 - cy) < size / 2 && b.width > 0.3 * size && b.width < 1.5 * size;
      const mine = await runOurs(image);
      const hit = ours.add(i, mine, isHit);
      if (hit >= 0 && crops.length < a.framing) crops.push({ face: mine.faces[hit], img, i });
      const other = await runTheirs(image);
      if (other) { theirs.add(i, other, isHit); theirs05.add(i, atOurThreshold(other), isHit); }
    }
    const acc = (pred: ArrayLike<number>, keep: (i: number) => boolean) => {
      let c = 0, m = 0;
      for (let i = 0; i < n; i++) if (keep(i)) { m++; if (pred[i] === rows.labels[i]) c++; }
      return { accuracy: m ? c / m : null, count: m };
    };
    // Face-free pictures (after the faces, so adding them leaves the pasted pictures as they were): every other
    // one a bare background, the others with three scrambled faces.
    for (let j = 0; j < a.negatives; j++) {
      const parts = j % 2 === 0 ? [] : [0, 1, 2].map((k) => rows.pixels.subarray(((3 * j + k) % n) * 2304, (((3 * j + k) % n) + 1) * 2304));
      const image = { data: faceFreePicture(parts, { width: a.width, height: a.height, sizes: a.sizes }, rand), width: a.width, height: a.height };
      const kind = j % 2 === 0 ? 'background' : 'scrambledFaces';
      ours.addNegative(kind, await runOurs(image));
      const other = await runTheirs(image);
      if (other) { theirs.addNegative(kind, other); theirs05.addNegative(kind, atOurThreshold(other)); }
    }
    const line = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'faces', ...o })}\n`);
    const env = { backend: backend.backend, model: loaded.meta.modelName, modelDir, seed: a.seed, picture: `${a.width}x${a.height}`, maxRotationDeg: a.maxRotation, scoreThreshold: a.scoreThreshold ?? FACE_DETECTOR_DEFAULTS.scoreThreshold, tileLevels: a.tileLevels ?? FACE_DETECTOR_DEFAULTS.tileLevels, tileScoreThreshold: a.tileScoreThreshold ?? FACE_DETECTOR_DEFAULTS.tileScoreThreshold, crop: CROP_DEFAULTS, loadAverage: loadavg()[0] };
    const report = (pipeline: string, t: Tally, extra: object, direct: ArrayLike<number>) => {
      for (const s of [...a.sizes, 0]) {
        const keep = (i: number) => s === 0 || sizeOf[i] === s;
        const m = acc(direct, keep).count;
        const det = Array.from({ length: n }, (_, i) => i).filter((i) => keep(i) && t.found[i]).length;
        line({
          pipeline, size: s === 0 ? 'all' : s, faces: m, detectionRate: det / m,
          accuracyDirect: acc(direct, keep).accuracy, accuracyViaPhoto: acc(t.viaPhoto, keep).accuracy,
          accuracyDirectOnDetected: acc(direct, (i) => keep(i) && t.found[i]).accuracy, accuracyViaPhotoOnDetected: acc(t.viaPhoto, (i) => keep(i) && t.found[i]).accuracy,
          ...(s === 0 ? { falsePositives: t.falsePositives, falsePositivesPerPicture: t.falsePositives / n, facesPerSecond: n / (t.busy / 1000), ...extra } : {}),
        });
      }
      if (a.negatives > 0) {
        const per = (k: { pictures: number; falsePositives: number }) => ({ ...k, falsePositivesPerPicture: k.pictures ? k.falsePositives / k.pictures : null });
        const all = { pictures: a.negatives, falsePositives: t.negatives.background.falsePositives + t.negatives.scrambledFaces.falsePositives };
        line({ pipeline, faceFree: true, ...per(all), background: per(t.negatives.background), scrambledFaces: per(t.negatives.scrambledFaces), picturesPerSecond: a.negatives / (t.negativeBusy / 1000) });
      }
    };
    report('fer', ours, { env }, direct);
    if (peer && 'unavailable' in peer) line({ pipeline: 'human', unavailable: peer.unavailable });
    else if (peer) {
      const theirDirect = (await peer.classify(rows.pixels, n)).map((e) => classOf.get(e.toLowerCase()) ?? -1);
      report('human', theirs, {
        env: { ...peer.info, backend: `${peer.info.backend} (human's own tfjs in a worker thread, 1 thread)`, labels: 'human\'s angry, disgust, fear, happy, sad, surprise, neutral = FER2013\'s 0-6 by name', accuracyDirect: 'human\'s emotion model alone on the 48x48 crops (resized to its 64x64 input as human does)', loadAverage: loadavg()[0] },
      }, theirDirect);
      report(`human, score >= ${minScore}`, theirs05, {}, theirDirect);
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
    if (peer && !('unavailable' in peer)) await peer.close();
  }
}

interface Tally {
  found: boolean[];
  viaPhoto: number[];
  falsePositives: number;
  busy: number;
  negatives: Record<'background' | 'scrambledFaces', { pictures: number; falsePositives: number }>;
  negativeBusy: number;
  /** Records one pasted picture's result; returns the index of the face that is the pasted one (-1: missed). */
  add(i: number, r: { faces: { box: Box }[]; labels: number[]; ms: number }, isHit: (b: Box) => boolean): number;
  addNegative(kind: 'background' | 'scrambledFaces', r: { faces: unknown[]; ms: number }): void;
}
type Box = { x: number; y: number; width: number; height: number };

function tally(n: number): Tally {
  const t: Tally = {
    found: new Array<boolean>(n).fill(false), viaPhoto: new Array<number>(n).fill(-1), falsePositives: 0, busy: 0,
    negatives: { background: { pictures: 0, falsePositives: 0 }, scrambledFaces: { pictures: 0, falsePositives: 0 } }, negativeBusy: 0,
    add(i, r, isHit) {
      const hit = r.faces.findIndex((f) => isHit(f.box));
      t.busy += r.ms;
      t.falsePositives += r.faces.length - (hit >= 0 ? 1 : 0);
      if (hit >= 0) { t.found[i] = true; t.viaPhoto[i] = r.labels[hit]; }
      return hit;
    },
    addNegative(kind, r) {
      t.negatives[kind].pictures++;
      t.negatives[kind].falsePositives += r.faces.length;
      t.negativeBusy += r.ms;
    },
  };
  return t;
}

interface HumanFace { box: [number, number, number, number]; score: number; emotion: string | null; emotionScore: number | null }
interface HumanPeer {
  info: { version: string; backend: string; detectorScale: number; minConfidence: number; mesh: boolean };
  detect(image: { data: Uint8Array; width: number; height: number }): Promise<{ faces: HumanFace[]; ms: number }>;
  /** Human's emotion model alone on `count` 48x48 gray crops: its label for each. */
  classify(crops: Uint8Array, count: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts harness/peers/human.mjs in a worker thread; says why when @vladmandic/human cannot run. */
export async function startHumanPeer(o: { mesh?: boolean } = {}): Promise<HumanPeer | { unavailable: string }> {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../peers/human.mjs');
  const worker = new Worker(script, { workerData: { mesh: o.mesh ?? false } });
  const next = () => new Promise<Record<string, unknown>>((ok, fail) => {
    const onMessage = (m: Record<string, unknown>) => { worker.off('error', onError); ok(m); };
    const onError = (e: Error) => { worker.off('message', onMessage); fail(e); };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
  let first: Record<string, unknown>;
  try {
    first = await next();
  } catch (e) {
    await worker.terminate();
    return { unavailable: `@vladmandic/human did not start: ${(e as Error).message}` };
  }
  if (!first.ready) {
    await worker.terminate();
    return { unavailable: String(first.error ?? JSON.stringify(first)) };
  }
  return {
    info: first.ready as HumanPeer['info'],
    async detect(image) {
      const reply = next();
      worker.postMessage(image);
      const m = await reply;
      if (m.error) throw new Error(`fer bench faces: @vladmandic/human failed on a picture: ${String(m.error)}`);
      return m as unknown as { faces: HumanFace[]; ms: number };
    },
    async classify(crops, count) {
      const reply = next();
      worker.postMessage({ crops, count });
      const m = await reply;
      if (m.error) throw new Error(`fer bench faces: @vladmandic/human's emotion model failed: ${String(m.error)}`);
      return m.emotions as string[];
    },
    async close() { await worker.terminate(); },
  };
}
