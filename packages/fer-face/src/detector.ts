import * as tf from '@tensorflow/tfjs';
import {
  BLAZEFACE_ANCHORS, BLAZEFACE_INPUT_SIZE, BLAZEFACE_VALUES, decodeDetections, generateAnchors, nonMaxSuppression, type RawDetection,
} from './_blazeface.js';
import { letterboxRgb, readPixels, sampleSquare, toGray, LUMA, type FaceImage, type LumaName, type Pixels } from './_image.js';
import { keepInTile, tileGrid, type Tile } from './_tiling.js';
import { FerFaceError } from './errors.js';

/** A point in image pixels (continuous coordinates: pixel (0, 0) spans [0, 1) x [0, 1)). */
export interface Point {
  x: number;
  y: number;
}

/** BlazeFace's six keypoints; right and left are the person's (a frontal face's right eye is on the image's left). */
export interface FaceKeypoints {
  rightEye: Point;
  leftEye: Point;
  noseTip: Point;
  mouth: Point;
  rightEar: Point;
  leftEar: Point;
}

/** One detected face, in the pixels of the image given to `detect`. */
export interface Face {
  /** Axis-aligned box: left, top, width, height. */
  box: { x: number; y: number; width: number; height: number };
  /** Detector confidence in [0, 1]. */
  score: number;
  keypoints: FaceKeypoints;
  /** Roll of the eye line in radians (positive: the left eye, on the image's right, is lower). */
  angle: number;
}

/** Options of {@link createFaceDetector}. */
export interface FaceDetectorOptions {
  /**
   * The BlazeFace graph model: a URL of `blazeface.json` (its `blazeface.bin` beside it), a tfjs `IOHandler`, or a
   * loaded `GraphModel`. In Node, `@fer/face/node`'s `createFaceDetector` loads the files this package ships.
   */
  model?: string | tf.io.IOHandler | tf.GraphModel;
  /** Smallest detector score kept, in (0, 1). Default {@link FACE_DETECTOR_DEFAULTS}.scoreThreshold. */
  scoreThreshold?: number;
  /** Overlap above which two detections are one face (intersection over union, [0, 1]). */
  iouThreshold?: number;
  /** Most faces returned (highest scores first). */
  maxFaces?: number;
  /** 'weighted' (MediaPipe's blending, steadier boxes) or 'hard' non-max suppression. */
  nms?: 'weighted' | 'hard';
  /**
   * Zoom levels for small faces, beyond the pass over the whole picture: level k looks at overlapping tiles
   * 0.6^k x the picture's long side (never under 256 pixels), so it finds faces down to about 0.1 x the long side
   * at level 1, 0.06 x at level 2, ...; the detections of all passes are merged by non-max suppression.
   * Each level costs a few more passes of the model (level 1 on a 4:3 picture: 4 tiles). 0: one pass (fastest,
   * e.g. for live video of a face near the camera). Default {@link FACE_DETECTOR_DEFAULTS}.tileLevels.
   */
  tileLevels?: number;
  /**
   * Smallest score kept from the zoomed tiles (the larger of this and `scoreThreshold` applies), in (0, 1]. Higher
   * than `scoreThreshold` by default: each tile is one more chance for a face-like texture to pass, and at 0.7 the
   * tiles add small faces without adding false detections (README, "Small faces").
   * Default {@link FACE_DETECTOR_DEFAULTS}.tileScoreThreshold.
   */
  tileScoreThreshold?: number;
}

/** The detector's defaults (MediaPipe's for this model: IoU 0.3, weighted NMS; the score threshold and tile levels measured here: README). */
export const FACE_DETECTOR_DEFAULTS = { scoreThreshold: 0.5, iouThreshold: 0.3, maxFaces: 20, nms: 'weighted', tileLevels: 1, tileScoreThreshold: 0.7 } as const;

/** Two detections whose intersection covers more than this share of the smaller box are one face (non-max suppression). */
const CONTAIN_THRESHOLD = 0.6;

