// Boxes and labels drawn onto RGBA pixels (fer predict --annotate): plain pixel writes and a 5x7 bitmap font,
// so no font files or renderer are needed.

/** 5x7 glyphs, one row per string of 5 bits; lower case is drawn as upper case, anything else as '?'. */
const FONT: Record<string, string[]> = {
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'], B: ['11110', '10001', '10001', '11110', '10001', '10001', '11110'],
  C: ['01110', '10001', '10000', '10000', '10000', '10001', '01110'], D: ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'], F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  G: ['01110', '10001', '10000', '10111', '10001', '10001', '01111'], H: ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'], J: ['00111', '00010', '00010', '00010', '00010', '10010', '01100'],
  K: ['10001', '10010', '10100', '11000', '10100', '10010', '10001'], L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  M: ['10001', '11011', '10101', '10101', '10001', '10001', '10001'], N: ['10001', '10001', '11001', '10101', '10011', '10001', '10001'],
  O: ['01110', '10001', '10001', '10001', '10001', '10001', '01110'], P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  Q: ['01110', '10001', '10001', '10001', '10101', '10010', '01101'], R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'], T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  U: ['10001', '10001', '10001', '10001', '10001', '10001', '01110'], V: ['10001', '10001', '10001', '10001', '10001', '01010', '00100'],
  W: ['10001', '10001', '10001', '10101', '10101', '10101', '01010'], X: ['10001', '10001', '01010', '00100', '01010', '10001', '10001'],
  Y: ['10001', '10001', '10001', '01010', '00100', '00100', '00100'], Z: ['11111', '00001', '00010', '00100', '01000', '10000', '11111'],
  0: ['01110', '10001', '10011', '10101', '11001', '10001', '01110'], 1: ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  2: ['01110', '10001', '00001', '00010', '00100', '01000', '11111'], 3: ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
  4: ['00010', '00110', '01010', '10010', '11111', '00010', '00010'], 5: ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  6: ['00110', '01000', '10000', '11110', '10001', '10001', '01110'], 7: ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  8: ['01110', '10001', '10001', '01110', '10001', '10001', '01110'], 9: ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  '%': ['11000', '11001', '00010', '00100', '01000', '10011', '00011'], '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
  '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'], '?': ['01110', '10001', '00001', '00010', '00100', '00000', '00100'],
  '#': ['01010', '01010', '11111', '01010', '11111', '01010', '01010'], ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
};

export interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

type Colour = readonly [number, number, number];

function fillRect(img: Rgba, x0: number, y0: number, w: number, h: number, c: Colour): void {
  const xa = Math.max(0, Math.round(x0)), ya = Math.max(0, Math.round(y0));
  const xb = Math.min(img.width, Math.round(x0 + w)), yb = Math.min(img.height, Math.round(y0 + h));
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const p = (y * img.width + x) * 4;
      img.data[p] = c[0]; img.data[p + 1] = c[1]; img.data[p + 2] = c[2]; img.data[p + 3] = 255;
    }
  }
}

/** The outline of a box, `t` pixels thick, inside the box's edges. */
export function drawBox(img: Rgba, b: { x: number; y: number; width: number; height: number }, c: Colour, t: number): void {
  fillRect(img, b.x, b.y, b.width, t, c);
  fillRect(img, b.x, b.y + b.height - t, b.width, t, c);
  fillRect(img, b.x, b.y, t, b.height, c);
  fillRect(img, b.x + b.width - t, b.y, t, b.height, c);
}

/** Width in pixels of `text` at glyph scale `s` (6 x s per character, 1 column of spacing). */
export const textWidth = (text: string, s: number) => text.length * 6 * s + s;

/** Draws `text` on a filled background: top-left at (x, y), each font pixel s x s. */
export function drawLabel(img: Rgba, text: string, x: number, y: number, s: number, fg: Colour, bg: Colour): void {
  fillRect(img, x, y, textWidth(text, s), 9 * s, bg);
  [...text.toUpperCase()].forEach((ch, i) => {
    const g = FONT[ch] ?? FONT['?'];
    for (let r = 0; r < 7; r++) {
      for (let col = 0; col < 5; col++) if (g[r][col] === '1') fillRect(img, x + s + (i * 6 + col) * s, y + s + r * s, s, s, fg);
    }
  });
}

/**
 * Draws each face's box and its label (e.g. "#1 HAPPY 87%") above the box (below it at the top edge), scaled to the
 * picture's size. Writes into `img`.
 */
export function annotate(img: Rgba, faces: { box: { x: number; y: number; width: number; height: number }; label: string }[]): void {
  const s = Math.max(1, Math.round(Math.min(img.width, img.height) / 300));
  const t = Math.max(2, s);
  const green: Colour = [0, 220, 0], black: Colour = [0, 0, 0];
  for (const f of faces) {
    drawBox(img, f.box, green, t);
    const h = 9 * s;
    const y = f.box.y - h >= 0 ? f.box.y - h : Math.min(img.height - h, f.box.y + f.box.height);
    const x = Math.max(0, Math.min(img.width - textWidth(f.label, s), f.box.x));
    drawLabel(img, f.label, x, y, s, black, green);
  }
}
