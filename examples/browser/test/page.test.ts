// The demo page in a real browser: Debian's chromium, headless, driven by playwright-core (no browser download).
// Builds the page with Vite, serves dist/ with `vite preview`, and checks it against `fer predict` (Node) on the same
// photo: one face, its box within a few pixels, the seven probabilities within 1e-3. Then the webcam, through
// Chromium's fake video device playing a clip made from the photo: frames are processed and the page still answers.
// Every request the page makes goes to the page's own server (the models are the packages' files served with it, no
// remote hub), and dist/ is static files small enough for any static host.
// Screenshots: examples/browser/test-output/{photo,webcam}.png.
// FER_TEST_BROWSER=skip leaves this file out (no chromium here); CI installs chromium (.ci/run) and runs it.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '@fer/data';
import type { FrameResult } from '../src/frame.ts';

const HERE = new URL('..', import.meta.url).pathname;
/** The page's expression model: the installed pretrained weights package, served by vite.config.ts at models/fer/. */
const FER_MODEL = dirname(createRequire(import.meta.url).resolve('@fer/weights-paper-shallow/model/fer.json'));
const OUT = join(HERE, 'test-output');
const CHROMIUM = process.env.FER_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LONG = 600_000; // hang guards only: nothing here depends on speed
const skip = process.env.FER_TEST_BROWSER === 'skip';

type Demo = { ready: boolean; error: string | null; backend: string | null; classNames: string[]; frames: number; busy: boolean; last: FrameResult | null };

let server: PreviewServer | undefined;
let url = '';
let photo = '';
let reference: { width: number; height: number; faces: { box: FrameResult['faces'][0]['box']; probabilities: number[] }[] };
const contexts: BrowserContext[] = [];
/** The URLs each page requested (its context's requests: the page, its workers), in order. */
const requested = new Map<Page, string[]>();
/** What `vite build` printed (its warnings). */
let buildLog = '';
const tmp = mkdtempSync(join(tmpdir(), 'fer-browser-'));

/** A fresh Chromium (its own --user-data-dir) with `extra` flags, and a page on the demo. */
async function openPage(extra: string[] = [], query = ''): Promise<Page> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does), set FER_CHROMIUM to another build, or FER_TEST_BROWSER=skip to leave this test out.`);
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmp, 'profile-')), { executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extra], viewport: { width: 1200, height: 820 } });
  contexts.push(context);
  const urls: string[] = [];
  context.on('request', (r) => urls.push(r.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  requested.set(page, urls);
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url + query);
  await page.waitForFunction(() => window.ferDemo?.ready || window.ferDemo?.error, null, { timeout: LONG });
  const demo = await state(page);
  if (demo.error) throw new Error(`the page did not start: ${demo.error}\n${logs.join('\n')}`);
  return page;
}

/**
 * Checks that `page` fetched nothing but its own server's files (data: and blob: URLs are the page's own bytes) and
 * that the models came from there: the expression model of @fer/weights-paper-shallow and @fer/face's BlazeFace.
 */
function expectOnlyOwnFiles(page: Page): void {
  const urls = requested.get(page)!;
  const origin = new URL(url).origin;
  expect(urls.filter((u) => !u.startsWith(`${origin}/`) && !/^(data|blob):/.test(u)), 'requests that leave the page\'s server').toEqual([]);
  for (const file of ['models/fer/fer.json', 'models/fer/model.json', 'models/fer/weights.bin', 'models/blazeface/blazeface.json', 'models/blazeface/blazeface.bin']) {
    expect(urls.some((u) => new URL(u).pathname.endsWith(`/${file}`)), `${file} fetched from the page's server`).toBe(true);
  }
}

/** Every file under `dir` with its size in bytes, paths relative to `dir`. */
function filesUnder(dir: string): { path: string; bytes: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => { const abs = join(e.parentPath, e.name); return { path: relative(dir, abs), bytes: statSync(abs).size }; });
}

const state = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify(window.ferDemo)) as Demo);

