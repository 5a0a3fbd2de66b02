import { checkKeys, checkNumber } from './_config.js';
import { mulberry32 } from './_rng.js';
import { FerDataError } from './errors.js';

/** Fill for pixels moved in from outside the image. */
export type FillMode = 'edge' | 'reflect' | 'constant';

/**
 * One augmentation step. Each is applied per image with probability `p`, in the order given.
 * Values are on the raw 0-255 scale (augment before normalizing).
 */
export type AugmentSpec =
  | { name: 'hflip'; p?: number } // the paper's horizontal flip, p default 0.5
  | { name: 'shift'; max?: number; fill?: FillMode; value?: number; p?: number } // random shift by up to `max` px (default 4) = pad-and-crop
  | { name: 'crop'; padding?: number; fill?: FillMode; value?: number; p?: number } // alias of shift: pad by `padding`, random 48x48 crop
  | { name: 'rotate'; degrees?: number; fill?: FillMode; value?: number; p?: number } // uniform in [-degrees, degrees] (default 10), bilinear
  | { name: 'scale'; min?: number; max?: number; fill?: FillMode; value?: number; p?: number } // zoom factor uniform in [min, max] (default 0.9-1.1)
  | { name: 'brightness'; max?: number; p?: number } // add uniform [-max, max] * 255 (default 0.2)
  | { name: 'contrast'; min?: number; max?: number; p?: number } // (x - mean) * f + mean, f uniform in [min, max] (default 0.8-1.2)
  | { name: 'erase'; p?: number; area?: [number, number]; ratio?: [number, number]; fill?: 'random' | number }; // Zhong et al. 2017, p default 0.5

/** Spec names accepted by {@link augment}. */
export const AUGMENT_NAMES = ['hflip', 'shift', 'crop', 'rotate', 'scale', 'brightness', 'contrast', 'erase'] as const;

const KEYS: Record<(typeof AUGMENT_NAMES)[number], readonly string[]> = {
  hflip: ['name', 'p'],
  shift: ['name', 'max', 'fill', 'value', 'p'],
  crop: ['name', 'padding', 'fill', 'value', 'p'],
  rotate: ['name', 'degrees', 'fill', 'value', 'p'],
  scale: ['name', 'min', 'max', 'fill', 'value', 'p'],
  brightness: ['name', 'max', 'p'],
  contrast: ['name', 'min', 'max', 'p'],
  erase: ['name', 'p', 'area', 'ratio', 'fill'],
};

interface Resolved {
  name: (typeof AUGMENT_NAMES)[number];
  p: number;
  a: number; // shift/max, rotate/degrees, scale/min, brightness/max, contrast/min, erase area lo
  b: number; // scale/max, contrast/max, erase area hi
  c: number; // erase ratio lo
  d: number; // erase ratio hi
  fill: FillMode | 'random' | 'value';
  value: number;
}

/**
 * Validates augmentation specs (unknown names or keys throw E_BAD_OPTION) and fills defaults.
 * @example
 * validateAugment([{ name: 'hflip' }, { name: 'shift', max: 3 }]);
 */
export function validateAugment(specs: readonly AugmentSpec[]): readonly AugmentSpec[] {
  resolveAll(specs);
  return specs;
}

/**
 * Augments `count` images of `width`x`height` in place (Float32Array on the 0-255 scale), seeded:
 * the same (x, specs, seed) gives the same output. Returns `x`.
 * @example
 * const x = Float32Array.from(ds.pixels.subarray(0, 2304 * 32));
 * augment(x, 32, [{ name: 'hflip' }, { name: 'rotate', degrees: 10 }, { name: 'erase' }], { seed: 7 });
 */
export function augment(
  x: Float32Array, count: number, specs: readonly AugmentSpec[],
  opts: { seed?: number; random?: () => number; width?: number; height?: number } = {},
): Float32Array {
  checkKeys('augment', opts, ['seed', 'random', 'width', 'height']);
  const w = opts.width ?? 48, h = opts.height ?? 48;
  const px = w * h;
  if (!(x instanceof Float32Array) || x.length < count * px) {
    throw new FerDataError('E_BAD_PIXELS', `augment: got ${x instanceof Float32Array ? `${x.length} values` : typeof x} for ${count} images of ${w}x${h}, expected a Float32Array of at least ${count * px}.`);
  }
  const rs = resolveAll(specs);
  const r = opts.random ?? mulberry32(opts.seed ?? 0);
  const tmp = new Float32Array(px);
  for (let i = 0; i < count; i++) {
    const img = x.subarray(i * px, (i + 1) * px);
    for (const s of rs) {
      if (s.p < 1 && r() >= s.p) continue;
      apply(img, tmp, w, h, s, r);
    }
  }
  return x;
}

