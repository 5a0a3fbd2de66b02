import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModels, createRegistry, saveModel } from '@fer/models';
import { mulberry32 } from '../rng.js';
import { cropWarnings, readImage, runPredict, unsureWarning } from './predict.js';

const here = dirname(fileURLToPath(import.meta.url));
const harnessRoot = resolve(here, '..', '..');
// scikit-image's astronaut.png (public domain, NASA), as JPEG: packages/fer-face/fixtures/README.md.
const ASTRONAUT = resolve(harnessRoot, '..', 'packages', 'fer-face', 'fixtures', 'astronaut.jpg');
let dir: string, modelDir: string;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', join(here, '..', 'cli.ts'), ...args], { cwd: harnessRoot, env: { ...process.env, FER2013_PATH: '' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

function png(width: number, height: number, fill: (x: number, y: number) => [number, number, number, number?]): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const [r, g, b, a = 255] = fill(x, y);
    const i = (y * width + x) * 4;
    p.data[i] = r; p.data[i + 1] = g; p.data[i + 2] = b; p.data[i + 3] = a;
  }
  return PNG.sync.write(p);
}

/** A PNG declaring w x h gray pixels with a tiny IDAT: 937 KB of deflated zeros in the real bomb; the header is what counts. */
function pngBomb(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4), crc = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc((w + 1) * 100))), chunk('IEND', Buffer.alloc(0))]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fer-predict-'));
  modelDir = join(dir, 'model');
  const registry = createRegistry(builtinModels);
  const config = { filters: [2, 2], denseUnits: 4 };
  const model = registry.create('paper-shallow', config, { seed: 3 });
  await saveModel(modelDir, model, { modelName: 'paper-shallow', config: registry.resolveConfig('paper-shallow', config), classNames: ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral'] });
  model.dispose();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fer predict on photos', () => {
  it('finds the astronaut\'s one face and gives its box, score and top 3', async () => {
    const [r] = await runPredict({ model: modelDir, files: [ASTRONAUT], backend: 'wasm' });
    expect(r).toMatchObject({ width: 512, height: 512 });
    expect(r.faces).toHaveLength(1);
    const f = r.faces[0];
    expect(f.score).toBeGreaterThan(0.8);
    expect(f.box.x).toBeGreaterThan(150); expect(f.box.x).toBeLessThan(200);
    expect(f.box.y).toBeGreaterThan(50); expect(f.box.y).toBeLessThan(100);
    expect(f.top).toHaveLength(3);
    expect(f.top[0].probability).toBeGreaterThanOrEqual(f.top[1].probability);
    expect(r.warnings.filter((w) => w.includes('no face'))).toEqual([]);
  }, 60_000);

  it('reads folders, says "no face found" for a picture without one, and annotates into a folder', async () => {
    const photos = join(dir, 'photos');
    await mkdir(photos);
    await copyFile(ASTRONAUT, join(photos, 'a.jpg'));
    await writeFile(join(photos, 'b.png'), png(300, 200, (x, y) => [(x * 3) % 256, (y * 5) % 256, 90]));
    await writeFile(join(photos, 'notes.txt'), 'not a picture');
    const out = join(dir, 'annotated');
    const res = await runPredict({ model: modelDir, files: [photos], backend: 'wasm', annotate: out });
    expect(res.map((r) => [r.file, r.faces.length])).toEqual([[join(photos, 'a.jpg'), 1], [join(photos, 'b.png'), 0]]);
    expect(res[1].warnings[0]).toMatch(/^no face found \(BlazeFace, score >= 0\.5\)\. If the picture is a face crop already, use --no-detect\./);
    // The annotated astronaut: same size, the box's top edge drawn in green.
    const a = PNG.sync.read(await readFile(join(out, 'a.png')));
    expect([a.width, a.height]).toEqual([512, 512]);
    const b = res[0].faces[0].box;
    const at = (x: number, y: number) => [...a.data.subarray((y * 512 + x) * 4, (y * 512 + x) * 4 + 3)];
    expect(at(Math.round(b.x + b.width / 2), Math.round(b.y) + 1)).toEqual([0, 220, 0]);
    expect(PNG.sync.read(await readFile(join(out, 'b.png'))).width).toBe(300);
    await expect(runPredict({ model: modelDir, files: [join(dir, 'annotated', 'nothing-here')], backend: 'wasm' })).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
  }, 60_000);

  it('refuses a 30000x30000 PNG (a decompression bomb) from its header, before decoding', async () => {
    const bomb = join(dir, 'bomb.png');
    await writeFile(bomb, pngBomb(30000, 30000));
    await expect(readImage(bomb)).rejects.toMatchObject({
      code: 'E_BAD_IMAGE',
      message: expect.stringMatching(/bomb\.png: PNG is 30000x30000 \(900,000,000 pixels, 3\.4 GiB as RGBA\), expected at most 33,554,432 pixels \(e\.g\. 8192x4096\); refused before decoding/),
    });
    await expect(runPredict({ model: modelDir, files: [bomb], backend: 'wasm', detect: false })).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
  });
});