/** A YUV4MPEG2 (4:2:0) clip of `frames` copies of an RGBA picture, for --use-file-for-fake-video-capture. */
function y4m(rgba: Uint8Array, width: number, height: number, frames: number): Buffer {
  const w2 = width >> 1, h2 = height >> 1;
  const Y = Buffer.alloc(width * height), U = Buffer.alloc(w2 * h2), V = Buffer.alloc(w2 * h2);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]];
    Y[i] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
  }
  for (let y = 0; y < h2; y++) for (let x = 0; x < w2; x++) {
    const i = (y * 2 * width + x * 2) * 4;
    const [r, g, b] = [rgba[i], rgba[i + 1], rgba[i + 2]];
    U[y * w2 + x] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
    V[y * w2 + x] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), Y, U, V]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`), ...Array.from({ length: frames }, () => frame)]);
}

beforeAll(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  // The page bundles the packages' dist (their browser entries): build what is stale, then the page. In child
  // processes, so that this worker keeps answering vitest meanwhile.
  const run = async (what: string, file: string, args: string[], cwd: string): Promise<string> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(file, args, { cwd, maxBuffer: 64 << 20 });
      return `${stdout}${stderr}`;
    } catch (e) {
      const x = e as { code?: number; stderr?: string; stdout?: string };
      throw new Error(`${what} failed (exit ${x.code}): ${x.stderr || x.stdout}`);
    }
  };
  const only = JSON.stringify(['@fer/data', '@fer/hog', '@fer/models', '@fer/face', '@fer/engine']);
  await run('building the packages', process.execPath, ['--input-type=module', '-e', `import { buildIfStale } from './scripts/build-if-stale.mjs'; buildIfStale({ only: ${only} });`], join(HERE, '../..'));
  buildLog = await run('vite build', 'pnpm', ['exec', 'vite', 'build', '--logLevel', 'warn'], HERE);
  server = await preview({ root: HERE, logLevel: 'silent', preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  url = server.resolvedUrls!.local[0];

  // The photo as PNG, so that Chromium and Node decode the very same pixels (JPEG decoders may differ by 1).
  const jpeg = decodeImage(readFileSync(join(HERE, 'public/sample/astronaut.jpg')));
  const png = new PNG({ width: jpeg.width, height: jpeg.height });
  png.data.set(jpeg.data);
  photo = join(OUT, 'astronaut.png');
  writeFileSync(photo, PNG.sync.write(png));

  // The Node pipeline on it: `fer predict --json` (decode, BlazeFace, crop, predict), all seven classes.
  const { stdout } = await promisify(execFile)(process.execPath, [join(HERE, '../../harness/bin/fer.mjs'), 'predict', '--model', FER_MODEL, '--top', '7', '--json', photo], { cwd: HERE, maxBuffer: 64 << 20 });
  const [res] = JSON.parse(stdout) as { width: number; height: number; faces: { box: FrameResult['faces'][0]['box']; top: { label: string; probability: number }[] }[] }[];
  const classes = (JSON.parse(readFileSync(join(FER_MODEL, 'fer.json'), 'utf8')) as { classNames: string[] }).classNames;
  reference = {
    width: res.width, height: res.height,
    faces: res.faces.map((f) => ({ box: f.box, probabilities: classes.map((c) => f.top.find((t) => t.label === c)!.probability) })),
  };
}, LONG);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skip)('the demo page in headless Chromium', () => {
  it('the built page is static files small enough for any static host, with no Node built-in left for the browser', () => {
    const dist = join(HERE, 'dist');
    const files = filesUnder(dist);
    const total = files.reduce((n, f) => n + f.bytes, 0);
    writeFileSync(join(OUT, 'dist.json'), `${JSON.stringify({ totalBytes: total, files: files.sort((a, b) => b.bytes - a.bytes) }, null, 2)}\n`);
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['index.html', 'models/fer/weights.bin', 'models/blazeface/blazeface.bin']));
    // The page, tfjs with its WASM binaries and both models: 5.8 MB today. A budget, not a measurement: it fails
    // when something large (a second copy of tfjs, a source map, a data set) lands in dist/.
    expect(total, `dist/ holds ${(total / 1e6).toFixed(2)} MB`).toBeLessThan(10e6);
    expect(files.filter((f) => f.path.endsWith('.map')), 'source maps in dist/').toEqual([]);
    // Vite replaces a Node built-in that reaches the page by an empty module and warns; the page would break.
    expect(buildLog).not.toMatch(/externalized for browser compatibility/);
  });

  /** Opens the page (query: e.g. '?backend=webgl'), gives it the photo, checks it against Node; returns the page. */
  async function checkPhoto(query: string, screenshot: string): Promise<string | null> {
    const page = await openPage([], query);
    const { backend, classNames } = await state(page);
    expect(classNames).toEqual(['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral']);
    await page.setInputFiles('#file', photo);
    await page.waitForFunction(() => window.ferDemo.frames >= 1 && !window.ferDemo.busy, null, { timeout: LONG });
    const got = (await state(page)).last!;
    expect(reference.faces).toHaveLength(1);
    expect(got.faces).toHaveLength(1);
    expect([got.width, got.height]).toEqual([reference.width, reference.height]);
    const [a, b] = [got.faces[0], reference.faces[0]];
    for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(a.box[k] - b.box[k]), `box.${k}: ${a.box[k]} in the browser (${backend}), ${b.box[k]} from fer predict`).toBeLessThan(3);
    const diff = Math.max(...a.probabilities.map((p, c) => Math.abs(p - b.probabilities[c])));
    expect(diff, `probabilities ${a.probabilities} (browser, ${backend}) vs ${b.probabilities} (fer predict)`).toBeLessThan(1e-3);
    // The page shows them: one chart of seven bars, the top one marked.
    expect(await page.locator('.chart').count()).toBe(1);
    expect(await page.locator('.chart .bar').count()).toBe(7);
    expect(await page.locator('.chart .bar.top').count()).toBe(1);
    expectOnlyOwnFiles(page);
    await page.screenshot({ path: join(OUT, screenshot), fullPage: true });
    const boxDiff = Math.max(...(['x', 'y', 'width', 'height'] as const).map((k) => Math.abs(a.box[k] - b.box[k])));
    writeFileSync(join(OUT, screenshot.replace(/\.png$/, '.json')), `${JSON.stringify({ backend, maxProbabilityDiff: diff, maxBoxDiffPx: boxDiff, msPerFrame: got.ms, browser: a, ferPredict: b }, null, 2)}\n`);
    await page.context().close();
    return backend;
  }

  it('a photo: one face, its box and its probabilities as fer predict gives them in Node (1e-3); screenshot', async () => {
    // No GPU here: WebGL would be SwiftShader, which the page passes over for WASM (WebGPU has no adapter).
    expect(['webgpu', 'webgl', 'wasm']).toContain(await checkPhoto('', 'photo.png'));
  }, LONG);

  it('the same on WebGL (?backend=webgl: SwiftShader without a GPU)', async () => {
    expect(await checkPhoto('?backend=webgl', 'photo-webgl.png')).toBe('webgl');
  }, LONG);

  it('the webcam (fake device playing the photo): frames are processed and the page stays responsive', async () => {
    const image = decodeImage(readFileSync(photo));
    const clip = join(tmp, 'clip.y4m');
    writeFileSync(clip, y4m(image.data, image.width, image.height, 10));
    const page = await openPage(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`]);
    await page.click('#webcam');
    await page.waitForFunction(() => window.ferDemo.frames >= 5, null, { timeout: LONG });
    const live = await state(page);
    expect(live.last!.faces).toHaveLength(1);
    const p = live.last!.faces[0].probabilities;
    expect(p.every(Number.isFinite) && Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-4).toBe(true);
    expectOnlyOwnFiles(page);
    // Still answering input while the loop runs: Stop is handled and the frames stop coming.
    await page.screenshot({ path: join(OUT, 'webcam.png'), fullPage: true });
    writeFileSync(join(OUT, 'webcam.json'), `${JSON.stringify({ backend: live.backend, frames: live.frames, msPerFrame: live.last!.ms }, null, 2)}\n`);
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Webcam stopped.', null, { timeout: LONG });
    await page.waitForFunction(() => !window.ferDemo.busy, null, { timeout: LONG });
    const stopped = (await state(page)).frames;
    await page.waitForTimeout(300);
    expect((await state(page)).frames).toBe(stopped);
  }, LONG);
});
