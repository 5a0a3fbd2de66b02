// The HOG kernel. `createHogEngine` is deliberately self-contained (no runtime imports, no outside
// references; the one import is a type, erased): worker threads rebuild it from its source text (see
// ./hog-parallel.ts).
//
// It reproduces scikit-image 0.19.3 (`skimage/feature/_hog.py`, `_hoghistogram.pyx`) operation by
// operation:
// - uint8 input is cast to float64 without scaling (`utils._supported_float_type`: uint8 -> float64,
//   values stay 0..255); float32 input stays float32 up to the gradients (`_hog_channel_gradient`
//   keeps the image dtype), which are then cast to float64.
// - gradients are central differences `img[i+1] - img[i-1]` with zero first/last row and column.
// - magnitude = hypot(g_row, g_col); orientation = rad2deg(arctan2(g_row, g_col)) % 180, where
//   numpy's rad2deg is `x * (180 / pi)` and `%` is Python's floor modulo.
// - a pixel votes into bin i iff i*180/n <= orientation < (i+1)*180/n, with the edges computed as in
//   the .pyx (so an orientation at or above (n)*180/n may fall into no bin at all).
// - `cell_hog` accumulates in a C `float` (`cdef float total`), i.e. every `total += magnitude` is
//   rounded to float32, and divides by the cell area in float32. We reproduce that with Math.fround.
// - only the n_cells = size // pixels_per_cell complete cells are used; the border remainder is ignored.
// - block normalization (`_hog_normalize_block`, eps = 1e-5) in float64; L2-Hys clips at 0.2
//   (Dalal & Triggs 2005 §6.4 / Lowe 2004) and renormalizes. Sums and divisions are reordered for speed
//   (see normalize), which moves results by ~1 ulp of float64, invisible in the float32 output.
// Measured against scikit-image: max abs difference 3e-8 (the output's float32 rounding) on every fixture case.
import type { HogGeometry } from './_options.js';

/** What the engine needs to know about one image size + option set. */
export type EngineGeometry = HogGeometry;

export interface HogEngine {
  /** Cell orientation histograms (n_cells_row, n_cells_col, orientations), float32-valued, into `hist`. */
  histograms(src: Uint8Array | Float32Array, srcOffset: number, isFloat: boolean, g: EngineGeometry, hist: Float64Array, img: Float64Array): void;
  /** Block-normalized feature vector of `hist` into `out[outOffset ..]` (scratch: `block`, `cellSum`). */
  normalize(hist: Float64Array, g: EngineGeometry, out: Float32Array, outOffset: number, block: Float64Array, cellSum: Float64Array): void;
  /** HOG of images `first .. first+count-1` of `src` into `out[outOffset ..]`, reusing scratch buffers. */
  run(src: Uint8Array | Float32Array, isFloat: boolean, first: number, count: number, g: EngineGeometry, out: Float32Array, outOffset: number): void;
}

