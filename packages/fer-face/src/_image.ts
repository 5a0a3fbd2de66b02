// Image plumbing in plain JS (no tensors, so it is the same on every backend): input checks, letterboxed
// resampling for the detector, gray conversion and the rotated, supersampled 48x48 crop.
import type * as tf from '@tensorflow/tfjs';
import { FerFaceError } from './errors.js';

/** Decoded pixels, row-major, interleaved channels: RGBA by default (a canvas `ImageData`), or RGB / gray. */
export interface PixelImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 4 (RGBA, default), 3 (RGB) or 1 (gray). */
  channels?: 1 | 3 | 4;
}

/** What `detect` and `cropFaces` take: decoded pixels, or a tfjs tensor `[height, width, 1|3|4]` (or `[1, h, w, c]`) of 0-255 values. */
export type FaceImage = PixelImage | tf.Tensor;

/** The image as plain numbers. */
export interface Pixels {
  data: ArrayLike<number>;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

const isTensor = (x: unknown): x is tf.Tensor =>
  typeof x === 'object' && x !== null && Array.isArray((x as tf.Tensor).shape) && typeof (x as tf.Tensor).dataSync === 'function';

function checkSize(where: string, width: number, height: number, channels: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new FerFaceError('E_BAD_IMAGE', `${where}: the image is ${width}x${height}, expected a positive integer width and height.`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new FerFaceError('E_BAD_IMAGE', `${where}: the image has ${channels} channels, expected 1 (gray), 3 (RGB) or 4 (RGBA).`);
  }
}

/** Reads an image argument into plain numbers (a tensor asynchronously, so WebGPU in Node works). */
export async function readPixels(where: string, image: FaceImage): Promise<Pixels> {
  if (isTensor(image)) {
    if (image.isDisposed) throw new FerFaceError('E_BAD_IMAGE', `${where}: the image tensor is disposed, expected a live tensor [height, width, channels].`);
    let shape = image.shape;
    if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
    if (shape.length !== 3) {
      throw new FerFaceError('E_BAD_IMAGE', `${where}: got a tensor of shape [${image.shape.join(', ')}], expected [height, width, channels] (or [1, height, width, channels]) with channels 1, 3 or 4.`);
    }
    const [height, width, channels] = shape;
    checkSize(where, width, height, channels);
    const data = await image.data();
    return { data: data as ArrayLike<number>, width, height, channels: channels as 1 | 3 | 4 };
  }
  if (typeof image !== 'object' || image === null || !('data' in image)) {
    throw new FerFaceError('E_BAD_IMAGE', `${where}: got ${image === null ? 'null' : typeof image}, expected a tfjs tensor [height, width, channels] or { data: Uint8Array | Uint8ClampedArray, width, height, channels? } (RGBA by default, as a canvas ImageData).`);
  }
  const { data, width, height } = image;
  const channels = image.channels ?? 4;
  checkSize(where, width, height, channels);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new FerFaceError('E_BAD_IMAGE', `${where}: data is ${Object.prototype.toString.call(data)}, expected a Uint8Array or Uint8ClampedArray of 0-255 values.`);
  }
  if (data.length !== width * height * channels) {
    throw new FerFaceError('E_BAD_IMAGE', `${where}: data has ${data.length} bytes, expected ${width * height * channels} for ${width}x${height} with ${channels} channel(s). Pass channels: 3 for RGB or 1 for gray (the default is 4, RGBA).`);
  }
  return { data, width, height, channels };
}

/** Per output index: the source indices and weights along one axis. */
type AxisWeights = { idx: Int32Array; w: Float32Array; start: Int32Array };

/**
 * Output pixel `o` covers source coordinates `[o * scale - offset, (o + 1) * scale - offset)`. Shrinking
 * (`scale >= 1`): area average; enlarging: bilinear at the centre. Source outside `[0, src)` counts as black (0).
 */
function axisWeights(src: number, out: number, scale: number, offset: number): AxisWeights {
  const idx: number[] = [], w: number[] = [], start = new Int32Array(out + 1);
  for (let o = 0; o < out; o++) {
    start[o] = idx.length;
    if (scale >= 1) {
      const a = o * scale - offset, b = a + scale;
      for (let i = Math.max(0, Math.floor(a)); i < Math.min(src, Math.ceil(b)); i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 1e-9) { idx.push(i); w.push(cover / scale); }
      }
    } else {
      const c = (o + 0.5) * scale - offset - 0.5;
      if (c >= -0.5 && c <= src - 0.5) {
        const i0 = Math.floor(c), f = c - i0;
        const clamp = (i: number) => (i < 0 ? 0 : i >= src ? src - 1 : i);
        idx.push(clamp(i0), clamp(i0 + 1)); w.push(1 - f, f);
      }
    }
  }
  start[out] = idx.length;
  return { idx: Int32Array.from(idx), w: Float32Array.from(w), start };
}

/** The square letterbox of an image: where the image sits in a `side` x `side` square. */
export interface Letterbox {
  /** Source pixels per output pixel. */
  scale: number;
  /** Left and top padding in source pixels (the image is centred in the square). */
  padX: number;
  padY: number;
}

