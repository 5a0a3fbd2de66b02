// The demo page: a photo (file picker or the sample) or the webcam -> BlazeFace faces (@fer/face) -> 48x48 gray
// crops in FER2013's framing -> the expression model (@fer/models: loadModel from the URL of its folder, predict on
// raw 0-255 pixels with the normalizer saved in fer.json) -> a box and a bar chart per face.
// `window.ferDemo` exposes the page's state to the test (test/page.test.ts) and to the curious.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initBackend, type BackendChoice } from '@fer/engine';
import { createFaceDetector, cropFacePixels, type FaceDetector } from '@fer/face';
import { loadModel, predict, type LoadedModel } from '@fer/models';
import type { DemoState, FrameResult } from './frame.ts';

export type { DemoState, FrameResult } from './frame.ts';

const state: DemoState = { ready: false, error: null, backend: null, classNames: [], frames: 0, busy: false, source: null, last: null };
window.ferDemo = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
const video = $<HTMLVideoElement>('video');
const status = $('status');

let detector: FaceDetector;
/** The webcam's detector: one pass over the frame (`tileLevels: 0`), the same BlazeFace graph as `detector`. */
let liveDetector: FaceDetector;
let blazeFace: tf.GraphModel;
let model: LoadedModel;
let stream: MediaStream | null = null;

function say(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
  if (error) state.error = text;
}

/**
 * @fer/engine's initBackend for the page: WebGPU on a hardware adapter, else WebGL on a hardware renderer, else WASM
 * (a software WebGL, SwiftShader or llvmpipe without a GPU, is many times slower than WASM and is passed over).
 * `?backend=wasm` (webgpu, webgl, wasm, cpu) forces one, software renderers included.
 */
async function pickBackend(): Promise<string> {
  const forced = new URLSearchParams(location.search).get('backend');
  const { backend } = await initBackend({
    backend: (forced ?? 'auto') as BackendChoice,
    allowSoftwareAdapter: forced !== null,
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded },
  });
  await tf.ready();
  return backend;
}

async function start(): Promise<void> {
  try {
    state.backend = await pickBackend();
    $('backend').textContent = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' }[state.backend] ?? state.backend;
    // Both models are files served with the page (relative URLs: the page works from any folder; loadModel
    // resolves a string against the page's address).
    // Photos get the detector's defaults (zoomed tiles for small faces); the webcam one pass per frame, which is
    // about 4x faster and enough for a face near the camera.
    [blazeFace, model] = await Promise.all([tf.loadGraphModel(new URL('models/blazeface/blazeface.json', document.baseURI).href), loadModel('models/fer/')]);
    [detector, liveDetector] = await Promise.all([createFaceDetector({ model: blazeFace }), createFaceDetector({ model: blazeFace, tileLevels: 0 })]);
    state.classNames = model.meta.classNames;
    // One pass on a blank picture first: shader compilation (WebGL, WebGPU) and the first allocations are not
    // counted in the time per frame of the first photo.
    say('Warming up…');
    const blank = { data: new Uint8Array(128 * 128 * 4).fill(128), width: 128, height: 128 };
    await detector.detect(blank);
    await predict(model, new Uint8Array(model.meta.inputSize[0] * model.meta.inputSize[1]).fill(128), 1);
    const t = model.meta.training as { bestValAccuracy?: number; epochs?: number } | undefined;
    $('model-note').textContent = `Expression model: ${model.meta.modelName} (${model.meta.inputSize.join('x')} gray, normalizer ${String((model.meta.normalizer as { kind?: string } | undefined)?.kind ?? 'unit')} from fer.json)` +
      (typeof t?.bestValAccuracy === 'number' ? `, validation accuracy ${(t.bestValAccuracy * 100).toFixed(1)}% after ${t.epochs} epochs: a small demo model, not a good one` : '') +
      '. Face detector: MediaPipe BlazeFace (short range). Both are files served with this page.';
    state.ready = true;
    say('Ready: choose a photo, the sample, or the webcam.');
  } catch (e) {
    say(`Could not start: ${(e as Error).message}`, true);
  }
}

