import { engine, checkImage, type HogInputImage } from './hog.js';
import { resolveHogOptions, type HogOptions } from './_options.js';

/** A one-channel float picture, row-major (`data[row * width + col]`), of the input image's size. */
export interface HogPicture {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/**
 * The oriented-gradient glyph picture of scikit-image 0.19.3's `hog(..., visualize=True)` (`hog_image`):
 * for every cell and orientation bin, a line through the cell centre, perpendicular to the bin's middle
 * angle, of length about `min(pixelsPerCell) - 2` pixels, whose pixels add the cell's (un-normalized)
 * histogram value. Values are not scaled; divide by the maximum (or use `rescale_intensity`-style
 * stretching) before writing an 8-bit PNG. Only `orientations`, `pixelsPerCell` and `transformSqrt`
 * change the picture; the block options are validated (as in `hog`) but do not.
 * @example
 * import { hogImage } from '@fer/hog';
 * const data = new Uint8Array(48 * 48).map((_, i) => ((i % 48) * (i / 48)) % 256);
 * const pic = hogImage({ data, width: 48, height: 48 }, { cellsPerBlock: [2, 2] });
 * let max = 0; for (const v of pic.data) max = Math.max(max, v);
 * const gray8 = Uint8Array.from(pic.data, (v) => Math.round((255 * v) / (max || 1)));
 */
export function hogImage(image: HogInputImage, opts?: HogOptions): HogPicture {
  const o = resolveHogOptions(opts, 'hogImage');
  const { data, isFloat, g } = checkImage(image, o, 'hogImage');
  const W = g.width;
  const H = g.height;
  const nb = g.orientations;
  const hist = new Float64Array(g.nCellsRow * g.nCellsCol * nb);
  engine().histograms(data, 0, isFloat, g, hist, new Float64Array(isFloat || g.transformSqrt ? W * H : 0));

  // As in skimage/feature/_hog.py (visualize=True): radius = min(c_row, c_col) // 2 - 1, lines from
  // (int(cr - dc), int(cc + dr)) to (int(cr + dc), int(cc - dr)) with skimage.draw.line (Bresenham).
  const radius = Math.floor(Math.min(g.cellRows, g.cellCols) / 2) - 1;
  const dr = new Float64Array(nb);
  const dc = new Float64Array(nb);
  for (let i = 0; i < nb; i++) {
    const mid = (Math.PI * (i + 0.5)) / nb;
    dr[i] = radius * Math.sin(mid);
    dc[i] = radius * Math.cos(mid);
  }
  const acc = new Float64Array(W * H);
  const rr: number[] = [];
  const cc: number[] = [];
  for (let r = 0; r < g.nCellsRow; r++) {
    for (let c = 0; c < g.nCellsCol; c++) {
      const centreR = r * g.cellRows + Math.floor(g.cellRows / 2);
      const centreC = c * g.cellCols + Math.floor(g.cellCols / 2);
      for (let i = 0; i < nb; i++) {
        const v = hist[(r * g.nCellsCol + c) * nb + i];
        line(Math.trunc(centreR - dc[i]), Math.trunc(centreC + dr[i]), Math.trunc(centreR + dc[i]), Math.trunc(centreC - dr[i]), rr, cc);
        for (let k = 0; k < rr.length; k++) {
          // numpy indexing: negative indices wrap; anything else out of range is skipped (only cells
          // smaller than 2 pixels reach here, where scikit-image itself would raise an IndexError).
          const y = rr[k] < 0 ? rr[k] + H : rr[k];
          const x = cc[k] < 0 ? cc[k] + W : cc[k];
          if (y < 0 || y >= H || x < 0 || x >= W) continue;
          const p = y * W + x;
          // float32 images get a float32 hog_image in scikit-image, so the sum is rounded as it goes.
          acc[p] = isFloat ? Math.fround(acc[p] + v) : acc[p] + v;
        }
      }
    }
  }
  return { data: Float32Array.from(acc), width: W, height: H };
}

// --- Internal helpers ---

/** skimage.draw.line (skimage/draw/_draw.pyx `_line`, Bresenham) into `rr`, `cc`. */
function line(r0: number, c0: number, r1: number, c1: number, rr: number[], cc: number[]): void {
  rr.length = 0;
  cc.length = 0;
  let steep = false;
  let r = r0;
  let c = c0;
  let dr = Math.abs(r1 - r0);
  let dc = Math.abs(c1 - c0);
  let sc = c1 - c > 0 ? 1 : -1;
  let sr = r1 - r > 0 ? 1 : -1;
  if (dr > dc) {
    steep = true;
    [c, r] = [r, c];
    [dc, dr] = [dr, dc];
    [sc, sr] = [sr, sc];
  }
  let d = 2 * dr - dc;
  for (let i = 0; i < dc; i++) {
    if (steep) {
      rr.push(c);
      cc.push(r);
    } else {
      rr.push(r);
      cc.push(c);
    }
    while (d >= 0) {
      r += sr;
      d -= 2 * dc;
    }
    c += sc;
    d += 2 * dr;
  }
  rr.push(r1);
  cc.push(c1);
}
