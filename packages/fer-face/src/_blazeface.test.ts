import { describe, expect, it } from 'vitest';
import { BLAZEFACE_ANCHORS, BLAZEFACE_VALUES, decodeDetections, generateAnchors, iou, nonMaxSuppression, overlapOfSmaller, type RawDetection } from './_blazeface.js';

describe('generateAnchors', () => {
  it('gives 896 centres: 16x16 cells x 2 at stride 16, then 8x8 cells x 6 at stride 32', () => {
    const a = generateAnchors();
    expect(a.length).toBe(2 * BLAZEFACE_ANCHORS);
    expect([...a.subarray(0, 6)]).toEqual([8, 8, 8, 8, 24, 8]);
    expect([a[2 * 511], a[2 * 511 + 1]]).toEqual([248, 248]);
    expect([...a.subarray(2 * 512, 2 * 512 + 14)]).toEqual([16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 48, 16]);
    expect([a[2 * 895], a[2 * 895 + 1]]).toEqual([240, 240]);
  });
});

describe('decodeDetections', () => {
  it('decodes the box and six keypoints relative to the anchor and applies the score threshold', () => {
    const anchors = generateAnchors();
    const logits = new Float32Array(BLAZEFACE_ANCHORS).fill(-10);
    const reg = new Float32Array(BLAZEFACE_ANCHORS * BLAZEFACE_VALUES);
    const i = 600; // stride-32 layer
    logits[i] = 2; // sigmoid 0.881
    reg.set([4, -2, 40, 50, -10, -8, 10, -8, 0, 2, 0, 12, -18, -4, 18, -4], i * BLAZEFACE_VALUES);
    logits[7] = 0; // 0.5: below the threshold
    const out = decodeDetections(logits, reg, anchors, 0.6);
    expect(out).toHaveLength(1);
    const [ax, ay] = [anchors[2 * i], anchors[2 * i + 1]];
    expect(out[0].score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(out[0].box).toEqual([ax + 4 - 20, ay - 2 - 25, ax + 4 + 20, ay - 2 + 25]);
    expect(out[0].keypoints[0]).toEqual([ax - 10, ay - 8]);
    expect(out[0].keypoints[5]).toEqual([ax + 18, ay - 4]);
    expect(decodeDetections(logits, reg, anchors, 0.4)).toHaveLength(1); // anchor 7 has a zero-size box: dropped
  });

  it('never gives NaN scores for huge logits', () => {
    const anchors = generateAnchors();
    const logits = new Float32Array(BLAZEFACE_ANCHORS).fill(-1e30);
    logits[0] = 1e30;
    const reg = new Float32Array(BLAZEFACE_ANCHORS * BLAZEFACE_VALUES).fill(1);
    const out = decodeDetections(logits, reg, anchors, 0.5);
    expect(out.map((d) => d.score)).toEqual([1]);
  });
});

const det = (box: [number, number, number, number], score: number, k = 0): RawDetection => ({ box, score, keypoints: Array.from({ length: 6 }, () => [k, k] as [number, number]) });

describe('nonMaxSuppression', () => {
  it('iou', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 10);
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
  });

  it('hard: keeps the best of each overlapping group, highest score first, at most maxFaces', () => {
    const c = [det([0, 0, 10, 10], 0.8), det([1, 0, 11, 10], 0.9), det([50, 50, 60, 60], 0.7), det([100, 100, 110, 110], 0.6)];
    const out = nonMaxSuppression(c, 0.3, 10, 'hard');
    expect(out.map((d) => d.score)).toEqual([0.9, 0.7, 0.6]);
    expect(out[0].box).toEqual([1, 0, 11, 10]);
    expect(nonMaxSuppression(c, 0.3, 2, 'hard').map((d) => d.score)).toEqual([0.9, 0.7]);
  });

  it('weighted: blends the suppressed boxes and keypoints by score', () => {
    const out = nonMaxSuppression([det([0, 0, 10, 10], 0.75, 0), det([2, 0, 12, 10], 0.25, 4)], 0.3, 10, 'weighted');
    expect(out).toHaveLength(1);
    expect(out[0].score).toBe(0.75);
    expect(out[0].box[0]).toBeCloseTo(0.5, 10);
    expect(out[0].box[2]).toBeCloseTo(10.5, 10);
    expect(out[0].keypoints[3]).toEqual([1, 1]);
  });

  it('overlapOfSmaller: the share of the smaller box inside the other', () => {
    expect(overlapOfSmaller([0, 0, 10, 10], [2, 2, 6, 6])).toBe(1);
    expect(overlapOfSmaller([2, 2, 6, 6], [0, 0, 10, 10])).toBe(1);
    expect(overlapOfSmaller([0, 0, 10, 10], [8, 0, 12, 4])).toBeCloseTo(8 / 16, 10);
    expect(overlapOfSmaller([0, 0, 10, 10], [20, 0, 30, 10])).toBe(0);
  });

  it('containThreshold: drops a box mostly inside a kept one (or around it) without blending; 1 keeps it', () => {
    // The same face from two zoom levels: a 40-pixel box and a 21-pixel one inside it (IoU 0.28 < 0.3).
    const big = det([100, 100, 140, 140], 0.8, 0), small = det([107, 106, 128, 127], 0.62, 9), apart = det([200, 100, 240, 140], 0.7);
    expect(iou(big.box, small.box)).toBeLessThan(0.3);
    const out = nonMaxSuppression([small, big, apart], 0.3, 10, 'weighted', 0.6);
    expect(out.map((d) => d.score)).toEqual([0.8, 0.7]);
    expect(out[0].box).toEqual([100, 100, 140, 140]); // not blended with the dropped one
    // Highest score first: a higher-scoring small box suppresses the big one around it.
    expect(nonMaxSuppression([det([100, 100, 140, 140], 0.6), det([107, 106, 128, 127], 0.9)], 0.3, 10, 'hard', 0.6).map((d) => d.score)).toEqual([0.9]);
    expect(nonMaxSuppression([small, big, apart], 0.3, 10, 'weighted')).toHaveLength(3); // default 1: off
  });
});