/** Faces and probabilities of what is on the canvas now. */
async function analyse(): Promise<FrameResult> {
  const t0 = performance.now();
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const faces = await (state.source === 'webcam' ? liveDetector : detector).detect(image);
  let probs: Float32Array = new Float32Array(0);
  if (faces.length) {
    const { pixels, count } = await cropFacePixels(image, faces);
    probs = (await predict(model, pixels, count)).probabilities;
  }
  const k = state.classNames.length;
  return {
    width: canvas.width,
    height: canvas.height,
    faces: faces.map((f, i) => ({ box: f.box, score: f.score, probabilities: Array.from(probs.subarray(i * k, (i + 1) * k)) })),
    ms: performance.now() - t0,
  };
}

function draw(result: FrameResult): void {
  ctx.lineWidth = Math.max(2, canvas.width / 200);
  ctx.font = `${Math.max(14, Math.round(canvas.width / 32))}px system-ui, sans-serif`;
  result.faces.forEach((f, i) => {
    const best = f.probabilities.indexOf(Math.max(...f.probabilities));
    const label = `${i + 1}: ${state.classNames[best]} ${(f.probabilities[best] * 100).toFixed(0)}%`;
    ctx.strokeStyle = '#e07a2e';
    ctx.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
    const h = parseInt(ctx.font, 10) + 8;
    const w = ctx.measureText(label).width + 10;
    const y = f.box.y >= h ? f.box.y - h : f.box.y + f.box.height;
    ctx.fillStyle = 'rgba(224, 122, 46, 0.9)';
    ctx.fillRect(f.box.x, y, w, h);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, f.box.x + 5, y + h - 8);
  });
  const charts = $('charts');
  charts.replaceChildren(...result.faces.map((f, i) => chart(i, f.probabilities)));
  if (!result.faces.length) charts.textContent = 'No face found.';
  $('faces').textContent = String(result.faces.length);
  $('ms').textContent = `${result.ms.toFixed(1)} ms`;
  $('frames').textContent = String(state.frames);
}

function chart(i: number, p: number[]): HTMLElement {
  const best = p.indexOf(Math.max(...p));
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.face = String(i);
  const h = document.createElement('h2');
  h.innerHTML = `Face ${i + 1} <span>${state.classNames[best]}</span>`;
  box.append(h);
  state.classNames.forEach((name, c) => {
    const row = document.createElement('div');
    row.className = c === best ? 'bar top' : 'bar';
    row.innerHTML = `<span>${name}</span><span class="track"><span class="fill" style="width:${(p[c] * 100).toFixed(1)}%"></span></span><span class="value">${(p[c] * 100).toFixed(1)}%</span>`;
    box.append(row);
  });
  return box;
}

/** Draws `source` on the canvas at its own size and analyses it. */
async function frame(source: CanvasImageSource, width: number, height: number): Promise<FrameResult> {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  ctx.drawImage(source, 0, 0, width, height);
  state.busy = true;
  try {
    const result = await analyse();
    state.frames++;
    state.last = result;
    draw(result);
    return result;
  } finally {
    state.busy = false;
  }
}

async function showPhoto(blob: Blob): Promise<void> {
  stopWebcam();
  if (!state.ready) return;
  try {
    // No colour conversion and no premultiplication: the same bytes as a PNG decoder in Node.
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const { width, height } = bitmap;
    state.source = 'photo';
    const r = await frame(bitmap, width, height);
    bitmap.close();
    say(`Photo ${width}x${height}: ${r.faces.length} face${r.faces.length === 1 ? '' : 's'}.`);
  } catch (e) {
    say(`Could not read that picture: ${(e as Error).message}`, true);
  }
}

async function startWebcam(): Promise<void> {
  if (!state.ready || stream) return;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    say(`No webcam: ${(e as Error).message}`, true);
    return;
  }
  video.srcObject = stream;
  await video.play();
  state.source = 'webcam';
  $<HTMLButtonElement>('stop').disabled = false;
  say('Webcam: live.');
  const loop = async () => {
    if (!stream) return;
    if (video.videoWidth > 0) await frame(video, video.videoWidth, video.videoHeight);
    requestAnimationFrame(() => void loop());
  };
  void loop();
}

function stopWebcam(): void {
  if (!stream) return;
  for (const t of stream.getTracks()) t.stop();
  stream = null;
  video.srcObject = null;
  $<HTMLButtonElement>('stop').disabled = true;
  say('Webcam stopped.');
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void showPhoto(f);
});
$('sample').addEventListener('click', () => {
  void fetch(new URL('sample/astronaut.jpg', document.baseURI)).then((r) => r.blob()).then(showPhoto);
});
$('webcam').addEventListener('click', () => void startWebcam());
$('stop').addEventListener('click', stopWebcam);

void start();