/** Options of {@link cropFaces} and {@link cropFacePixels}. */
export interface CropOptions {
  /**
   * Side of the square crop as a multiple of the eye-to-mouth distance (from the midpoint of the eyes to the
   * mouth). Default {@link CROP_DEFAULTS}.scale, measured to reproduce FER2013's framing (README, "Framing").
   */
  scale?: number;
  /**
   * Where the crop's centre sits on the face's vertical axis, from the eyes' midpoint (0) to the mouth (1).
   * Default {@link CROP_DEFAULTS}.centre, measured with `scale`.
   */
  centre?: number;
  /** Rotate the crop so the eyes are level (default true). */
  rotate?: boolean;
  /** Colour to gray: 'bt601' (default: 0.299 R + 0.587 G + 0.114 B, as @fer/data's loader), 'bt709' or 'mean'. */
  luma?: LumaName;
  /** Output side in pixels (default 48, the models' input). */
  size?: number;
}

/** The crop's defaults (README, "Framing"). */
export const CROP_DEFAULTS = { scale: 2.5, centre: 0.3, rotate: true, luma: 'bt601', size: 48 } as const;

/** A face detector (BlazeFace). Call `dispose()` to free the model. */
export interface FaceDetector {
  /** Faces in the image, highest score first. */
  detect(image: FaceImage): Promise<Face[]>;
  dispose(): void;
}

function checkKeys(where: string, opts: object, known: readonly string[]): void {
  if (typeof opts !== 'object' || opts === null) throw new FerFaceError('E_BAD_OPTION', `${where}: options are ${String(opts)}, expected an object.`);
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new FerFaceError('E_BAD_OPTION', `${where}: unknown option "${k}", expected one of ${known.join(', ')}.`);
  }
}

function checkRange(where: string, name: string, v: unknown, lo: number, hi: number, integer = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw new FerFaceError('E_BAD_OPTION', `${where}: ${name} is ${JSON.stringify(v)}, expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}].`);
  }
}

const OUTPUT_SHAPES = 'four outputs [1, 512, 1], [1, 512, 16], [1, 384, 1], [1, 384, 16] (MediaPipe BlazeFace, 256x256 input)';

/**
 * Loads BlazeFace and returns a detector. Browser: pass `{ model: URL of blazeface.json }` (serve
 * `node_modules/@fer/face/models/`); Node: use `createFaceDetector` from `@fer/face/node`, which loads the vendored files.
 * @example
 * const detector = await createFaceDetector({ model: '/models/blazeface.json' });
 * const faces = await detector.detect(ctx.getImageData(0, 0, w, h));
 */
