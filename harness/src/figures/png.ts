// Picture figures as PNG (pngjs): gray or colour-mapped tiles, upscaled, laid out in a grid.
import { PNG } from 'pngjs';

/** An RGB raster, 0..255 per channel. */
export interface Raster {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export function blank(width: number, height: number, value = 255): Raster {
  return { width, height, rgb: new Uint8Array(width * height * 3).fill(value) };
}

/** Min..max scaled gray picture of a float map (a constant map becomes mid-gray). */
export function grayTile(data: ArrayLike<number>, width: number, height: number, scale = 1, colormap = false): Raster {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < width * height; i++) { lo = Math.min(lo, data[i]); hi = Math.max(hi, data[i]); }
  const span = hi - lo > 1e-12 ? hi - lo : 0;
  const out = blank(width * scale, height * scale, 0);
  for (let y = 0; y < out.height; y++) for (let x = 0; x < out.width; x++) {
    const v = data[Math.floor(y / scale) * width + Math.floor(x / scale)];
    const t = span ? (v - lo) / span : 0.5;
    const [r, g, b] = colormap ? viridis(t) : [t * 255, t * 255, t * 255];
    const o = (y * out.width + x) * 3;
    out.rgb[o] = r; out.rgb[o + 1] = g; out.rgb[o + 2] = b;
  }
  return out;
}

// Five viridis anchor colours, linearly interpolated.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Lays tiles out row by row (`rows[r][c]`), `gap` pixels apart, on a white background. */
export function grid(rows: readonly (readonly Raster[])[], gap = 4): Raster {
  const colWidths: number[] = [];
  const rowHeights = rows.map((r) => Math.max(0, ...r.map((t) => t.height)));
  rows.forEach((r) => r.forEach((t, c) => { colWidths[c] = Math.max(colWidths[c] ?? 0, t.width); }));
  const width = colWidths.reduce((a, b) => a + b + gap, gap);
  const height = rowHeights.reduce((a, b) => a + b + gap, gap);
  const out = blank(width, height);
  let y = gap;
  rows.forEach((r, ri) => {
    let x = gap;
    r.forEach((t, c) => { blit(out, t, x, y); x += colWidths[c] + gap; });
    y += rowHeights[ri] + gap;
  });
  return out;
}

export function blit(dst: Raster, src: Raster, x0: number, y0: number): void {
  for (let y = 0; y < src.height; y++) {
    const dy = y0 + y;
    if (dy < 0 || dy >= dst.height) continue;
    for (let x = 0; x < src.width; x++) {
      const dx = x0 + x;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (y * src.width + x) * 3, d = (dy * dst.width + dx) * 3;
      dst.rgb[d] = src.rgb[s]; dst.rgb[d + 1] = src.rgb[s + 1]; dst.rgb[d + 2] = src.rgb[s + 2];
    }
  }
}

export function encodePng(r: Raster): Uint8Array {
  const png = new PNG({ width: r.width, height: r.height });
  for (let i = 0; i < r.width * r.height; i++) {
    png.data[i * 4] = r.rgb[i * 3];
    png.data[i * 4 + 1] = r.rgb[i * 3 + 1];
    png.data[i * 4 + 2] = r.rgb[i * 3 + 2];
    png.data[i * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** Decodes a PNG and returns the variance of its RGB values (0 = a blank image). */
export function pngVariance(bytes: Uint8Array): { width: number; height: number; variance: number } {
  const png = PNG.sync.read(Buffer.from(bytes));
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    for (let c = 0; c < 3; c++) { const v = png.data[i + c]; sum += v; sq += v * v; n++; }
  }
  const mean = sum / n;
  return { width: png.width, height: png.height, variance: sq / n - mean * mean };
}
