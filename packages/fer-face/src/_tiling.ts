// The zoomed passes for small faces: BlazeFace sees the whole picture in 256x256, so a face under ~17% of the
// picture's long side (about 43 of BlazeFace's input pixels) scores low or is missed (README, "Small faces").
// Each tile level covers the picture with overlapping tiles 0.6x the previous level's side, so the detector sees
// them 1/0.6 = 1.67x larger; overlapping by a third of a tile side, every face up to that size lies wholly in one
// tile. Detections that a tile's inner edge cuts are dropped (the face is whole in a neighbouring tile, or large
// enough for the coarser level), then all levels are merged by non-max suppression. Pure geometry, no tensors.
import type { RawDetection } from './_blazeface.js';

/** A rectangle of the picture, in its pixels (integers). */
export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
  /** 0: the whole picture; k >= 1: the k-th zoom level. */
  level: number;
  /** Pixels the tile shares with its neighbours (0 at level 0): the largest face this level is for. */
  overlap: number;
}

/** Each level's tile side, as a multiple of the previous level's (the picture's long side at level 0). */
export const TILE_SHRINK = 0.6;
/** Overlap of neighbouring tiles, as a fraction of the tile side. */
export const TILE_OVERLAP = 1 / 3;
/** No tile smaller than this (BlazeFace's input side): below it a level would only enlarge pixels. */
export const MIN_TILE_SIDE = 256;

/**
 * Start positions of tiles of length `tile` along an axis of length `length`, evenly spread from 0 to
 * `length - tile`, as few as give neighbours at least `overlap` pixels in common. One tile at 0 when it covers the axis.
 */
export function axisStarts(length: number, tile: number, overlap: number): number[] {
  if (tile >= length) return [0];
  const n = Math.ceil((length - overlap) / (tile - overlap));
  // floor keeps every gap at most (length - tile) / (n - 1) <= tile - overlap; the last tile ends at the edge.
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? length - tile : Math.floor((k * (length - tile)) / (n - 1))));
}

/**
 * The rectangles the detector looks at: the whole picture (level 0), then for each of `levels` zoom levels a grid of
 * overlapping tiles of side `round(longSide * TILE_SHRINK^k)` (clipped to the picture), stopping before a level whose
 * tiles would be smaller than `minTileSide`.
 */
export function tileGrid(width: number, height: number, levels: number, minTileSide = MIN_TILE_SIDE): Tile[] {
  const tiles: Tile[] = [{ x: 0, y: 0, width, height, level: 0, overlap: 0 }];
  const long = Math.max(width, height);
  for (let k = 1; k <= levels; k++) {
    const side = Math.round(long * TILE_SHRINK ** k);
    if (side < minTileSide) break;
    const overlap = Math.round(side * TILE_OVERLAP);
    const tw = Math.min(side, width), th = Math.min(side, height);
    for (const y of axisStarts(height, th, overlap)) {
      for (const x of axisStarts(width, tw, overlap)) tiles.push({ x, y, width: tw, height: th, level: k, overlap });
    }
  }
  return tiles;
}

/**
 * Whether a tile keeps a detection (in picture pixels). Level 0 keeps all. A zoomed tile keeps the small faces it is
 * for: the box's longer side is at most the tile's `overlap` (larger faces are the coarser levels' job, and their
 * false detections on textures in zoomed tiles were large ones: README), and the box stays `margin` x the tile's side
 * away from every tile edge that is not also an edge of the picture (a face the tile cuts gives a shifted box).
 */
export function keepInTile(d: RawDetection, tile: Tile, pictureWidth: number, pictureHeight: number, margin = 0.02): boolean {
  if (tile.level === 0) return true;
  const [l, t, r, b] = d.box;
  if (Math.max(r - l, b - t) > tile.overlap) return false;
  const m = margin * Math.max(tile.width, tile.height);
  if (tile.x > 0 && l < tile.x + m) return false;
  if (tile.y > 0 && t < tile.y + m) return false;
  if (tile.x + tile.width < pictureWidth && r > tile.x + tile.width - m) return false;
  if (tile.y + tile.height < pictureHeight && b > tile.y + tile.height - m) return false;
  return true;
}