export async function createFaceDetector(opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
  const where = 'createFaceDetector';
  checkKeys(where, opts, ['model', 'scoreThreshold', 'iouThreshold', 'maxFaces', 'nms', 'tileLevels', 'tileScoreThreshold']);
  const o = { ...FACE_DETECTOR_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  checkRange(where, 'scoreThreshold', o.scoreThreshold, 0, 1);
  checkRange(where, 'iouThreshold', o.iouThreshold, 0, 1);
  checkRange(where, 'maxFaces', o.maxFaces, 1, 10_000, true);
  checkRange(where, 'tileLevels', o.tileLevels, 0, 8, true);
  checkRange(where, 'tileScoreThreshold', o.tileScoreThreshold, 0, 1);
  if (o.nms !== 'weighted' && o.nms !== 'hard') throw new FerFaceError('E_BAD_OPTION', `${where}: nms is ${JSON.stringify(o.nms)}, expected 'weighted' or 'hard'.`);
  if (opts.model === undefined) {
    throw new FerFaceError('E_BAD_OPTION', `${where}: no model given, expected { model: URL of blazeface.json } (serve node_modules/@fer/face/models/ beside your page) or, in Node, createFaceDetector from '@fer/face/node', which loads the model this package ships.`);
  }
  let model: tf.GraphModel;
  if (opts.model instanceof tf.GraphModel) model = opts.model;
  else {
    try {
      model = await tf.loadGraphModel(opts.model);
    } catch (e) {
      throw new FerFaceError('E_BAD_MODEL', `${where}: could not load the BlazeFace model from ${typeof opts.model === 'string' ? opts.model : 'the IOHandler given'}: ${(e as Error).message}; expected a tfjs graph model (blazeface.json + blazeface.bin).`, { cause: e });
    }
  }
  const anchors = generateAnchors(BLAZEFACE_INPUT_SIZE);
  /** One pass of the model over a tile: its detections (score >= threshold), in the picture's pixels. */
  async function pass(img: Pixels, tile: Tile): Promise<RawDetection[]> {
    const { data, box: lb } = letterboxRgb(img, BLAZEFACE_INPUT_SIZE, tile);
    const outputs = tf.tidy(() => {
      const x = tf.tensor4d(data, [1, BLAZEFACE_INPUT_SIZE, BLAZEFACE_INPUT_SIZE, 3]);
      const res = model.execute(x);
      return Array.isArray(res) ? res : [res];
    });
    let logits: Float32Array, regressors: Float32Array;
    try {
      const find = (n: number, v: number) => outputs.find((t) => t.shape.length === 3 && t.shape[1] === n && t.shape[2] === v);
      const parts = [find(512, 1), find(512, 16), find(384, 1), find(384, 16)];
      if (parts.some((p) => p === undefined)) {
        throw new FerFaceError('E_BAD_MODEL', `detect: the model's outputs are ${outputs.map((t) => `[${t.shape.join(', ')}]`).join(', ')}, expected ${OUTPUT_SHAPES}. Pass the blazeface.json this package ships.`);
      }
      const [s512, r512, s384, r384] = await Promise.all(parts.map((p) => p!.data() as Promise<Float32Array>));
      logits = new Float32Array(BLAZEFACE_ANCHORS);
      logits.set(s512); logits.set(s384, 512);
      regressors = new Float32Array(BLAZEFACE_ANCHORS * BLAZEFACE_VALUES);
      regressors.set(r512); regressors.set(r384, 512 * BLAZEFACE_VALUES);
    } finally {
      tf.dispose(outputs);
    }
    const mx = (x: number) => x * lb.scale - lb.padX + tile.x, my = (y: number) => y * lb.scale - lb.padY + tile.y;
    const threshold = tile.level === 0 ? o.scoreThreshold : Math.max(o.scoreThreshold, o.tileScoreThreshold);
    return decodeDetections(logits, regressors, anchors, threshold).map((d) => ({
      box: [mx(d.box[0]), my(d.box[1]), mx(d.box[2]), my(d.box[3])],
      keypoints: d.keypoints.map(([x, y]) => [mx(x), my(y)] as [number, number]),
      score: d.score,
    }));
  }
  let disposed = false;
  return {
    async detect(image) {
      if (disposed) throw new FerFaceError('E_BAD_OPTION', 'detect: the detector was disposed, expected a live one. Create another with createFaceDetector().');
      const img = await readPixels('detect', image);
      const candidates: RawDetection[] = [];
      for (const tile of tileGrid(img.width, img.height, o.tileLevels)) {
        for (const d of await pass(img, tile)) if (keepInTile(d, tile, img.width, img.height)) candidates.push(d);
      }
      const raw = nonMaxSuppression(candidates, o.iouThreshold, o.maxFaces, o.nms, CONTAIN_THRESHOLD);
      const toImage = ([x, y]: readonly number[]): Point => ({ x, y });
      return raw.map((d) => {
        const tl = toImage(d.box), br = toImage(d.box.slice(2));
        const [rightEye, leftEye, noseTip, mouth, rightEar, leftEar] = d.keypoints.map(toImage);
        return {
          box: { x: tl.x, y: tl.y, width: br.x - tl.x, height: br.y - tl.y },
          score: d.score,
          keypoints: { rightEye, leftEye, noseTip, mouth, rightEar, leftEar },
          angle: Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x),
        };
      });
    },
    dispose() {
      if (!disposed && !(opts.model instanceof tf.GraphModel)) model.dispose();
      disposed = true;
    },
  };
}