describe('fer predict --no-detect', () => {
  it('warns when a picture does not look like a 48x48 face crop', () => {
    const gray = (v: number) => new Uint8Array(2304).fill(v);
    const varied = new Uint8Array(2304).map((_, i) => (i * 37) % 256);
    const img = (w: number, h: number, alpha = 255) => ({ data: new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? alpha : (i * 13) % 256)), width: w, height: h });
    expect(cropWarnings(img(48, 48), varied)).toEqual([]);
    expect(cropWarnings(img(96, 96), varied)).toEqual([]);
    expect(cropWarnings(img(512, 512), varied).join(' ')).toMatch(/looks like a whole photo squeezed to 48x48\. Drop --no-detect/);
    const tiny = cropWarnings(img(3, 2), varied).join(' ');
    expect(tiny).toMatch(/aspect 1\.50:1/);
    expect(tiny).toMatch(/too small for a face crop/);
    expect(cropWarnings(img(4000, 3000, 0), gray(0)).join(' ')).toMatch(/100% of the picture is transparent.*nearly uniform/);
    expect(unsureWarning(new Float32Array(7).fill(1 / 7))).toMatch(/close to uniform/);
    expect(unsureWarning(Float32Array.from([0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01]))).toBeNull();
  });
});

describe('fer predict (CLI)', () => {
  it('prints the face with its box and expressions (default model: the pretrained package); --json; exits non-zero with E_NO_FACE when no picture has a face', async () => {
    const text = await runCli(['predict', '--backend', 'wasm', ASTRONAUT]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/astronaut\.jpg \(512x512\): 1 face\n {2}face 1: box x=\d+ y=\d+ \d+x\d+, detector score 0\.\d\d\n( {4}\w+ +\d+\.\d%\n){3}$/);
    const blank = join(dir, 'blank.png');
    await writeFile(blank, png(64, 64, () => [128, 128, 128]));
    const json = await runCli(['predict', '--model', modelDir, '--backend', 'wasm', '--json', blank]);
    expect(json.code).not.toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ file: blank, width: 64, height: 64, faces: [], warnings: [expect.stringMatching(/^no face found/)] }]);
    expect(json.stderr).toMatch(/fer: error E_NO_FACE: found no face in .*blank\.png .*use --no-detect/);
    expect(json.stdout).not.toMatch(/%/);
    expect(json.stderr).toMatch(/--tile-levels 2/);
    // Issue 26: not a face (seeded noise, a 3x2 PNG, a fully transparent 4000x3000 PNG): no expressions and exit 1 through
    // the detector; with --no-detect the expressions are marked as meaningless, the reasons warned, and exit 1.
    const rand = mulberry32(26);
    const noise = join(dir, 'noise.png'), tiny = join(dir, 'tiny.png'), clear = join(dir, 'clear.png');
    await writeFile(noise, png(512, 512, () => [rand() * 256, rand() * 256, rand() * 256]));
    await writeFile(tiny, png(3, 2, (x, y) => [x * 80, y * 120, 40]));
    await writeFile(clear, png(4000, 3000, () => [0, 0, 0, 0]));
    for (const file of [noise, tiny, clear]) {
      const r = await runCli(['predict', '--model', modelDir, '--backend', 'wasm', file]);
      expect(r.code, file).toBe(1);
      expect(r.stdout).toMatch(/: no face found\n$/);
      expect(r.stdout).not.toMatch(/%/);
      expect(r.stderr).toMatch(/E_NO_FACE/);
    }
    const crops = await runCli(['predict', '--model', modelDir, '--backend', 'wasm', '--no-detect', noise, tiny, clear]);
    expect(crops.code).toBe(1);
    expect(crops.stdout.match(/taken as one face crop: --no-detect\): NOT a face crop \(see the warnings\); these expressions mean nothing/g)).toHaveLength(3);
    expect(crops.stderr).toMatch(/noise\.png: the picture is 512x512, far larger than a 48x48 face crop/);
    expect(crops.stderr).toMatch(/tiny\.png: the picture is 3x2, too small for a face crop/);
    expect(crops.stderr).toMatch(/clear\.png: 100% of the picture is transparent/);
    expect(crops.stderr).toMatch(/fer: error E_NOT_A_FACE_CROP: none of the 3 pictures looks like a 48x48 face crop \(see the warnings\); expected with --no-detect/);
    const bad = await runCli(['predict', '--tile-levels', '1.5', ASTRONAUT]);
    expect(bad.stderr).toMatch(/E_BAD_OPTION: fer predict: --tile-levels is 1\.5, expected an integer in \[0, 8\]/);
  }, 300_000);
});