/** A rectangle of an image in its pixels (integers, inside the image). */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Resamples the image (or the `region` of it) into a `size` x `size` RGB square (centred, black bars), values
 * mapped to [-1, 1] as BlazeFace expects. Returns the Float32Array (NHWC, one image) and the letterbox to map
 * coordinates back (relative to the region's top-left corner).
 */
export function letterboxRgb(img: Pixels, size: number, region: Region = { x: 0, y: 0, width: img.width, height: img.height }): { data: Float32Array; box: Letterbox } {
  const side = Math.max(region.width, region.height);
  const scale = side / size;
  const padX = (side - region.width) / 2, padY = (side - region.height) / 2;
  const wx = axisWeights(region.width, size, scale, padX), wy = axisWeights(region.height, size, scale, padY);
  const { data, width, channels: ch } = img;
  const c1 = ch === 1 ? 0 : 1, c2 = ch === 1 ? 0 : 2;
  // Horizontal pass: each source row of the region -> size columns x 3.
  const tmp = new Float32Array(region.height * size * 3);
  for (let y = 0; y < region.height; y++) {
    const row = (region.y + y) * width + region.x;
    for (let o = 0; o < size; o++) {
      let r = 0, g = 0, b = 0;
      for (let k = wx.start[o]; k < wx.start[o + 1]; k++) {
        const p = (row + wx.idx[k]) * ch, wk = wx.w[k];
        r += data[p] * wk; g += data[p + c1] * wk; b += data[p + c2] * wk;
      }
      const t = (y * size + o) * 3;
      tmp[t] = r; tmp[t + 1] = g; tmp[t + 2] = b;
    }
  }
  const out = new Float32Array(size * size * 3);
  for (let o = 0; o < size; o++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = wy.start[o]; k < wy.start[o + 1]; k++) {
        const t = (wy.idx[k] * size + x) * 3, wk = wy.w[k];
        r += tmp[t] * wk; g += tmp[t + 1] * wk; b += tmp[t + 2] * wk;
      }
      const q = (o * size + x) * 3;
      out[q] = r / 127.5 - 1; out[q + 1] = g / 127.5 - 1; out[q + 2] = b / 127.5 - 1;
    }
  }
  return { data: out, box: { scale, padX, padY } };
}

/** Luma formulas for colour to gray. */
export const LUMA = {
  /** ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B (PIL's convert('L'), OpenCV's COLOR_RGB2GRAY, @fer/data's loader). */
  bt601: [0.299, 0.587, 0.114],
  /** ITU-R BT.709: 0.2126 R + 0.7152 G + 0.0722 B. */
  bt709: [0.2126, 0.7152, 0.0722],
  /** The plain mean (R + G + B) / 3. */
  mean: [1 / 3, 1 / 3, 1 / 3],
} as const;
export type LumaName = keyof typeof LUMA;

/** Gray copy of the image (alpha ignored). */
export function toGray(img: Pixels, luma: LumaName): Float32Array {
  const n = img.width * img.height, { data, channels: ch } = img;
  const out = new Float32Array(n);
  if (ch === 1) {
    for (let i = 0; i < n; i++) out[i] = data[i];
    return out;
  }
  const [kr, kg, kb] = LUMA[luma];
  for (let i = 0; i < n; i++) out[i] = kr * data[i * ch] + kg * data[i * ch + 1] + kb * data[i * ch + 2];
  return out;
}

/** A square in the image, rotated by `angle` (radians, clockwise in image coordinates) about its centre. */
export interface CropSquare {
  cx: number;
  cy: number;
  side: number;
  angle: number;
}

/**
 * Samples the rotated square into `size` x `size` gray bytes (written at `out[offset..]`): each output pixel is the
 * mean of n x n bilinear samples spread over its footprint (n = ceil(side / size), at most 8), so a large face
 * is area-averaged as the FER2013 crops were, not aliased; outside the image the edge pixels repeat.
 */
export function sampleSquare(gray: Float32Array, width: number, height: number, sq: CropSquare, size: number, out: Uint8Array, offset: number): void {
  const n = Math.max(1, Math.min(8, Math.ceil(sq.side / size)));
  const cos = Math.cos(sq.angle), sin = Math.sin(sq.angle);
  const step = sq.side / size, sub = step / n;
  const at = (x: number, y: number) => {
    const xc = x < 0 ? 0 : x > width - 1 ? width - 1 : x;
    const yc = y < 0 ? 0 : y > height - 1 ? height - 1 : y;
    const x0 = Math.floor(xc), y0 = Math.floor(yc);
    const x1 = x0 + 1 < width ? x0 + 1 : x0, y1 = y0 + 1 < height ? y0 + 1 : y0;
    const fx = xc - x0, fy = yc - y0;
    const a = gray[y0 * width + x0], b = gray[y0 * width + x1], c = gray[y1 * width + x0], d = gray[y1 * width + x1];
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  };
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const dy = -sq.side / 2 + v * step + (j + 0.5) * sub;
        for (let i = 0; i < n; i++) {
          const dx = -sq.side / 2 + u * step + (i + 0.5) * sub;
          // Continuous coordinates (pixel k spans [k, k+1)); bilinear samples at centres k + 0.5.
          const x = sq.cx + cos * dx - sin * dy - 0.5, y = sq.cy + sin * dx + cos * dy - 0.5;
          sum += at(x, y);
        }
      }
      const val = sum / (n * n);
      out[offset + v * size + u] = val <= 0 ? 0 : val >= 255 ? 255 : Math.round(val);
    }
  }
}