function resolveCrop(where: string, opts: CropOptions) {
  checkKeys(where, opts, ['scale', 'centre', 'rotate', 'luma', 'size']);
  const o = { ...CROP_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<CropOptions>;
  checkRange(where, 'scale', o.scale, 0.5, 20);
  checkRange(where, 'centre', o.centre, -2, 3);
  checkRange(where, 'size', o.size, 1, 4096, true);
  if (typeof o.rotate !== 'boolean') throw new FerFaceError('E_BAD_OPTION', `${where}: rotate is ${JSON.stringify(o.rotate)}, expected true or false.`);
  if (!(o.luma in LUMA)) throw new FerFaceError('E_BAD_OPTION', `${where}: luma is ${JSON.stringify(o.luma)}, expected one of ${Object.keys(LUMA).join(', ')}.`);
  return o;
}

const finitePoint = (p: Point | undefined) => p !== undefined && Number.isFinite(p.x) && Number.isFinite(p.y);

/**
 * The aligned gray crops of `faces` in `image`, one after another (`count * size * size` bytes, 0-255, row-major):
 * exactly what `@fer/models`' `predict(loaded, pixels, count)` takes. Each crop is a square of side `scale` x the
 * eye-to-mouth distance, centred on the face's vertical axis at `centre` (0: between the eyes, 1: the mouth),
 * rotated so the eyes are level, converted to gray with `luma` and area-resampled to `size` x `size` (48).
 * The keypoints give the framing, not the box: they follow a tilted head, the box does not.
 * @example
 * const { pixels, count } = await cropFacePixels(image, await detector.detect(image));
 * const { probabilities } = await predict(loaded, pixels, count);
 */
export async function cropFacePixels(image: FaceImage, faces: readonly Face[], opts: CropOptions = {}): Promise<{ pixels: Uint8Array; count: number; size: number }> {
  const where = 'cropFaces';
  const o = resolveCrop(where, opts);
  if (!Array.isArray(faces)) throw new FerFaceError('E_BAD_INPUT', `${where}: faces is ${typeof faces}, expected the array detect() returned.`);
  const squares = faces.map((f, i) => {
    const k = f?.keypoints;
    if (!k || !finitePoint(k.rightEye) || !finitePoint(k.leftEye) || !finitePoint(k.mouth)) {
      throw new FerFaceError('E_BAD_INPUT', `${where}: faces[${i}] has keypoints ${JSON.stringify(k)}, expected finite { x, y } for rightEye, leftEye and mouth (a face from detect()).`);
    }
    const ex = (k.rightEye.x + k.leftEye.x) / 2, ey = (k.rightEye.y + k.leftEye.y) / 2;
    const em = Math.hypot(k.mouth.x - ex, k.mouth.y - ey);
    if (!(em > 0)) throw new FerFaceError('E_BAD_INPUT', `${where}: faces[${i}] has its mouth on its eyes (distance ${em}), expected a face from detect().`);
    const angle = o.rotate ? Math.atan2(k.leftEye.y - k.rightEye.y, k.leftEye.x - k.rightEye.x) : 0;
    return { cx: ex + o.centre * (k.mouth.x - ex), cy: ey + o.centre * (k.mouth.y - ey), side: o.scale * em, angle };
  });
  const pixels = new Uint8Array(faces.length * o.size * o.size);
  if (faces.length === 0) return { pixels, count: 0, size: o.size };
  const img = await readPixels(where, image);
  const gray = toGray(img, o.luma);
  squares.forEach((sq, i) => sampleSquare(gray, img.width, img.height, sq, o.size, pixels, i * o.size * o.size));
  return { pixels, count: faces.length, size: o.size };
}

/**
 * The aligned crops as one float32 tensor `[count, size, size, 1]` of 0-255 values (see {@link cropFacePixels});
 * the caller disposes it. With no faces: shape `[0, size, size, 1]`.
 */
export async function cropFaces(image: FaceImage, faces: readonly Face[], opts: CropOptions = {}): Promise<tf.Tensor4D> {
  const { pixels, count, size } = await cropFacePixels(image, faces, opts);
  return tf.tensor4d(Float32Array.from(pixels), [count, size, size, 1]);
}
