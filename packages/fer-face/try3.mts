import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import jpeg from 'jpeg-js';
import { createFaceDetector } from './src/node.ts';
import { sampleSquare, toGray } from './src/_image.ts';
await tf.setBackend('wasm');
const astro = jpeg.decode(readFileSync('fixtures/astronaut.jpg'), { useTArray: true, formatAsRGBA: true });
const det = await createFaceDetector();
const crop = (img, f, mode) => {
  const g = toGray({ ...img, channels: 4 }, 'bt601'); const out = new Uint8Array(2304);
  const k = f.keypoints; const ex = (k.rightEye.x + k.leftEye.x) / 2, ey = (k.rightEye.y + k.leftEye.y) / 2;
  const em = Math.hypot(k.mouth.x - ex, k.mouth.y - ey);
  const sq = mode === 'box' ? { cx: f.box.x + f.box.width / 2, cy: f.box.y + f.box.height / 2, side: f.box.width, angle: f.angle }
    : { cx: (ex + k.mouth.x) / 2, cy: (ey + k.mouth.y) / 2, side: em * 2.25, angle: f.angle };
  sampleSquare(g, 512, 512, sq, 48, out, 0); return { out, em, sq };
};
const corr = (p, ref) => { const n = p.length, ma = p.reduce((s, v) => s + v, 0) / n, mb = ref.reduce((s, v) => s + v, 0) / n; let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) { ab += (p[i] - ma) * (ref[i] - mb); aa += (p[i] - ma) ** 2; bb += (ref[i] - mb) ** 2; } return ab / Math.sqrt(aa * bb); };
const image = { data: astro.data, width: 512, height: 512 };
const [f] = await det.detect(image);
const ref = { box: crop(image, f, 'box').out, kp: crop(image, f, 'kp').out };
console.log('em', crop(image, f, 'kp').em, 'box', f.box.width, crop(image, f, 'kp').sq, crop(image, f, 'box').sq);
for (const deg of [-30, -20, -10, 10, 20, 30]) {
  const a = (deg * Math.PI) / 180, cx = f.box.x + f.box.width / 2, cy = f.box.y + f.box.height / 2;
  const rot = new Uint8Array(512 * 512 * 4);
  for (let y = 0; y < 512; y++) for (let x = 0; x < 512; x++) {
    const sx = Math.round(cx + Math.cos(a) * (x - cx) + Math.sin(a) * (y - cy));
    const sy = Math.round(cy - Math.sin(a) * (x - cx) + Math.cos(a) * (y - cy));
    if (sx >= 0 && sx < 512 && sy >= 0 && sy < 512) rot.set(astro.data.subarray((sy * 512 + sx) * 4, (sy * 512 + sx) * 4 + 4), (y * 512 + x) * 4);
  }
  const im = { data: rot, width: 512, height: 512 };
  const [g] = await det.detect(im);
  console.log(deg, 'box', corr(crop(im, g, 'box').out, ref.box).toFixed(3), 'kp', corr(crop(im, g, 'kp').out, ref.kp).toFixed(3), g.box.width.toFixed(1), crop(im, g, 'kp').em.toFixed(1));
}
