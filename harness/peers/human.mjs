// The @vladmandic/human peer of `fer bench faces`: a worker thread (its own tfjs engine, so human's CommonJS tfjs
// and its WASM backend never meet the harness's) running human's own face pipeline, configured as its README
// shows for face detection + emotion only: BlazeFace (human's defaults: minConfidence 0.2, box scale 1.4) and its
// emotion model (oarriaga's, 64x64 gray), with mesh, iris, description and every body/hand/object model off
// (workerData.mesh: true turns its face mesh on, as in human's defaults: the emotion model then gets the mesh's crop).
// Backend: human's Node WASM build (dist/human.node-wasm.js: tfjs-core + tfjs-backend-wasm, no tfjs-node), one
// thread. Models: the files in human's npm package, served to it over a loopback HTTP server (human loads models
// with fetch(), which in Node takes no file: URLs); nothing is downloaded.
// Messages in: { data: Uint8Array (RGBA), width, height }; out: { faces: [{ box, score, emotion, emotionScore }], ms }
// (ms: tensor creation + human.detect + reading the results), or { ready: { version, backend } }, or { error }.
// In: { crops: Uint8Array (count 48x48 gray faces), count }; out: { emotions: [label per crop] }: human's emotion
// model alone on face crops, preprocessed as human does (resized to its 64x64 input, gray 0-1 mapped to [-1, 1]).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);

async function start() {
  const humanDir = dirname(dirname(require.resolve('@vladmandic/human')));
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm', { paths: [humanDir] }));
  const server = createServer(async (req, res) => {
    try {
      res.end(await readFile(join(humanDir, 'models', decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/^\/+/, ''))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  const { Human } = require(join(humanDir, 'dist/human.node-wasm.js'));
  const human = new Human({
    backend: 'wasm', wasmPath: `${wasmDir}/`, modelBasePath: `http://127.0.0.1:${server.address().port}/`,
    debug: false, warmup: 'none', cacheSensitivity: 0, skipAllowed: false,
    face: { enabled: true, detector: { maxDetected: 20, rotation: false }, mesh: { enabled: Boolean(workerData?.mesh) }, iris: { enabled: false }, description: { enabled: false }, emotion: { enabled: true } },
    body: { enabled: false }, hand: { enabled: false }, object: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false },
  });
  await human.load();
  const emotionModel = await human.tf.loadGraphModel(`http://127.0.0.1:${server.address().port}/emotion.json`);
  return { human, emotionModel };
}

try {
  const { human, emotionModel } = await start();
  // The order of human's emotion model's outputs (human's src/gear/emotion.ts, gray-input models).
  const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
  const classify = (crops, count) => {
    const tf = human.tf, side = emotionModel.inputs[0].shape[2];
    const out = [];
    for (let i = 0; i < count; i++) {
      const p = tf.tidy(() => {
        const x = tf.tensor4d(Float32Array.from(crops.subarray(i * 2304, (i + 1) * 2304), (v) => v / 255), [1, 48, 48, 1]);
        return emotionModel.execute(tf.mul(tf.sub(tf.image.resizeBilinear(x, [side, side], false), 0.5), 2));
      });
      const v = p.dataSync();
      p.dispose();
      out.push(EMOTIONS[v.indexOf(Math.max(...v))]);
    }
    return out;
  };
  parentPort.postMessage({ ready: { version: human.version, backend: human.tf.getBackend(), detectorScale: human.config.face.detector.scale, minConfidence: human.config.face.detector.minConfidence, mesh: human.config.face.mesh.enabled } });
  parentPort.on('message', async ({ data, width, height, crops, count }) => {
    try {
      if (crops) {
        parentPort.postMessage({ emotions: classify(crops, count) });
        return;
      }
      const t0 = performance.now();
      const rgb = new Uint8Array(width * height * 3);
      for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) { rgb[i] = data[j]; rgb[i + 1] = data[j + 1]; rgb[i + 2] = data[j + 2]; }
      const input = human.tf.tensor4d(rgb, [1, height, width, 3], 'int32');
      const result = await human.detect(input);
      human.tf.dispose(input);
      const faces = result.face.map((f) => ({ box: f.box, score: f.score, emotion: f.emotion?.[0]?.emotion ?? null, emotionScore: f.emotion?.[0]?.score ?? null }));
      parentPort.postMessage({ faces, ms: performance.now() - t0 });
    } catch (e) {
      parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
    }
  });
} catch (e) {
  parentPort.postMessage({ error: `@vladmandic/human did not start: ${e instanceof Error ? e.message : String(e)}` });
}
