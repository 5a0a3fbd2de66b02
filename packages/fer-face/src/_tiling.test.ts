import { describe, expect, it } from 'vitest';
import type { RawDetection } from './_blazeface.js';
import { axisStarts, keepInTile, MIN_TILE_SIDE, tileGrid, TILE_OVERLAP, TILE_SHRINK, type Tile } from './_tiling.js';

describe('axisStarts', () => {
  it('spreads tiles from 0 to the far edge, neighbours sharing at least the overlap, as few as possible', () => {
    expect(axisStarts(640, 384, 128)).toEqual([0, 256]);
    expect(axisStarts(480, 384, 128)).toEqual([0, 96]);
    expect(axisStarts(300, 300, 100)).toEqual([0]);
    expect(axisStarts(200, 300, 100)).toEqual([0]);
    for (const [length, tile, overlap] of [[1920, 415, 138], [1000, 256, 85], [4000, 311, 104], [257, 256, 85]]) {
      const s = axisStarts(length, tile, overlap);
      expect(s[0]).toBe(0);
      expect(s.at(-1)).toBe(length - tile);
      for (let k = 1; k < s.length; k++) expect(s[k - 1] + tile - s[k]).toBeGreaterThanOrEqual(overlap);
      // One tile fewer would leave a neighbour pair sharing less than the overlap.
      const n = s.length - 1;
      expect(n < 2 || (length - tile) / (n - 1) > tile - overlap).toBe(true);
    }
  });
});

describe('tileGrid', () => {
  it('is the whole picture, then 0.6x tiles per level, none under 256 pixels', () => {
    const g = tileGrid(640, 480, 1);
    expect(g[0]).toEqual({ x: 0, y: 0, width: 640, height: 480, level: 0, overlap: 0 });
    expect(g.slice(1)).toEqual([
      { x: 0, y: 0, width: 384, height: 384, level: 1, overlap: 128 },
      { x: 256, y: 0, width: 384, height: 384, level: 1, overlap: 128 },
      { x: 0, y: 96, width: 384, height: 384, level: 1, overlap: 128 },
      { x: 256, y: 96, width: 384, height: 384, level: 1, overlap: 128 },
    ]);
    expect(tileGrid(640, 480, 0)).toHaveLength(1);
    expect(tileGrid(640, 480, 5)).toHaveLength(5); // level 2 would be 230 pixels
    expect(tileGrid(400, 300, 3)).toHaveLength(1); // 240 < 256: small pictures get one pass
    // A wide picture: level-1 tiles are as high as the picture.
    const hd = tileGrid(1920, 1080, 2);
    expect(hd.filter((t) => t.level === 1).map((t) => [t.x, t.y, t.width, t.height])).toEqual([[0, 0, 1152, 1080], [768, 0, 1152, 1080]]);
    expect(hd.filter((t) => t.level === 2).every((t) => t.width === Math.round(1920 * TILE_SHRINK ** 2))).toBe(true);
    expect(Math.min(...tileGrid(4000, 3000, 8).map((t) => t.width))).toBeGreaterThanOrEqual(MIN_TILE_SIDE);
  });

  it('puts every face up to a level\'s overlap wholly inside one of its tiles (seeded random faces)', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const [W, H] of [[640, 480], [1920, 1080], [1000, 1000], [3000, 700]]) {
      const tiles = tileGrid(W, H, 3);
      for (let level = 1; level <= 3; level++) {
        const lv = tiles.filter((t) => t.level === level);
        if (lv.length === 0) continue;
        const side = lv[0].overlap;
        expect(side).toBe(Math.round(Math.round(Math.max(W, H) * TILE_SHRINK ** level) * TILE_OVERLAP));
        for (let i = 0; i < 200; i++) {
          const x = rand() * (W - side), y = rand() * (H - side);
          const inside = lv.some((t) => x >= t.x && y >= t.y && x + side <= t.x + t.width && y + side <= t.y + t.height);
          expect(inside, `${W}x${H} level ${level}: face at ${x}, ${y} of side ${side}`).toBe(true);
        }
      }
    }
  });
});

describe('keepInTile', () => {
  const d = (box: [number, number, number, number]): RawDetection => ({ box, score: 0.9, keypoints: [] });
  const tile: Tile = { x: 256, y: 0, width: 384, height: 384, level: 1, overlap: 128 }; // the top-right tile of 640x480

  it('keeps everything at level 0', () => {
    expect(keepInTile(d([-50, -50, 900, 900]), { x: 0, y: 0, width: 640, height: 480, level: 0, overlap: 0 }, 640, 480)).toBe(true);
  });

  it('drops boxes a tile\'s inner edge cuts, not those at the picture\'s edge', () => {
    expect(keepInTile(d([300, 100, 340, 140]), tile, 640, 480)).toBe(true);
    expect(keepInTile(d([258, 100, 298, 140]), tile, 640, 480)).toBe(false); // at the inner left edge (x 256)
    expect(keepInTile(d([300, 340, 340, 383]), tile, 640, 480)).toBe(false); // at the inner bottom edge (y 384)
    expect(keepInTile(d([600, 0, 640, 40]), tile, 640, 480)).toBe(true); // top and right are the picture's edges
  });

  it('drops boxes larger than the overlap: the coarser level finds those', () => {
    expect(keepInTile(d([300, 100, 428, 200]), tile, 640, 480)).toBe(true); // 128 wide
    expect(keepInTile(d([300, 100, 430, 200]), tile, 640, 480)).toBe(false);
  });
});
