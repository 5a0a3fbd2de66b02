// BlazeFace (MediaPipe's 256x256 "back"/full-range short model) anchors, box decoding and non-max suppression.
// Pure JS on the model's raw outputs, so it is the same on every tfjs backend and testable without the model.

/** Side of the square input BlazeFace takes. */
export const BLAZEFACE_INPUT_SIZE = 256;
/** Number of anchors (16x16 cells x 2 + 8x8 cells x 6) and values per anchor (box 4 + 6 keypoints x 2). */
export const BLAZEFACE_ANCHORS = 896;
export const BLAZEFACE_VALUES = 16;

/**
 * Anchor centres in input pixels, `[x0, y0, x1, y1, ...]`, in the order of the model's outputs: the stride-16 layer
 * (16x16 cells, 2 anchors each) then the stride-32 layer (8x8 cells, 6 anchors each); row by row, cell by cell.
 * This is MediaPipe's SsdAnchorsCalculator for this model (4 layers, strides 16/32/32/32, the three stride-32
 * layers merged; fixed anchor size 1, so only the centres matter).
 */
export function generateAnchors(inputSize = BLAZEFACE_INPUT_SIZE): Float32Array {
  const layers: [stride: number, perCell: number][] = [[16, 2], [32, 6]];
  const out: number[] = [];
  for (const [stride, perCell] of layers) {
    const cells = Math.ceil(inputSize / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < perCell; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

/** A decoded candidate in input (256x256) pixels. */
export interface RawDetection {
  /** Left, top, right, bottom. */
  box: [number, number, number, number];
  /** Six keypoints `[x, y]`: right eye, left eye, nose tip, mouth, right ear, left ear (the person's right and left). */
  keypoints: [number, number][];
  score: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, v))));

/**
 * Decodes the raw outputs: `logits[i]` (before the sigmoid) and `regressors[i*16 .. i*16+15]` of anchor `i`
 * (`dx, dy, w, h` then six `dx, dy` keypoint offsets, all in input pixels relative to the anchor centre).
 * Keeps the anchors whose score (sigmoid of the logit) is at least `scoreThreshold`.
 */
export function decodeDetections(logits: ArrayLike<number>, regressors: ArrayLike<number>, anchors: Float32Array, scoreThreshold: number): RawDetection[] {
  const n = anchors.length / 2;
  const out: RawDetection[] = [];
  for (let i = 0; i < n; i++) {
    const score = sigmoid(logits[i]);
    if (!(score >= scoreThreshold)) continue;
    const ax = anchors[2 * i], ay = anchors[2 * i + 1], r = i * BLAZEFACE_VALUES;
    const cx = ax + regressors[r], cy = ay + regressors[r + 1];
    const w = regressors[r + 2], h = regressors[r + 3];
    if (!(w > 0 && h > 0)) continue;
    const keypoints: [number, number][] = [];
    for (let k = 0; k < 6; k++) keypoints.push([ax + regressors[r + 4 + 2 * k], ay + regressors[r + 5 + 2 * k]]);
    out.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], keypoints, score });
  }
  return out;
}

/** Intersection over union of two `[left, top, right, bottom]` boxes (0 when either is empty). */
export function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Intersection of two `[left, top, right, bottom]` boxes over the smaller one's area (1: one lies inside the other). */
export function overlapOfSmaller(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const smaller = Math.min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]));
  return smaller > 0 ? (iw * ih) / smaller : 0;
}

/**
 * Non-max suppression, highest score first. `'weighted'` (MediaPipe's default for BlazeFace) replaces each kept
 * detection's box and keypoints by the score-weighted mean of the candidates it suppresses (itself included),
 * which steadies the box; `'hard'` keeps the highest-scoring candidate as it is. A candidate that overlaps a kept one
 * less than `iouThreshold` but lies mostly inside it, or it mostly inside the candidate (intersection over the
 * smaller box's area above `containThreshold`), is dropped without blending: a face part, or the same face seen at
 * another zoom level with a box of another size (1 turns this off). At most `maxFaces` are returned.
 */
export function nonMaxSuppression(candidates: RawDetection[], iouThreshold: number, maxFaces: number, mode: 'weighted' | 'hard' = 'weighted', containThreshold = 1): RawDetection[] {
  const rest = [...candidates].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  while (rest.length > 0 && kept.length < maxFaces) {
    const top = rest[0];
    const group: RawDetection[] = [];
    const remaining: RawDetection[] = [];
    for (const c of rest) {
      if (iou(top.box, c.box) > iouThreshold || c === top) group.push(c);
      else if (!(overlapOfSmaller(top.box, c.box) > containThreshold)) remaining.push(c);
    }
    if (mode === 'hard' || group.length === 1) {
      kept.push(top);
    } else {
      let wsum = 0;
      const box = [0, 0, 0, 0];
      const kps = top.keypoints.map(() => [0, 0]);
      for (const g of group) {
        wsum += g.score;
        for (let j = 0; j < 4; j++) box[j] += g.box[j] * g.score;
        g.keypoints.forEach((p, k) => { kps[k][0] += p[0] * g.score; kps[k][1] += p[1] * g.score; });
      }
      kept.push({
        box: box.map((v) => v / wsum) as RawDetection['box'],
        keypoints: kps.map(([x, y]) => [x / wsum, y / wsum] as [number, number]),
        score: top.score,
      });
    }
    rest.length = 0;
    rest.push(...remaining);
  }
  return kept;
}
