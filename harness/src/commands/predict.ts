import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { defineCommand } from 'citty';
import { PNG } from 'pngjs';
import { decodeImage, IMAGE_PIXELS, toGray48 } from '@fer/data';
import { createFaceDetector, cropFacePixels, FACE_DETECTOR_DEFAULTS, type Face } from '@fer/face/node';
import { loadModel, predict, type LoadedModel } from '@fer/models';
import { annotate } from '../annotate.js';
import { startBackend } from '../backend.js';
import { FerCliError } from '../errors.js';
import { resolvePredictModel } from './_pretrained.js';

/** One face's (or, with --no-detect, one image's) top-k classes. */
export interface FacePrediction {
  /** The face's box in the picture's pixels (with --no-detect: the whole picture). */
  box: { x: number; y: number; width: number; height: number };
  /** The detector's score (null with --no-detect). */
  score: number | null;
  top: { label: string; probability: number }[];
}

/** The faces of one picture. */
export interface ImagePrediction {
  file: string;
  width: number;
  height: number;
  faces: FacePrediction[];
  /** Why the answer may be wrong (no face found, not a face crop, the model unsure). Also printed to stderr. */
  warnings: string[];
  /** With --no-detect: true when the picture does not look like a 48x48 face crop (its reasons are in `warnings`). */
  notFaceCrop?: true;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/** The files of the arguments: a file as is, a folder's .png/.jpg/.jpeg files (not recursive, sorted). */
export async function expandImageArgs(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    let isDir = false;
    try {
      isDir = (await stat(a)).isDirectory();
    } catch {
      // A missing file is reported by readImage, with its path.
    }
    if (!isDir) { out.push(a); continue; }
    const files = (await readdir(a)).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort().map((f) => join(a, f));
    if (files.length === 0) throw new FerCliError('E_USAGE', `fer predict: the folder ${a} has no .png/.jpg/.jpeg files, expected pictures in it (not in subfolders).`);
    out.push(...files);
  }
  return out;
}

/**
 * Reads and decodes a PNG or JPEG to RGBA through @fer/data's decodeImage: the pixel cap (2^25) is checked from
 * the header before anything is decoded. Unreadable, oversized or undecodable files throw E_BAD_IMAGE naming the file.
 */
export async function readImage(file: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new FerCliError('E_BAD_IMAGE', `cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a readable PNG or JPEG file. Check the path.`, { cause: e });
  }
  try {
    const img = decodeImage(buf, { name: file, hint: 'Resize it to at most 8192x4096 (faces need far fewer pixels).' });
    return { data: img.data, width: img.width, height: img.height };
  } catch (e) {
    throw new FerCliError('E_BAD_IMAGE', (e as Error).message.replace(/^\[fer-data\] /, ''), { cause: e });
  }
}

/**
 * Decodes a PNG or JPEG of any size to 48x48 gray bytes: ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B),
 * then area-averaging resize (@fer/data's toGray48, the same conversion as its image-folder loader): the
 * `--no-detect` path, for pictures that are already face crops.
 */
export async function imageToGray48(file: string): Promise<Uint8Array> {
  const img = await readImage(file);
  const out = new Uint8Array(IMAGE_PIXELS);
  toGray48({ ...img, channels: 4 }, out, 0);
  return out;
}

/**
 * Why a picture given with --no-detect does not look like a 48x48 face crop (empty when it does): the aspect ratio,
 * the size, a near-constant or mostly transparent picture.
 */
