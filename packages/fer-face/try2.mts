import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import jpeg from 'jpeg-js';
import { createFaceDetector, cropFacePixels } from './src/node.ts';
await tf.setBackend('wasm');
const { PNG } = await import('/work/wt-face/harness/node_modules/pngjs/lib/png.js');
const save = (p: Uint8Array, name: string) => { const png = new PNG({ width: 48, height: 48 }); for (let i = 0; i < 2304; i++) { png.data[i*4]=png.data[i*4+1]=png.data[i*4+2]=p[i]; png.data[i*4+3]=255; } writeFileSync(name, PNG.sync.write(png)); };
const astro = jpeg.decode(readFileSync('fixtures/astronaut.jpg'), { useTArray: true, formatAsRGBA: true });
const image = { data: astro.data, width: 512, height: 512 };
const det = await createFaceDetector();
let t0 = performance.now();
const [f] = await det.detect(image);
console.log('ms', performance.now() - t0);
t0 = performance.now(); await det.detect(image); console.log('ms2', performance.now() - t0);
console.log(f.box, f.angle, f.keypoints);
save((await cropFacePixels(image, [f])).pixels, '/tmp/c0.png');
for (const deg of [20, -20]) {
const a = (deg * Math.PI) / 180, cx = f.box.x + f.box.width / 2, cy = f.box.y + f.box.height / 2;
const rot = new Uint8Array(512 * 512 * 4);
for (let y = 0; y < 512; y++) for (let x = 0; x < 512; x++) {
  const sx = Math.round(cx + Math.cos(a) * (x - cx) + Math.sin(a) * (y - cy));
  const sy = Math.round(cy - Math.sin(a) * (x - cx) + Math.cos(a) * (y - cy));
  if (sx >= 0 && sx < 512 && sy >= 0 && sy < 512) rot.set(astro.data.subarray((sy * 512 + sx) * 4, (sy * 512 + sx) * 4 + 4), (y * 512 + x) * 4);
}
const faces = await det.detect({ data: rot, width: 512, height: 512 });
console.log(deg, faces.map(g => [g.box, g.angle, g.score]));
save((await cropFacePixels({ data: rot, width: 512, height: 512 }, faces)).pixels, `/tmp/c${deg}.png`);
}
