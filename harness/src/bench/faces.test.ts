import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFaceDetector, cropFacePixels } from '@fer/face/node';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { readImage } from '../commands/predict.js';
import { mulberry32 } from '../rng.js';
import { faceFreePicture, pastedPicture, scrambled, startHumanPeer } from './faces.js';

const px = (img: Uint8Array, w: number, x: number, y: number) => img[(y * w + x) * 4];

describe('bench faces: pastedPicture', () => {
  it('pastes the upscaled, rotated face where it says, on a seeded background', () => {
    const face = new Uint8Array(2304).map((_, i) => (i % 48 < 24 ? 10 : 240)); // left half dark
    const o = { width: 200, height: 150, size: 96, angle: 0, cx: 100, cy: 75 };
    const a = pastedPicture(face, o, mulberry32(1));
    expect(a).toEqual(pastedPicture(face, o, mulberry32(1))); // seeded
    expect(px(a, 200, 70, 75)).toBe(10); // left of centre: dark half, upscaled x2
    expect(px(a, 200, 130, 75)).toBe(240);
    expect([px(a, 200, 53, 75), px(a, 200, 146, 75)]).toEqual([10, 240]); // just inside the 96-pixel square
    // A quarter turn (clockwise on screen, y down) puts the dark half on top.
    const b = pastedPicture(face, { ...o, angle: Math.PI / 2 }, mulberry32(1));
    expect(px(b, 200, 100, 45)).toBe(10);
    expect(px(b, 200, 100, 105)).toBe(240);
  });
});

describe('bench faces: face-free pictures', () => {
  it('scrambled: the same 6x6 blocks in another order (same pixels, not the face), seeded', () => {
    const face = new Uint8Array(2304).map((_, i) => i % 251);
    const s = scrambled(face, mulberry32(3));
    expect(s).toEqual(scrambled(face, mulberry32(3)));
    expect(s).not.toEqual(face);
    expect([...s].sort((a, b) => a - b)).toEqual([...face].sort((a, b) => a - b));
    // Each 6x6 block of the output is a whole block of the input.
    const block = (img: Uint8Array, bx: number, by: number) => Array.from({ length: 36 }, (_, k) => img[(by * 6 + Math.floor(k / 6)) * 48 + bx * 6 + (k % 6)]).join();
    const blocks = new Set(Array.from({ length: 64 }, (_, b) => block(face, b % 8, Math.floor(b / 8))));
    for (let b = 0; b < 64; b++) expect(blocks.has(block(s, b % 8, Math.floor(b / 8)))).toBe(true);
  });

  it('faceFreePicture: the bare background without faces, scrambled patches with them', () => {
    const face = new Uint8Array(2304).fill(0);
    const bare = faceFreePicture([], { width: 120, height: 90, sizes: [32] }, mulberry32(5));
    expect(bare).toHaveLength(120 * 90 * 4);
    const withPatch = faceFreePicture([face], { width: 120, height: 90, sizes: [32] }, mulberry32(5));
    // Same background (same seed), plus a black 32-pixel patch somewhere.
    let changed = 0;
    for (let i = 0; i < bare.length; i += 4) if (bare[i] !== withPatch[i]) { changed++; expect(withPatch[i]).toBe(0); }
    expect(changed).toBeGreaterThan(0.8 * 32 * 32);
    expect(changed).toBeLessThan(1.2 * 32 * 32);
  });
});

describe('bench faces: the @vladmandic/human peer', () => {
  it('runs human\'s face pipeline (BlazeFace + emotion) in a worker on Node\'s WASM backend: the astronaut is one happy face', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const astro = await readImage(resolve(here, '../../../packages/fer-face/fixtures/astronaut.jpg')); // RGBA
    const peer = await startHumanPeer();
    if ('unavailable' in peer) throw new Error(peer.unavailable);
    try {
      expect(peer.info).toMatchObject({ version: '3.3.6', backend: 'wasm', detectorScale: 1.4, mesh: false });
      const r = await peer.detect({ data: astro.data, width: 512, height: 512 });
      const faces = r.faces.filter((f) => f.score >= 0.5); // human keeps detections down to 0.2
      expect(faces).toHaveLength(1);
      const [x, y, w] = faces[0].box;
      expect(x + w / 2).toBeGreaterThan(200); expect(x + w / 2).toBeLessThan(250); // her face: x 175-280
      expect(y + w / 2).toBeGreaterThan(100); expect(y + w / 2).toBeLessThan(150);
      expect(faces[0].emotion).toBe('happy');
      expect(r.ms).toBeGreaterThan(0);
      // Its emotion model alone, on our 48x48 crop of her face and on a flat gray square.
      await tf.setBackend('wasm'); // this process's tfjs; human has its own in the worker
      const detector = await createFaceDetector();
      const { pixels } = await cropFacePixels(astro, await detector.detect(astro));
      detector.dispose();
      const labels = await peer.classify(Uint8Array.from([...pixels, ...new Uint8Array(2304).fill(128)]), 2);
      expect(labels).toHaveLength(2);
      expect(labels[0]).toBe('happy');
      expect(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']).toContain(labels[1]);
    } finally {
      await peer.close();
    }
  }, 60_000);
});
