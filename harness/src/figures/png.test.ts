import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, grayTile, markSynthetic, markSyntheticPng, SYNTHETIC_BANNER_RGB, textRaster } from './png.js';

const inked = (r: { width: number; height: number; rgb: Uint8Array }) => {
  let n = 0;
  for (let i = 0; i < r.width * r.height; i++) if (r.rgb[i * 3] === 0) n++;
  return n;
};

describe('picture labels and the synthetic mark', () => {
  it('textRaster draws every letter of the class names (no blank glyphs)', () => {
    for (const name of ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral', 'SYNTHETIC DATA - NOT FER2013']) {
      const r = textRaster(name, { scale: 2 });
      expect(r.width).toBe(name.length * 12);
      for (let k = 0; k < name.length; k++) {
        if (name[k] === ' ') continue;
        const glyph = { width: 12, height: r.height, rgb: new Uint8Array(12 * r.height * 3) };
        for (let y = 0; y < r.height; y++) glyph.rgb.set(r.rgb.subarray((y * r.width + k * 12) * 3, (y * r.width + k * 12 + 12) * 3), y * 36);
        expect(inked(glyph), `${name}[${k}]`).toBeGreaterThan(4);
      }
    }
  });

  it('markSynthetic puts a banner above the picture and keeps the picture below it', () => {
    const face = grayTile(Float32Array.from({ length: 48 * 48 }, (_, i) => i % 7), 48, 48, 3);
    const m = markSynthetic(face);
    expect(m.width).toBe(face.width);
    expect(m.height).toBeGreaterThan(face.height);
    const bannerH = m.height - face.height;
    expect(Array.from(m.rgb.subarray(0, 3))).toEqual([...SYNTHETIC_BANNER_RGB]);
    // the banner holds text (dark red pixels), the rest is the picture unchanged
    let text = 0;
    for (let i = 0; i < m.width * bannerH; i++) if (m.rgb[i * 3] === 160) text++;
    expect(text).toBeGreaterThan(20);
    expect(Array.from(m.rgb.subarray(bannerH * m.width * 3))).toEqual(Array.from(face.rgb));
    // through PNG bytes too
    const back = decodePng(markSyntheticPng(encodePng(face)));
    expect(back.height).toBe(m.height);
    expect(Array.from(back.rgb.subarray(0, 3))).toEqual([...SYNTHETIC_BANNER_RGB]);
  });
});
