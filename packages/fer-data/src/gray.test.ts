import { describe, expect, it } from 'vitest';
import { toGray48 } from './gray.js';
import * as browser from './browser.js';

describe('toGray48', () => {
  it("takes a canvas's ImageData bytes (Uint8ClampedArray) like a Uint8Array, and is in the browser entry", () => {
    const w = 96, h = 64;
    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i * 37) % 256);
    const a = new Uint8Array(2304), b = new Uint8Array(2304);
    toGray48({ data: rgba, width: w, height: h, channels: 4 }, a);
    browser.toGray48({ data: new Uint8ClampedArray(rgba), width: w, height: h, channels: 4 }, b);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(a.some((v) => v !== a[0])).toBe(true);
    expect(() => toGray48({ data: new Uint8ClampedArray(10), width: w, height: h, channels: 4 }, b)).toThrow(/got 10 bytes for 96x64x4/);
  });
});