export function cropWarnings(img: { data: Uint8Array; width: number; height: number }, gray48: Uint8Array): string[] {
  const w: string[] = [];
  const { width, height, data } = img;
  const aspect = Math.max(width, height) / Math.min(width, height);
  if (aspect > 1.3) w.push(`the picture is ${width}x${height} (aspect ${aspect.toFixed(2)}:1); the models were trained on square 48x48 face crops, so it is squeezed. Crop the face to a square, or drop --no-detect to find faces.`);
  if (Math.max(width, height) > 256) w.push(`the picture is ${width}x${height}, far larger than a 48x48 face crop: it looks like a whole photo squeezed to 48x48. Drop --no-detect to find the faces in it.`);
  else if (Math.min(width, height) < 24) w.push(`the picture is ${width}x${height}, too small for a face crop (the models take 48x48).`);
  let transparent = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] < 32) transparent++;
  if (transparent > (width * height) / 2) w.push(`${((100 * transparent) / (width * height)).toFixed(0)}% of the picture is transparent (alpha < 32); transparent pixels are read by their colour values, which are usually black.`);
  const mean = gray48.reduce((s, v) => s + v, 0) / gray48.length;
  const sd = Math.sqrt(gray48.reduce((s, v) => s + (v - mean) ** 2, 0) / gray48.length);
  if (sd < 4) w.push(`the picture is nearly uniform (standard deviation ${sd.toFixed(1)} gray levels at 48x48): there is no face to read.`);
  return w;
}

/** A warning when the probabilities are close to uniform (normalized entropy >= 0.95): the model cannot tell. */
export function unsureWarning(probs: ArrayLike<number>): string | null {
  let h = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) h -= probs[i] * Math.log(probs[i]);
  const r = h / Math.log(probs.length);
  return r >= 0.95 ? `the model is unsure: its probabilities are close to uniform (entropy ${(100 * r).toFixed(0)}% of the maximum).` : null;
}

/** Options of {@link runPredict}. */
export interface PredictOptions {
  /** Saved model folder; default: the installed pretrained weights package (see `_pretrained.ts`). */
  model?: string;
  /** Files and folders. */
  files: string[];
  top?: number;
  backend?: string;
  /** Find faces with @fer/face (default true); false: each picture is one 48x48 face crop. */
  detect?: boolean;
  /** Write the pictures with boxes and labels: a .png file for one picture, a folder for several. */
  annotate?: string;
  /** The detector's smallest score (default @fer/face's). */
  scoreThreshold?: number;
  /** The detector's zoom levels for small faces (default @fer/face's). */
  tileLevels?: number;
}

function topK(probs: Float32Array, start: number, numClasses: number, classNames: readonly string[], k: number) {
  const row = Array.from(probs.subarray(start, start + numClasses)).map((p, c) => ({ label: classNames[c] ?? String(c), probability: p }));
  row.sort((a, b) => b.probability - a.probability);
  return row.slice(0, k);
}

/**
 * Runs a saved model on pictures: finds the faces (BlazeFace via @fer/face), crops each to 48x48 in FER2013's
 * framing, and returns each face's box, detector score and top-k classes. With `detect: false` each picture
 * is taken as one face crop (converted to 48x48 gray), with warnings when it does not look like one.
 */
