import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak } from '@fer/testing';
import { createFaceDetector, cropFacePixels, cropFaces, type FaceDetector } from './node.js';
import { createFaceDetector as createBrowserSafe } from './index.js';

// scikit-image's astronaut.png (public domain, NASA; fixtures/README.md), 512x512, as JPEG.
const astro = jpeg.decode(readFileSync(new URL('../fixtures/astronaut.jpg', import.meta.url)), { useTArray: true, formatAsRGBA: true });
const image = { data: astro.data, width: astro.width, height: astro.height };

let detector: FaceDetector;
beforeAll(async () => {
  await tf.setBackend('wasm'); // the cpu backend takes ~3 s per detection
  detector = await createFaceDetector();
});
afterAll(() => detector?.dispose());

describe('detect', () => {
  it('finds the one face on the astronaut photo, with a plausible box and keypoints', async () => {
    const faces = await expectNoLeak(tf, () => detector.detect(image));
    expect(faces).toHaveLength(1);
    const [f] = faces;
    expect(f.score).toBeGreaterThan(0.8);
    // Her face spans about x 175-280, y 75-180 (eyes at y ~ 102, mouth ~ 150).
    expect(f.box.x).toBeGreaterThan(150); expect(f.box.x).toBeLessThan(200);
    expect(f.box.y).toBeGreaterThan(50); expect(f.box.y).toBeLessThan(100);
    expect(f.box.width).toBeGreaterThan(80); expect(f.box.width).toBeLessThan(130);
    const k = f.keypoints;
    expect(k.rightEye.x).toBeLessThan(k.leftEye.x); // the person's right eye is on the image's left
    expect(k.mouth.y).toBeGreaterThan(k.noseTip.y);
    expect(k.noseTip.y).toBeGreaterThan(k.rightEye.y);
    expect(Math.abs(f.angle)).toBeLessThan(0.2);
  });

  it('gives the same faces for a tensor [h, w, 3] and for RGBA pixels', async () => {
    const rgb = tf.tidy(() => tf.tensor3d(astro.data, [512, 512, 4], 'int32').slice([0, 0, 0], [512, 512, 3]));
    const [a] = await detector.detect(rgb);
    const [b] = await detector.detect(image);
    rgb.dispose();
    expect(a.box.x).toBeCloseTo(b.box.x, 3);
    expect(a.score).toBeCloseTo(b.score, 5);
  });

  it('maps boxes back through the letterbox of a non-square picture', async () => {
    // The astronaut pasted at (300, 40) into a 1000x600 gray picture.
    const W = 1000, H = 600;
    const big = new Uint8Array(W * H * 4).fill(128);
    for (let y = 0; y < 512; y++) big.set(astro.data.subarray(y * 512 * 4, (y + 1) * 512 * 4), ((y + 40) * W + 300) * 4);
    const [a] = await detector.detect({ data: big, width: W, height: H });
    const [b] = await detector.detect(image);
    expect(Math.abs(a.box.x - (b.box.x + 300))).toBeLessThan(8);
    expect(Math.abs(a.box.y - (b.box.y + 40))).toBeLessThan(8);
    expect(Math.abs(a.box.width - b.box.width)).toBeLessThan(12);
  });

  it('finds no face on a blank or noisy picture', async () => {
    expect(await detector.detect({ data: new Uint8Array(300 * 200 * 4).fill(200), width: 300, height: 200 })).toEqual([]);
    let s = 1;
    const noise = new Uint8Array(256 * 256 * 3).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
    expect(await detector.detect({ data: noise, width: 256, height: 256, channels: 3 })).toEqual([]);
  });

  it('finds a small face through the zoomed tiles that one pass over the picture misses, without leaks', async () => {
    // The astronaut shrunk to a third (her face about 30 pixels wide) at (300, 200) in a 1600x1200 gray picture:
    // 5 of BlazeFace's 256 input pixels in one pass, 8 in the level-1 tiles (960 pixels), 13 at level 2 (576).
    const W = 1600, H = 1200, k = 3, side = Math.floor(512 / k);
    const big = new Uint8Array(W * H * 4).fill(128);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        for (let c = 0; c < 4; c++) {
          let sum = 0;
          for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) sum += astro.data[((y * k + j) * 512 + x * k + i) * 4 + c];
          big[((y + 200) * W + x + 300) * 4 + c] = Math.round(sum / (k * k));
        }
      }
    }
    const picture = { data: big, width: W, height: H };
    const [ref] = await detector.detect(image);
    const levels = async (tileLevels: number) => {
      const d = await createFaceDetector({ tileLevels });
      try {
        return await expectNoLeak(tf, () => d.detect(picture));
      } finally {
        d.dispose();
      }
    };
    expect(await levels(0)).toEqual([]);
    expect(await levels(1)).toEqual([]);
    const faces = await levels(2);
    expect(faces).toHaveLength(1);
    const [f] = faces;
    // Where the shrunk face is: the full-size box / 3, moved by the paste offset.
    expect(Math.abs(f.box.x - (ref.box.x / k + 300))).toBeLessThan(5);
    expect(Math.abs(f.box.y - (ref.box.y / k + 200))).toBeLessThan(5);
    expect(Math.abs(f.box.width - ref.box.width / k)).toBeLessThan(0.25 * (ref.box.width / k)); // 13 input pixels: a coarse box
    expect(f.keypoints.rightEye.x).toBeLessThan(f.keypoints.leftEye.x);
  });

  it('refuses bad options and images with FerFaceError codes', async () => {
    await expect(createFaceDetector({ tileLevels: 1.5 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('tileLevels') });
    await expect(createFaceDetector({ tileScoreThreshold: -1 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('tileScoreThreshold') });
    await expect(createFaceDetector({ scoreThreshold: 2 })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(createFaceDetector({ treshold: 0.5 } as never)).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('treshold') });
    await expect(createBrowserSafe()).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('@fer/face/node') });
    await expect(createFaceDetector({ model: { load: async () => { throw new Error('404'); } } })).rejects.toMatchObject({ code: 'E_BAD_MODEL' });
    await expect(detector.detect({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
    const t = tf.zeros([4, 4]);
    await expect(detector.detect(t)).rejects.toMatchObject({ code: 'E_BAD_IMAGE', message: expect.stringContaining('[4, 4]') });
    t.dispose();
    const d2 = await createFaceDetector();
    d2.dispose();
    await expect(d2.detect(image)).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
});

describe('cropFaces', () => {
  it('crops 48x48 gray faces, as bytes and as a tensor, without leaks', async () => {
    const faces = await detector.detect(image);
    const { pixels, count } = await expectNoLeak(tf, () => cropFacePixels(image, faces));
    expect(count).toBe(1);
    expect(pixels.length).toBe(48 * 48);
    const t = await expectNoLeak(tf, () => cropFaces(image, faces), 1);
    expect(t.shape).toEqual([1, 48, 48, 1]);
    expect([...(await t.data())]).toEqual([...pixels]);
    t.dispose();
    // A face crop has structure: not flat (the eyes are darker than the cheeks).
    const mean = pixels.reduce((s, v) => s + v, 0) / pixels.length;
    const sd = Math.sqrt(pixels.reduce((s, v) => s + (v - mean) ** 2, 0) / pixels.length);
    expect(sd).toBeGreaterThan(20);
    const none = await cropFaces(image, []);
    expect(none.shape).toEqual([0, 48, 48, 1]);
    none.dispose();
  });

  it('levels the eyes: a rotated photo gives nearly the same crop', async () => {
    const [f] = await detector.detect(image);
    const { pixels: ref } = await cropFacePixels(image, [f]);
    // Rotate the photo by 20 degrees about the face centre (nearest neighbour), detect again, crop.
    const a = (20 * Math.PI) / 180, cx = f.box.x + f.box.width / 2, cy = f.box.y + f.box.height / 2;
    const rot = new Uint8Array(512 * 512 * 4);
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const sx = Math.round(cx + Math.cos(a) * (x - cx) + Math.sin(a) * (y - cy));
        const sy = Math.round(cy - Math.sin(a) * (x - cx) + Math.cos(a) * (y - cy));
        const q = (y * 512 + x) * 4;
        if (sx >= 0 && sx < 512 && sy >= 0 && sy < 512) rot.set(astro.data.subarray((sy * 512 + sx) * 4, (sy * 512 + sx) * 4 + 4), q);
      }
    }
    const faces = await detector.detect({ data: rot, width: 512, height: 512 });
    expect(faces).toHaveLength(1);
    expect(faces[0].angle).toBeGreaterThan(0.2);
    const { pixels } = await cropFacePixels({ data: rot, width: 512, height: 512 }, faces);
    const unrotated = await cropFacePixels({ data: rot, width: 512, height: 512 }, faces, { rotate: false });
    const corr = (p: Uint8Array) => {
      const n = p.length, ma = p.reduce((s, v) => s + v, 0) / n, mb = ref.reduce((s, v) => s + v, 0) / n;
      let ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < n; i++) { ab += (p[i] - ma) * (ref[i] - mb); aa += (p[i] - ma) ** 2; bb += (ref[i] - mb) ** 2; }
      return ab / Math.sqrt(aa * bb);
    };
    expect(corr(pixels)).toBeGreaterThan(0.9);
    expect(corr(pixels)).toBeGreaterThan(corr(unrotated.pixels) + 0.05);
  });

  it('refuses bad faces and options', async () => {
    await expect(cropFacePixels(image, [{ box: { x: 0, y: 0, width: 10, height: 10 } } as never])).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    await expect(cropFacePixels(image, [], { scale: 0 })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(cropFacePixels(image, [], { luma: 'rec2020' as never })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
});
