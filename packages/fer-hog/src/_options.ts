import { FerHogError } from './errors.js';

/** The block normalizations of scikit-image's `hog`, in its spelling. */
export const HOG_BLOCK_NORMS = ['L1', 'L1-sqrt', 'L2', 'L2-Hys'] as const;
/** One of {@link HOG_BLOCK_NORMS}. */
export type HogBlockNorm = (typeof HOG_BLOCK_NORMS)[number];

/**
 * HOG options, as in `skimage.feature.hog` (0.19.3). Pairs are `[rows, cols]`, as in scikit-image.
 * Every key is optional; missing keys take the defaults in {@link HOG_DEFAULTS}. Unknown keys throw.
 */
export interface HogOptions {
  /** Number of orientation bins over [0, 180) degrees. Default 9. */
  orientations?: number;
  /** Cell size in pixels, `[rows, cols]`. Default `[8, 8]`. (Any array type is accepted; its length is checked.) */
  pixelsPerCell?: readonly [number, number] | readonly number[];
  /** Block size in cells, `[rows, cols]`. Default `[3, 3]` (scikit-image's default). */
  cellsPerBlock?: readonly [number, number] | readonly number[];
  /** Block normalization. Default `'L2-Hys'`. */
  blockNorm?: HogBlockNorm;
  /** Take the square root of every pixel first (power-law compression). Default `false`. */
  transformSqrt?: boolean;
}

/** {@link HogOptions} with every key filled in. */
export interface ResolvedHogOptions {
  readonly orientations: number;
  readonly pixelsPerCell: readonly [number, number];
  readonly cellsPerBlock: readonly [number, number];
  readonly blockNorm: HogBlockNorm;
  readonly transformSqrt: boolean;
}

/**
 * scikit-image 0.19.3's defaults for `skimage.feature.hog`.
 * @example
 * hogLength(48, 48, HOG_DEFAULTS); // 1296
 */
export const HOG_DEFAULTS: ResolvedHogOptions = Object.freeze({
  orientations: 9,
  pixelsPerCell: Object.freeze([8, 8] as const),
  cellsPerBlock: Object.freeze([3, 3] as const),
  blockNorm: 'L2-Hys',
  transformSqrt: false,
});

/**
 * The HOG configuration of this project's hybrid models and of `pnpm bench hog`: 9 orientations,
 * 8x8-pixel cells, 2x2-cell blocks, L2-Hys. On a 48x48 FER2013 face it gives 900 features.
 * @example
 * const features = hogBatch(pixels, { count, width: 48, height: 48, ...PAPER_HOG_OPTIONS });
 */
export const PAPER_HOG_OPTIONS: ResolvedHogOptions = Object.freeze({
  orientations: 9,
  pixelsPerCell: Object.freeze([8, 8] as const),
  cellsPerBlock: Object.freeze([2, 2] as const),
  blockNorm: 'L2-Hys',
  transformSqrt: false,
});

const OPTION_KEYS = ['orientations', 'pixelsPerCell', 'cellsPerBlock', 'blockNorm', 'transformSqrt'] as const;

/** Plain geometry of one HOG computation; passed to the engine (and to worker threads) as data. */
export interface HogGeometry {
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
  /** 0 L1, 1 L1-sqrt, 2 L2, 3 L2-Hys. */
  norm: number;
  transformSqrt: boolean;
  /** Features per image. */
  length: number;
}

// --- Internal helpers ---

