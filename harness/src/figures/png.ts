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

/** Decodes a PNG into an RGB raster (transparent pixels over white). */
export function decodePng(bytes: Uint8Array): Raster {
  const png = PNG.sync.read(Buffer.from(bytes));
  const out = blank(png.width, png.height);
  for (let i = 0; i < png.width * png.height; i++) {
    const a = png.data[i * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) out.rgb[i * 3 + c] = Math.round(png.data[i * 4 + c] * a + 255 * (1 - a));
  }
  return out;
}

// A 5x7 bitmap font (capitals, space, '-', '.', digits), so picture figures can carry labels without a font library.
const FONT: Record<string, string> = {
  A: '01110 10001 10001 11111 10001 10001 10001', B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110', D: '11110 10001 10001 10001 10001 10001 11110',
  E: '11111 10000 10000 11110 10000 10000 11111', F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111', H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110', J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001', L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001', N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110', P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101', R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110', T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110', V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010', X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 01010 00100 00100 00100 00100', Z: '11111 00001 00010 00100 01000 10000 11111',
  '0': '01110 10001 10011 10101 11001 10001 01110', '1': '00100 01100 00100 00100 00100 00100 01110',
  '2': '01110 10001 00001 00010 00100 01000 11111', '3': '11110 00001 00001 01110 00001 00001 11110',
  '4': '00010 00110 01010 10010 11111 00010 00010', '5': '11111 10000 11110 00001 00001 10001 01110',
  '6': '00110 01000 10000 11110 10001 10001 01110', '7': '11111 00001 00010 00100 01000 01000 01000',
  '8': '01110 10001 10001 01110 10001 10001 01110', '9': '01110 10001 10001 01111 00001 00010 01100',
  '-': '00000 00000 00000 11111 00000 00000 00000', '.': '00000 00000 00000 00000 00000 01100 01100',
  ' ': '00000 00000 00000 00000 00000 00000 00000',
};

/**
 * `text` in capitals (5x7 bitmap font, each pixel `scale` x `scale`), one pixel of `bg` around each glyph.
 * @example
 * textRaster('Happy', { scale: 2 }).width // 5 glyphs x 6 px x 2 = 60
 */
export function textRaster(text: string, o: { scale?: number; fg?: readonly number[]; bg?: readonly number[] } = {}): Raster {
  const scale = o.scale ?? 1, fg = o.fg ?? [0, 0, 0], bg = o.bg ?? [255, 255, 255];
  const chars = [...text.toUpperCase()];
  const out = { width: chars.length * 6 * scale, height: 9 * scale, rgb: new Uint8Array(chars.length * 6 * scale * 9 * scale * 3) };
  for (let i = 0; i < out.width * out.height; i++) out.rgb.set(bg, i * 3);
  chars.forEach((ch, k) => {
    const rows = (FONT[ch] ?? FONT[' ']).split(' ');
    rows.forEach((bits, r) => [...bits].forEach((b, c) => {
      if (b !== '1') return;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
        const x = (k * 6 + c) * scale + dx, y = (r + 1) * scale + dy;
        out.rgb.set(fg, (y * out.width + x) * 3);
      }
    }));
  });
  return out;
}

/** The colour of the synthetic-data banner (and its text). */
export const SYNTHETIC_BANNER_RGB = [255, 224, 178] as const;

/**
 * The picture with a banner on top reading "SYNTHETIC DATA - NOT FER2013" (shortened to fit), so a figure copied out
 * of a report on the synthetic faces still says what it is.
 */
export function markSynthetic(r: Raster): Raster {
  const texts = ['SYNTHETIC DATA - NOT FER2013', 'SYNTHETIC DATA', 'SYNTHETIC'];
  const scale = Math.max(1, Math.min(3, Math.floor(r.width / 250)));
  const text = texts.find((t) => t.length * 6 * scale + 4 <= r.width) ?? 'SYNTH';
  const label = textRaster(text, { scale, fg: [160, 30, 0], bg: SYNTHETIC_BANNER_RGB });
  const bannerH = label.height + 4;
  const out = blank(Math.max(r.width, label.width), r.height + bannerH);
  for (let i = 0; i < out.width * bannerH; i++) out.rgb.set(SYNTHETIC_BANNER_RGB, i * 3);
  blit(out, label, 2, 2);
  blit(out, r, 0, bannerH);
  return out;
}

/** {@link markSynthetic} on encoded PNG bytes. */
export function markSyntheticPng(bytes: Uint8Array): Uint8Array {
  return encodePng(markSynthetic(decodePng(bytes)));
}