// --- Internal helpers ---

function resolveAll(specs: readonly AugmentSpec[]): Resolved[] {
  if (!Array.isArray(specs)) throw new FerDataError('E_BAD_OPTION', `augment: specs is ${typeof specs}, expected an array like [{ name: 'hflip' }].`);
  return specs.map((s, k) => resolve(s, k));
}

function resolve(s: AugmentSpec, k: number): Resolved {
  const where = `augment spec #${k}`;
  if (!s || typeof s !== 'object' || !AUGMENT_NAMES.includes(s.name)) {
    throw new FerDataError('E_BAD_OPTION', `${where}: name is ${JSON.stringify((s as { name?: unknown })?.name)}, expected one of ${AUGMENT_NAMES.join(', ')}.`);
  }
  checkKeys(`${where} (${s.name})`, s, KEYS[s.name]);
  const o = s as Record<string, unknown>;
  const num = (key: string, def: number, lo: number, hi: number) => checkNumber(where, key, o[key] ?? def, lo, hi);
  const p = num('p', s.name === 'hflip' || s.name === 'erase' ? 0.5 : 1, 0, 1);
  const fillOf = (): { fill: FillMode | 'value'; value: number } => {
    const f = o.fill ?? 'edge';
    if (f !== 'edge' && f !== 'reflect' && f !== 'constant') throw new FerDataError('E_BAD_OPTION', `${where}: fill is ${JSON.stringify(f)}, expected 'edge', 'reflect' or 'constant'.`);
    return { fill: f, value: num('value', 0, 0, 255) };
  };
  const base = { name: s.name, p, a: 0, b: 0, c: 0, d: 0, fill: 'edge' as Resolved['fill'], value: 0 };
  switch (s.name) {
    case 'hflip': return base;
    case 'shift': return { ...base, ...fillOf(), a: num('max', 4, 0, 24) };
    case 'crop': return { ...base, ...fillOf(), a: num('padding', 4, 0, 24) };
    case 'rotate': return { ...base, ...fillOf(), a: num('degrees', 10, 0, 180) };
    case 'scale': {
      const lo = num('min', 0.9, 0.1, 10), hi = num('max', 1.1, 0.1, 10);
      if (lo > hi) throw new FerDataError('E_BAD_OPTION', `${where}: min ${lo} > max ${hi}, expected min <= max.`);
      return { ...base, ...fillOf(), a: lo, b: hi };
    }
    case 'brightness': return { ...base, a: num('max', 0.2, 0, 1) };
    case 'contrast': {
      const lo = num('min', 0.8, 0, 10), hi = num('max', 1.2, 0, 10);
      if (lo > hi) throw new FerDataError('E_BAD_OPTION', `${where}: min ${lo} > max ${hi}, expected min <= max.`);
      return { ...base, a: lo, b: hi };
    }
    case 'erase': {
      const pair = (key: string, def: [number, number], lo: number, hi: number): [number, number] => {
        const v = o[key] ?? def;
        if (!Array.isArray(v) || v.length !== 2 || v.some((t) => typeof t !== 'number' || !(t >= lo && t <= hi)) || v[0] > v[1]) {
          throw new FerDataError('E_BAD_OPTION', `${where}: ${key} is ${JSON.stringify(v)}, expected [lo, hi] with ${lo} <= lo <= hi <= ${hi}.`);
        }
        return v as [number, number];
      };
      const [a, b] = pair('area', [0.02, 0.2], 0, 1);
      const [c, d] = pair('ratio', [0.3, 3.3], 0.01, 100);
      const f = o.fill ?? 'random';
      if (f !== 'random' && !(typeof f === 'number' && f >= 0 && f <= 255)) throw new FerDataError('E_BAD_OPTION', `${where}: fill is ${JSON.stringify(f)}, expected 'random' or a number 0-255.`);
      return { ...base, a, b, c, d, fill: f === 'random' ? 'random' : 'value', value: f === 'random' ? 0 : f };
    }
  }
}