export async function runPredict(o: PredictOptions): Promise<ImagePrediction[]> {
  const files = await expandImageArgs(o.files);
  if (files.length === 0) throw new FerCliError('E_USAGE', 'fer predict: got no images, expected one or more PNG/JPEG files or folders. Usage: fer predict photo.jpg [more.png folder/ ...] [--model DIR]');
  const k0 = o.top ?? 3;
  if (!Number.isInteger(k0) || k0 < 1) throw new FerCliError('E_BAD_OPTION', `fer predict: --top is ${o.top}, expected a positive integer (e.g. --top 3).`);
  const modelDir = await resolvePredictModel(o.model);
  await startBackend(o.backend ?? 'auto');
  const loaded: LoadedModel = await loadModel(modelDir);
  const detect = o.detect ?? true;
  const detector = detect ? await createFaceDetector({ scoreThreshold: o.scoreThreshold, tileLevels: o.tileLevels }) : null;
  try {
    const [h, w] = loaded.meta.inputSize;
    if (h !== 48 || w !== 48) throw new FerCliError('E_BAD_OPTION', `${modelDir}: the model takes ${w}x${h} images, fer predict expects a 48x48 model (it converts images to 48x48). Use a model trained at 48x48.`);
    const results: ImagePrediction[] = [];
    const pictures: { file: string; img: { data: Uint8Array; width: number; height: number }; labels: { box: FacePrediction['box']; label: string }[] }[] = [];
    for (const file of files) {
      const img = await readImage(file);
      const warnings: string[] = [];
      let pixels: Uint8Array, count: number, faces: Face[] = [];
      let notFaceCrop: string[] = [];
      if (detector) {
        faces = await detector.detect(img);
        ({ pixels, count } = await cropFacePixels(img, faces));
        if (count === 0) warnings.push(`no face found (BlazeFace, score >= ${o.scoreThreshold ?? FACE_DETECTOR_DEFAULTS.scoreThreshold}). If the picture is a face crop already, use --no-detect.`);
      } else {
        pixels = new Uint8Array(IMAGE_PIXELS);
        toGray48({ ...img, channels: 4 }, pixels, 0);
        count = 1;
        notFaceCrop = cropWarnings(img, pixels);
        warnings.push(...notFaceCrop);
      }
      const out: FacePrediction[] = [];
      if (count > 0) {
        const { probabilities, numClasses } = await predict(loaded, pixels, count);
        const k = Math.min(k0, numClasses);
        for (let i = 0; i < count; i++) {
          const unsure = unsureWarning(probabilities.subarray(i * numClasses, (i + 1) * numClasses));
          if (unsure) warnings.push(count > 1 ? `face ${i + 1}: ${unsure}` : unsure);
          out.push({
            box: detector ? faces[i].box : { x: 0, y: 0, width: img.width, height: img.height },
            score: detector ? faces[i].score : null,
            top: topK(probabilities, i * numClasses, numClasses, loaded.meta.classNames, k),
          });
        }
      }
      results.push({ file, width: img.width, height: img.height, faces: out, warnings, ...(notFaceCrop.length ? { notFaceCrop: true as const } : {}) });
      if (o.annotate) {
        pictures.push({ file, img, labels: out.map((f, i) => ({ box: f.box, label: `${out.length > 1 ? `#${i + 1} ` : ''}${f.top[0].label} ${(100 * f.top[0].probability).toFixed(0)}%` })) });
      }
    }
    if (o.annotate) await writeAnnotated(o.annotate, pictures);
    return results;
  } finally {
    detector?.dispose();
    loaded.model.dispose();
  }
}

async function writeAnnotated(target: string, pictures: { file: string; img: { data: Uint8Array; width: number; height: number }; labels: { box: FacePrediction['box']; label: string }[] }[]): Promise<void> {
  const one = pictures.length === 1 && extname(target).toLowerCase() === '.png';
  if (!one) {
    if (pictures.length === 1) throw new FerCliError('E_BAD_OPTION', `fer predict: --annotate ${target}: expected a .png file name for one picture (or a folder when there are several).`);
    await mkdir(target, { recursive: true }).catch((e) => { throw new FerCliError('E_FS', `fer predict: cannot create the folder ${target} for --annotate (${(e as NodeJS.ErrnoException).code}).`, { cause: e }); });
  }
  for (const p of pictures) {
    annotate(p.img, p.labels);
    const png = new PNG({ width: p.img.width, height: p.img.height });
    png.data.set(p.img.data);
    const path = one ? target : join(target, `${basename(p.file, extname(p.file))}.png`);
    try {
      await writeFile(path, PNG.sync.write(png));
    } catch (e) {
      throw new FerCliError('E_FS', `fer predict: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check that its folder exists and is writable.`, { cause: e });
    }
  }
}

const pct = (p: number) => `${(p * 100).toFixed(1).padStart(5)}%`;

/** The text output of fer predict. */
export function formatPredictions(results: ImagePrediction[], detect: boolean): string {
  const lines: string[] = [];
  for (const r of results) {
    if (!detect) {
      lines.push(`${r.file} (${r.width}x${r.height}, taken as one face crop: --no-detect)${r.notFaceCrop ? ': NOT a face crop (see the warnings); these expressions mean nothing' : ''}`);
      for (const t of r.faces[0]?.top ?? []) lines.push(`  ${t.label.padEnd(10)} ${pct(t.probability)}`);
      continue;
    }
    lines.push(`${r.file} (${r.width}x${r.height}): ${r.faces.length === 0 ? 'no face found' : `${r.faces.length} face${r.faces.length > 1 ? 's' : ''}`}`);
    r.faces.forEach((f, i) => {
      const b = f.box;
      lines.push(`  face ${i + 1}: box x=${Math.round(b.x)} y=${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}, detector score ${f.score?.toFixed(2)}`);
      for (const t of f.top) lines.push(`    ${t.label.padEnd(10)} ${pct(t.probability)}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

export default defineCommand({
  meta: { name: 'predict', description: 'Finds the faces in PNG/JPEG pictures of any size (BlazeFace) and gives each its top-3 expressions; --no-detect for 48x48 face crops.' },
  args: {
    'image...': { type: 'positional', description: 'PNG/JPEG files of any size, or folders of them, e.g. fer predict photo.jpg faces/', required: true },
    model: { type: 'string', description: 'saved model folder (fer train writes OUT/model); default: the installed pretrained weights package' },
    top: { type: 'string', description: 'classes to show per face', default: '3' },
    json: { type: 'boolean', description: 'print JSON', default: false },
    detect: { type: 'boolean', description: 'find faces first (--no-detect: each picture is one face crop, as FER2013\'s 48x48)', default: true },
    annotate: { type: 'string', description: 'write the picture with boxes and labels to this .png (a folder for several pictures)' },
    'score-threshold': { type: 'string', description: `smallest face-detector score (default ${FACE_DETECTOR_DEFAULTS.scoreThreshold})` },
    'tile-levels': { type: 'string', description: `zoom levels for small faces, each about 1.7x closer (default ${FACE_DETECTOR_DEFAULTS.tileLevels}; 0: one pass over the picture, fastest)` },
    backend: { type: 'string', description: 'wasm | cpu | webgpu | auto', default: 'auto' },
  },
  async run({ args }) {
    const files = (args._ as string[]).filter(Boolean);
    const st = args['score-threshold'] === undefined ? undefined : Number(args['score-threshold']);
    if (st !== undefined && !(st > 0 && st < 1)) throw new FerCliError('E_BAD_OPTION', `fer predict: --score-threshold is ${args['score-threshold']}, expected a number in (0, 1), e.g. 0.4.`);
    const tl = args['tile-levels'] === undefined ? undefined : Number(args['tile-levels']);
    if (tl !== undefined && !(Number.isInteger(tl) && tl >= 0 && tl <= 8)) throw new FerCliError('E_BAD_OPTION', `fer predict: --tile-levels is ${args['tile-levels']}, expected an integer in [0, 8], e.g. 2 for small faces in a large picture.`);
    const results = await runPredict({ model: args.model, files, top: Number(args.top), backend: args.backend, detect: args.detect, annotate: args.annotate, scoreThreshold: st, tileLevels: tl });
    process.stdout.write(args.json ? `${JSON.stringify(results, null, 2)}\n` : formatPredictions(results, args.detect));
    for (const r of results) for (const w of r.warnings) process.stderr.write(`fer predict: warning: ${r.file}: ${w}\n`);
    if (!args.detect && results.every((r) => r.notFaceCrop)) {
      throw new FerCliError('E_NOT_A_FACE_CROP', `${results.length === 1 ? `${results[0].file} does not look` : `none of the ${results.length} pictures looks`} like a 48x48 face crop (see the warnings); expected with --no-detect a roughly square face crop, 24 to 256 pixels a side, opaque and not uniform. Drop --no-detect to find the faces in a photo, or crop the face first.`);
    }
    if (args.detect && results.every((r) => r.faces.length === 0)) {
      throw new FerCliError('E_NO_FACE', `found no face in ${results.length === 1 ? results[0].file : `any of the ${results.length} pictures`} (BlazeFace, score >= ${st ?? FACE_DETECTOR_DEFAULTS.scoreThreshold}); expected a photo with a visible, roughly frontal face. For pictures that are face crops already, use --no-detect; for small faces in a large picture, try --tile-levels 2; for partly hidden faces, --score-threshold 0.4.`);
    }
  },
});