/** Validates `opts` (unknown keys, types, ranges) and fills the defaults. `extraKeys` are allowed and ignored. */
export function resolveHogOptions(opts: unknown, where: string, extraKeys: readonly string[] = []): ResolvedHogOptions {
  if (opts === undefined || opts === null) return HOG_DEFAULTS;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new FerHogError('E_BAD_OPTION', `${where}: options must be a plain object, got ${describe(opts)}. Pass e.g. { orientations: 9, pixelsPerCell: [8, 8] }.`);
  }
  const o = opts as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key) && !extraKeys.includes(key)) {
      const known = [...OPTION_KEYS, ...extraKeys].join(', ');
      throw new FerHogError('E_BAD_OPTION', `${where}: unknown option "${key}". Known options: ${known}. Remove it or fix its spelling.`);
    }
  }
  const orientations = o.orientations === undefined ? HOG_DEFAULTS.orientations : o.orientations;
  if (typeof orientations !== 'number' || !Number.isInteger(orientations) || orientations < 1 || orientations > 360) {
    throw new FerHogError('E_BAD_OPTION', `${where}: orientations must be an integer in 1..360, got ${describe(orientations)}. scikit-image's default is 9.`);
  }
  const pixelsPerCell = pair(o.pixelsPerCell, HOG_DEFAULTS.pixelsPerCell, 'pixelsPerCell', where);
  const cellsPerBlock = pair(o.cellsPerBlock, HOG_DEFAULTS.cellsPerBlock, 'cellsPerBlock', where);
  const blockNorm = o.blockNorm === undefined ? HOG_DEFAULTS.blockNorm : o.blockNorm;
  if (typeof blockNorm !== 'string' || !(HOG_BLOCK_NORMS as readonly string[]).includes(blockNorm)) {
    throw new FerHogError('E_UNKNOWN_NORM', `${where}: unknown blockNorm ${describe(blockNorm)}. Allowed: ${HOG_BLOCK_NORMS.map((n) => `'${n}'`).join(', ')}.`);
  }
  const transformSqrt = o.transformSqrt === undefined ? HOG_DEFAULTS.transformSqrt : o.transformSqrt;
  if (typeof transformSqrt !== 'boolean') {
    throw new FerHogError('E_BAD_OPTION', `${where}: transformSqrt must be true or false, got ${describe(transformSqrt)}.`);
  }
  return { orientations, pixelsPerCell, cellsPerBlock, blockNorm: blockNorm as HogBlockNorm, transformSqrt };
}

/** Checks the image size against the options and returns the geometry. */
export function hogGeometry(width: unknown, height: unknown, o: ResolvedHogOptions, where: string): HogGeometry {
  checkSize(width, 'width', where);
  checkSize(height, 'height', where);
  const [cellRows, cellCols] = o.pixelsPerCell;
  const [blockRows, blockCols] = o.cellsPerBlock;
  const nCellsRow = Math.floor(height / cellRows);
  const nCellsCol = Math.floor(width / cellCols);
  if (nCellsRow < 1 || nCellsCol < 1) {
    throw new FerHogError(
      'E_CELL_TOO_LARGE',
      `${where}: pixelsPerCell [${cellRows}, ${cellCols}] is larger than the ${width}x${height} image (rows x cols = ${height} x ${width}). Use cells of at most [${height}, ${width}] pixels.`,
    );
  }
  const nBlocksRow = nCellsRow - blockRows + 1;
  const nBlocksCol = nCellsCol - blockCols + 1;
  if (nBlocksRow < 1 || nBlocksCol < 1) {
    throw new FerHogError(
      'E_CELL_TOO_LARGE',
      `${where}: a ${width}x${height} image with pixelsPerCell [${cellRows}, ${cellCols}] has ${nCellsRow} x ${nCellsCol} cells (rows x cols), fewer than cellsPerBlock [${blockRows}, ${blockCols}], so no block fits. Use cellsPerBlock of at most [${nCellsRow}, ${nCellsCol}] or smaller cells.`,
    );
  }
  const length = nBlocksRow * nBlocksCol * blockRows * blockCols * o.orientations;
  return {
    width, height, orientations: o.orientations, cellRows, cellCols, nCellsRow, nCellsCol,
    blockRows, blockCols, nBlocksRow, nBlocksCol,
    norm: HOG_BLOCK_NORMS.indexOf(o.blockNorm), transformSqrt: o.transformSqrt, length,
  };
}

export function checkSize(v: unknown, name: string, where: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1 << 20) {
    throw new FerHogError('E_BAD_SIZE', `${where}: ${name} must be a positive integer (at most 1048576), got ${describe(v)}.`);
  }
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object with keys {${Object.keys(v).join(', ')}}`;
  return String(v);
}

function pair(v: unknown, dflt: readonly [number, number], name: string, where: string): readonly [number, number] {
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)) {
    throw new FerHogError('E_BAD_OPTION', `${where}: ${name} must be [rows, cols] of two positive integers, got ${describe(v)}. Example: ${name}: [${dflt[0]}, ${dflt[1]}].`);
  }
  return [v[0], v[1]] as const;
}