export function createHogEngine(): HogEngine {
  const R2D = 180 / Math.PI; // numpy: rad2deg(x) = x * (180 / pi)
  const EPS = 1e-5;
  const EPS2 = EPS * EPS; // Python: eps ** 2
  const fround = Math.fround;
  const sqrt = Math.sqrt;
  // Bin edges per orientation count: edges[i] = (180 / n) * i, as `number_of_orientations_per_180 * i`.
  const edgeCache = new Map<number, Float64Array>();
  // For uint8 images gradients are integers in [-255, 255]: one table gives the bin of every pair.
  const lutCache = new Map<number, Int8Array | Int16Array>();

  function edgesFor(n: number): Float64Array {
    let e = edgeCache.get(n);
    if (!e) {
      e = new Float64Array(n + 1);
      const per = 180 / n;
      for (let i = 0; i <= n; i++) e[i] = per * i;
      edgeCache.set(n, e);
    }
    return e;
  }

  // Bin of one gradient, or -1 when it falls into no bin (as in cell_hog's range test).
  function binOf(gr: number, gc: number, n: number, edges: Float64Array): number {
    let o = (Math.atan2(gr, gc) * R2D) % 180;
    if (o < 0) o += 180;
    let b = Math.floor(o / edges[1]);
    if (b > n - 1) b = n - 1;
    if (b < 0) b = 0;
    while (b > 0 && o < edges[b]) b--;
    while (b < n && o >= edges[b + 1]) b++;
    return b >= n ? -1 : b;
  }

  function lutFor(n: number): Int8Array | Int16Array {
    let lut = lutCache.get(n);
    if (!lut) {
      const edges = edgesFor(n);
      lut = n <= 127 ? new Int8Array(511 * 511) : new Int16Array(511 * 511);
      for (let gr = -255; gr <= 255; gr++) {
        for (let gc = -255; gc <= 255; gc++) lut[(gr + 255) * 511 + gc + 255] = binOf(gr, gc, n, edges);
      }
      lutCache.set(n, lut);
    }
    return lut;
  }

  function histograms(src: Uint8Array | Float32Array, srcOffset: number, isFloat: boolean, g: EngineGeometry, hist: Float64Array, img: Float64Array): void {
    const W = g.width;
    const H = g.height;
    const cr = g.cellRows;
    const cc = g.cellCols;
    const nb = g.orientations;
    const nCC = g.nCellsCol;
    const usedR = g.nCellsRow * cr;
    const usedC = nCC * cc;
    const nHist = g.nCellsRow * nCC * nb;
    hist.fill(0, 0, nHist);
    if (!isFloat && !g.transformSqrt) {
      histogramsU8(src as Uint8Array, srcOffset, W, H, cr, cc, nb, g.nCellsRow, nCC, hist, lutFor(nb));
    } else {
      // General path: float32 or square-rooted pixels.
      const edges = edgesFor(nb);
      const n = W * H;
      if (isFloat) {
        if (g.transformSqrt) for (let i = 0; i < n; i++) img[i] = fround(sqrt(src[srcOffset + i]));
        else for (let i = 0; i < n; i++) img[i] = src[srcOffset + i];
      } else {
        for (let i = 0; i < n; i++) img[i] = sqrt(src[srcOffset + i]);
      }
      for (let y = 0; y < usedR; y++) {
        const row = y * W;
        const edgeRow = y === 0 || y === H - 1;
        let cell = ((y / cr) | 0) * nCC * nb;
        let k = 0;
        for (let x = 0; x < usedC; x++) {
          let gr = edgeRow ? 0 : img[row + x + W] - img[row + x - W];
          let gc = x === 0 || x === W - 1 ? 0 : img[row + x + 1] - img[row + x - 1];
          if (isFloat) {
            gr = fround(gr);
            gc = fround(gc);
          }
          if (gr !== 0 || gc !== 0) {
            const b = binOf(gr, gc, nb, edges);
            if (b >= 0) {
              const h = cell + b;
              hist[h] = fround(hist[h] + Math.hypot(gr, gc));
            }
          }
          if (++k === cc) {
            k = 0;
            cell += nb;
          }
        }
      }
    }
    const area = cr * cc;
    for (let i = 0; i < nHist; i++) if (hist[i] !== 0) hist[i] = fround(hist[i] / area);
  }

  // Fast path: uint8 pixels, exact integer gradients, bin from a table, magnitude = sqrt of an exact integer.
  // NOTE: within a cell, pixels are visited in cell_hog's row-major order, so the float32 running sums round
  // identically; across cells the loop interleaves (column j of every cell of the row, then column j + 1),
  // so consecutive updates hit different cells and the CPU can overlap their add-round-store chains.
  function histogramsU8(src: Uint8Array, off: number, W: number, H: number, cr: number, cc: number, nb: number, nCR: number, nCC: number, hist: Float64Array, lut: Int8Array | Int16Array): void {
    const cellStride = cc;
    for (let y = 0, usedR = nCR * cr; y < usedR; y++) {
      const row = off + y * W;
      const up = y === 0 || y === H - 1 ? 0 : W; // row gradient is 0 on the first and last row
      const h0 = ((y / cr) | 0) * nCC * nb;
      for (let j = 0; j < cc; j++) {
        for (let cx = 0, x = j, h = h0; cx < nCC; cx++, x += cellStride, h += nb) {
          const p = row + x;
          const gr = up === 0 ? 0 : src[p + up] - src[p - up];
          const gc = x === 0 || x === W - 1 ? 0 : src[p + 1] - src[p - 1];
          // NOTE: no test for gr = gc = 0 (a mispredicted branch on real faces): such a pixel adds 0 to bin 0,
          // which leaves the float32 sum unchanged, exactly as in cell_hog.
          const b = lut[(gr + 255) * 511 + gc + 255];
          if (b >= 0) hist[h + b] = Math.fround(hist[h + b] + Math.sqrt(gr * gr + gc * gc));
        }
      }
    }
  }

  function normalize(hist: Float64Array, g: EngineGeometry, out: Float32Array, outOffset: number, block: Float64Array, cellSum: Float64Array): void {
    const nb = g.orientations;
    const nCC = g.nCellsCol;
    const bR = g.blockRows;
    const bC = g.blockCols;
    const rowLen = bC * nb;
    const norm = g.norm;
    const nCells = g.nCellsRow * nCC;
    // NOTE: a block's L1 / squared-L2 sum is the sum of its cells' sums (computed once per cell, not once per
    // block), and divisions become one reciprocal per block. Both differ from numpy's pairwise sums and true
    // divisions by about 1 ulp of float64, far below the float32 output's precision, and halve this stage.
    // Histogram values are >= 0, so |h| = h.
    if (norm <= 1) {
      for (let c = 0, q = 0; c < nCells; c++) {
        let s = 0;
        for (let o = 0; o < nb; o++) s += hist[q++];
        cellSum[c] = s;
      }
    } else {
      for (let c = 0, q = 0; c < nCells; c++) {
        let s = 0;
        for (let o = 0; o < nb; o++, q++) s += hist[q] * hist[q];
        cellSum[c] = s;
      }
    }
    let p = outOffset;
    for (let r = 0; r < g.nBlocksRow; r++) {
      for (let c = 0; c < g.nBlocksCol; c++) {
        let s = 0;
        for (let i = 0; i < bR; i++) for (let j = 0, q = (r + i) * nCC + c; j < bC; j++) s += cellSum[q + j];
        if (norm === 3) {
          // L2-Hys: clip the L2-normalized block at 0.2, then L2-normalize it again.
          const inv = 1 / sqrt(s + EPS2);
          let s0 = 0;
          let s1 = 0;
          let k = 0;
          for (let i = 0; i < bR; i++) {
            const base = ((r + i) * nCC + c) * nb;
            let j = 0;
            for (; j + 1 < rowLen; j += 2, k += 2) {
              const t0 = Math.min(hist[base + j] * inv, 0.2);
              const t1 = Math.min(hist[base + j + 1] * inv, 0.2);
              block[k] = t0;
              block[k + 1] = t1;
              s0 += t0 * t0;
              s1 += t1 * t1;
            }
            if (j < rowLen) {
              const t = Math.min(hist[base + j] * inv, 0.2);
              block[k++] = t;
              s0 += t * t;
            }
          }
          const inv2 = 1 / sqrt(s0 + s1 + EPS2);
          for (let i = 0; i < k; i++) out[p++] = block[i] * inv2;
        } else {
          const inv = norm === 2 ? 1 / sqrt(s + EPS2) : 1 / (s + EPS);
          for (let i = 0; i < bR; i++) {
            const base = ((r + i) * nCC + c) * nb;
            if (norm === 1) for (let j = 0; j < rowLen; j++) out[p++] = sqrt(hist[base + j] * inv);
            else for (let j = 0; j < rowLen; j++) out[p++] = hist[base + j] * inv;
          }
        }
      }
    }
  }

  function run(src: Uint8Array | Float32Array, isFloat: boolean, first: number, count: number, g: EngineGeometry, out: Float32Array, outOffset: number): void {
    const size = g.width * g.height;
    const hist = new Float64Array(g.nCellsRow * g.nCellsCol * g.orientations);
    const img = new Float64Array(isFloat || g.transformSqrt ? size : 0);
    const block = new Float64Array(g.blockRows * g.blockCols * g.orientations);
    const cellSum = new Float64Array(g.nCellsRow * g.nCellsCol);
    for (let i = 0; i < count; i++) {
      histograms(src, (first + i) * size, isFloat, g, hist, img);
      normalize(hist, g, out, outOffset + i * g.length, block, cellSum);
    }
  }

  return { histograms, normalize, run };
}