function apply(img: Float32Array, tmp: Float32Array, w: number, h: number, s: Resolved, r: () => number): void {
  const px = w * h;
  switch (s.name) {
    case 'hflip':
      for (let y = 0; y < h; y++) {
        const o = y * w;
        for (let x = 0, x2 = w - 1; x < x2; x++, x2--) { const t = img[o + x]; img[o + x] = img[o + x2]; img[o + x2] = t; }
      }
      return;
    case 'shift':
    case 'crop': {
      const m = Math.floor(s.a);
      const dx = Math.floor(r() * (2 * m + 1)) - m, dy = Math.floor(r() * (2 * m + 1)) - m;
      if (dx === 0 && dy === 0) return;
      tmp.set(img);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[y * w + x] = sample(tmp, w, h, x - dx, y - dy, s);
      return;
    }
    case 'rotate':
    case 'scale': {
      const ang = s.name === 'rotate' ? ((r() * 2 - 1) * s.a * Math.PI) / 180 : 0;
      const z = s.name === 'scale' ? s.a + r() * (s.b - s.a) : 1;
      // Inverse map about the centre: src = R(-ang) * (dst - c) / z + c.
      const cos = Math.cos(ang) / z, sin = Math.sin(ang) / z;
      const cx = (w - 1) / 2, cy = (h - 1) / 2;
      tmp.set(img);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const ux = x - cx, uy = y - cy;
          const sx = cos * ux + sin * uy + cx, sy = -sin * ux + cos * uy + cy;
          const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
          const a = sample(tmp, w, h, x0, y0, s), b = sample(tmp, w, h, x0 + 1, y0, s);
          const c = sample(tmp, w, h, x0, y0 + 1, s), d = sample(tmp, w, h, x0 + 1, y0 + 1, s);
          img[y * w + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
        }
      }
      return;
    }
    case 'brightness': {
      const delta = (r() * 2 - 1) * s.a * 255;
      for (let i = 0; i < px; i++) img[i] = clamp(img[i] + delta);
      return;
    }
    case 'contrast': {
      const f = s.a + r() * (s.b - s.a);
      let mean = 0;
      for (let i = 0; i < px; i++) mean += img[i];
      mean /= px;
      for (let i = 0; i < px; i++) img[i] = clamp((img[i] - mean) * f + mean);
      return;
    }
    case 'erase': {
      // Random erasing (Zhong et al. 2017): up to 10 tries to fit a box of the drawn area and aspect ratio.
      for (let attempt = 0; attempt < 10; attempt++) {
        const area = px * (s.a + r() * (s.b - s.a));
        const ratio = Math.exp(Math.log(s.c) + r() * (Math.log(s.d) - Math.log(s.c)));
        const eh = Math.round(Math.sqrt(area * ratio)), ew = Math.round(Math.sqrt(area / ratio));
        if (eh < 1 || ew < 1 || eh > h || ew > w) continue;
        const y0 = Math.floor(r() * (h - eh + 1)), x0 = Math.floor(r() * (w - ew + 1));
        for (let y = y0; y < y0 + eh; y++) for (let x = x0; x < x0 + ew; x++) img[y * w + x] = s.fill === 'random' ? Math.floor(r() * 256) : s.value;
        return;
      }
      return;
    }
  }
}

function sample(src: Float32Array, w: number, h: number, x: number, y: number, s: Resolved): number {
  if (x >= 0 && x < w && y >= 0 && y < h) return src[y * w + x];
  if (s.fill === 'constant') return s.value;
  if (s.fill === 'reflect') {
    x = reflect(x, w);
    y = reflect(y, h);
  } else {
    x = x < 0 ? 0 : x >= w ? w - 1 : x;
    y = y < 0 ? 0 : y >= h ? h - 1 : y;
  }
  return src[y * w + x];
}

function reflect(i: number, n: number): number {
  // Reflect without repeating the edge (numpy 'reflect'); period 2n-2.
  if (n === 1) return 0;
  const period = 2 * n - 2;
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
