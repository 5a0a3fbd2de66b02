import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../rng.js';
import { pastedPicture } from './faces.js';

describe('bench faces: pastedPicture', () => {
  it('pastes the upscaled, rotated face where it says, on a seeded background', () => {
    const face = new Uint8Array(2304).map((_, i) => (i % 48 < 24 ? 10 : 240)); // left half dark
    const o = { width: 200, height: 150, size: 96, angle: 0, cx: 100, cy: 75 };
    const a = pastedPicture(face, o, mulberry32(1));
    expect(a).toEqual(pastedPicture(face, o, mulberry32(1))); // seeded
    const px = (img: Uint8Array, x: number, y: number) => img[(y * 200 + x) * 4];
    expect(px(a, 70, 75)).toBe(10); // left of centre: dark half, upscaled x2
    expect(px(a, 130, 75)).toBe(240);
    expect([px(a, 53, 75), px(a, 146, 75)]).toEqual([10, 240]); // just inside the 96-pixel square
    // A quarter turn (clockwise on screen, y down) puts the dark half on top.
    const b = pastedPicture(face, { ...o, angle: Math.PI / 2 }, mulberry32(1));
    expect(px(b, 100, 45)).toBe(10);
    expect(px(b, 100, 105)).toBe(240);
  });
});
