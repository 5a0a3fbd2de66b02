// The HOG kernel. `createHogEngine` is deliberately self-contained (no imports, no outside
// references): worker threads rebuild it from its source text (see ./_parallel.ts).
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
//   (Dalal & Triggs 2005 §6.4 / Lowe 2004) and renormalizes.

/** What the engine needs to know about one image size + option set (see HogGeometry in _options.ts). */
export interface EngineGeometry {
  width: number;
  height: number;
  orientations: number;
  cellRows: number;
  cellCols: number;
  nCellsRow: number;
  nCellsCol: number;
  blockRows: number;
  blockCols: number;
  nBlocksRow: number;
  nBlocksCol: number;
  norm: number;
  transformSqrt: boolean;
  length: number;
}

export interface HogEngine {
  /** Cell orientation histograms (n_cells_row, n_cells_col, orientations), float32-valued, into `hist`. */
  histograms(src: Uint8Array | Float32Array, srcOffset: number, isFloat: boolean, g: EngineGeometry, hist: Float64Array, img: Float64Array): void;
  /** Block-normalized feature vector of `hist` into `out[outOffset ..]`. */
  normalize(hist: Float64Array, g: EngineGeometry, out: Float32Array, outOffset: number, block: Float64Array): void;
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
  const lutCache = new Map<number, Int16Array>();

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

  function lutFor(n: number): Int16Array {
    let lut = lutCache.get(n);
    if (!lut) {
      const edges = edgesFor(n);
      lut = new Int16Array(511 * 511);
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
      // Fast path: uint8 pixels, exact integer gradients, bin from a table, magnitude = sqrt of an exact integer.
      const lut = lutFor(nb);
      for (let y = 0; y < usedR; y++) {
        const row = srcOffset + y * W;
        const edgeRow = y === 0 || y === H - 1;
        let cell = ((y / cr) | 0) * nCC * nb;
        let k = 0;
        for (let x = 0; x < usedC; x++) {
          const gr = edgeRow ? 0 : src[row + x + W] - src[row + x - W];
          const gc = x === 0 || x === W - 1 ? 0 : src[row + x + 1] - src[row + x - 1];
          if (gr !== 0 || gc !== 0) {
            const b = lut[(gr + 255) * 511 + gc + 255];
            if (b >= 0) {
              const h = cell + b;
              hist[h] = fround(hist[h] + sqrt(gr * gr + gc * gc));
            }
          }
          if (++k === cc) {
            k = 0;
            cell += nb;
          }
        }
      }
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

  function normalize(hist: Float64Array, g: EngineGeometry, out: Float32Array, outOffset: number, block: Float64Array): void {
    const nb = g.orientations;
    const nCC = g.nCellsCol;
    const bR = g.blockRows;
    const rowLen = g.blockCols * nb;
    const m = bR * rowLen;
    const norm = g.norm;
    let p = outOffset;
    for (let r = 0; r < g.nBlocksRow; r++) {
      for (let c = 0; c < g.nBlocksCol; c++) {
        let k = 0;
        for (let i = 0; i < bR; i++) {
          const base = ((r + i) * nCC + c) * nb;
          for (let j = 0; j < rowLen; j++) block[k++] = hist[base + j];
        }
        if (norm <= 1) {
          let s = 0;
          for (let i = 0; i < m; i++) s += Math.abs(block[i]);
          const d = s + EPS;
          if (norm === 0) for (let i = 0; i < m; i++) out[p++] = block[i] / d;
          else for (let i = 0; i < m; i++) out[p++] = sqrt(block[i] / d);
        } else {
          let s = 0;
          for (let i = 0; i < m; i++) s += block[i] * block[i];
          const d = sqrt(s + EPS2);
          if (norm === 2) {
            for (let i = 0; i < m; i++) out[p++] = block[i] / d;
          } else {
            let s2 = 0;
            for (let i = 0; i < m; i++) {
              const t = Math.min(block[i] / d, 0.2);
              block[i] = t;
              s2 += t * t;
            }
            const d2 = sqrt(s2 + EPS2);
            for (let i = 0; i < m; i++) out[p++] = block[i] / d2;
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
    for (let i = 0; i < count; i++) {
      histograms(src, (first + i) * size, isFloat, g, hist, img);
      normalize(hist, g, out, outOffset + i * g.length, block);
    }
  }

  return { histograms, normalize, run };
}
