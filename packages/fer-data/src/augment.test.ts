import { describe, expect, it } from 'vitest';
import { augment } from './augment.js';

function ramp(): Float32Array {
  const x = new Float32Array(2304);
  for (let y = 0; y < 48; y++) for (let c = 0; c < 48; c++) x[y * 48 + c] = c * 5;
  return x;
}

describe('augment', () => {
  it('hflip with p=1 mirrors each row', () => {
    const x = augment(ramp(), 1, [{ name: 'hflip', p: 1 }], { seed: 1 });
    expect(x[0]).toBe(47 * 5);
    expect(x[47]).toBe(0);
  });
  it('is deterministic for a seed, and differs across seeds', () => {
    const specs = [{ name: 'shift', max: 4 }, { name: 'rotate', degrees: 15 }, { name: 'scale' }, { name: 'brightness' }, { name: 'contrast' }, { name: 'erase', p: 1 }] as const;
    const batch = () => { const b = new Float32Array(4 * 2304); for (let i = 0; i < 4; i++) b.set(ramp(), i * 2304); return b; };
    const a = augment(batch(), 4, specs, { seed: 3 }), b = augment(batch(), 4, specs, { seed: 3 }), c = augment(batch(), 4, specs, { seed: 4 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // images in one batch get different draws
    expect(a.subarray(0, 2304)).not.toEqual(a.subarray(2304, 4608));
    for (const v of a) expect(v >= 0 && v <= 255).toBe(true);
  });
  it('shift moves content by whole pixels with edge fill', () => {
    const x = augment(ramp(), 1, [{ name: 'shift', max: 3 }], { seed: 11 });
    const dx = (x[24 * 48 + 24] - 24 * 5) / -5; // value at centre = (24 - dx) * 5
    expect(Number.isInteger(dx) && Math.abs(dx) <= 3).toBe(true);
  });
  it('fill modes: constant uses the value, reflect mirrors without repeating the edge', () => {
    // find a seed whose shift is non-zero in x, then compare fills
    const c = augment(ramp(), 1, [{ name: 'shift', max: 6, fill: 'constant', value: 7 }], { seed: 21 });
    const moved = c.filter((v) => v === 7).length;
    expect(moved).toBeGreaterThan(0);
    const r = augment(ramp(), 1, [{ name: 'shift', max: 6, fill: 'reflect' }], { seed: 21 });
    expect(r.filter((v) => v === 7).length).toBe(0);
    const e = augment(ramp(), 1, [{ name: 'shift', max: 6, fill: 'edge' }], { seed: 21 });
    // where constant wrote 7, edge and reflect wrote image values (multiples of 5 from the ramp)
    for (let k = 0; k < 2304; k++) if (c[k] === 7) { expect(r[k] % 5).toBe(0); expect(e[k] % 5).toBe(0); }
    // reflect and edge differ somewhere in the filled band unless the shift is 1 px
    const dx = (c[24 * 48 + 24] - 24 * 5) / -5;
    if (Math.abs(dx) > 1) expect(Array.from(r)).not.toEqual(Array.from(e));
  });
  it('rotate 0 / scale 1 leave the image unchanged; brightness shifts the mean', () => {
    expect(augment(ramp(), 1, [{ name: 'rotate', degrees: 0 }, { name: 'scale', min: 1, max: 1 }], { seed: 1 })).toEqual(ramp());
    const x = new Float32Array(2304).fill(100);
    augment(x, 1, [{ name: 'brightness', max: 0.2 }], { seed: 2 });
    expect(x[0]).not.toBe(100);
    expect(Math.abs(x[0] - 100)).toBeLessThanOrEqual(51);
    expect(new Set(x).size).toBe(1);
  });
  it('erase blanks a rectangle with the fill value', () => {
    const x = augment(new Float32Array(2304).fill(100), 1, [{ name: 'erase', p: 1, fill: 0, area: [0.1, 0.1] }], { seed: 5 });
    const zeros = x.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(150);
    expect(zeros).toBeLessThan(320);
  });
  it('rejects unknown names, keys and bad values', () => {
    expect(() => augment(ramp(), 1, [{ name: 'mixup' } as never])).toThrow(/expected one of hflip/);
    expect(() => augment(ramp(), 1, [{ name: 'hflip', prob: 1 } as never])).toThrow(/unknown option "prob"/);
    expect(() => augment(ramp(), 1, [{ name: 'scale', min: 1.2, max: 1 }])).toThrow(/min 1.2 > max 1/);
    expect(() => augment(new Float32Array(10), 1, [])).toThrow(/at least 2304/);
  });
});
