import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { builtinModels, createRegistry, saveModel } from '@fer/models';
import { createProgressRenderer, formatSeconds } from './_models-common.js';
import { formatEvaluation, runEvaluate } from './evaluate.js';
import { imageToGray48, runPredict } from './predict.js';
import { collectRepeated, runTrain } from './train.js';

const here = dirname(fileURLToPath(import.meta.url));
const harnessRoot = resolve(here, '..', '..');
let dir: string;
const quiet = () => undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fer-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

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

function writePng(path: string, width: number, height: number, fill: (x: number, y: number) => [number, number, number]) {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const [r, g, b] = fill(x, y);
    const i = (y * width + x) * 4;
    png.data[i] = r; png.data[i + 1] = g; png.data[i + 2] = b; png.data[i + 3] = 255;
  }
  return writeFile(path, PNG.sync.write(png));
}

describe('--set collection', () => {
  it('collects every --set, in both spellings (the grammar itself: src/job/spec.test.ts)', () => {
    expect(collectRepeated(['--set', 'a=1', '--x', '--set=b=2'], 'set')).toEqual(['a=1', 'b=2']);
  });
});

describe('progress rendering', () => {
  const event = (step: number) => ({ epoch: 1, epochs: 2, step, steps: 20, loss: 1.5, accuracy: 0.25, imagesPerSecond: 120, etaSeconds: 3725 });
  it('redraws one line with \\r on a TTY', () => {
    let text = '';
    const stream = { isTTY: true, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const bar = createProgressRenderer(stream);
    bar.update(event(10));
    bar.done();
    expect(text).toMatch(/^\r\[#{12}-{12}\] epoch 1\/2 step 10\/20 loss 1.5000 acc 25.0% 120 img\/s ETA 1h02m05s/);
    expect(text.endsWith('\n')).toBe(true);
  });
  it('prints plain lines, about one per 10% of an epoch, when not a TTY', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream;
    const bar = createProgressRenderer(stream);
    for (let s = 1; s <= 20; s++) bar.update(event(s));
    expect(lines.length).toBe(11);
    expect(lines.every((l) => !l.includes('\r') && l.endsWith('\n'))).toBe(true);
    expect(formatSeconds(59)).toBe('59s');
  });
});

describe('fer train / evaluate on synthetic data (tiny config, cpu)', () => {
  it('writes config, history, model, checkpoints and metrics; evaluate reads them back', async () => {
    const out = join(dir, 'train');
    const saved = process.env.FER2013_PATH;
    delete process.env.FER2013_PATH;
    const lines: string[] = [];
    const progress: number[] = [];
    try {
      const { metrics: m } = await runTrain({
        model: 'paper-shallow', out, backend: 'cpu', log: (l) => lines.push(l), onProgress: (p) => progress.push(p.step),
        sets: ['model.filters=[2,2]', 'model.denseUnits=4', 'epochs=1', 'batch=16', 'limit=48', 'data.validationLimit=32', 'augment=hflip'],
      });
      const metrics = m!;
      expect(lines.join('\n')).toMatch(/SYNTHETIC/);
      // limit=48: about 48 rows, stratified by class (the reproduction's subset rule)
      expect(Math.abs(metrics.trainRows - 48)).toBeLessThanOrEqual(4);
      expect(progress).toEqual(Array.from({ length: Math.ceil(metrics.trainRows / 16) }, (_, i) => i + 1));
      expect(metrics).toMatchObject({ model: 'paper-shallow', split: 'PublicTest', epochs: 1, synthetic: true });
      for (const f of ['config.json', 'history.json', 'result.json', 'test-curve.json', 'model/model.json', 'model/weights.bin', 'model/fer.json', 'checkpoints/ckpt-000001.ferckpt']) {
        expect(existsSync(join(out, f)), f).toBe(true);
      }
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
      expect(config).toMatchObject({ model: { name: 'paper-shallow', config: { filters: [2, 2], denseUnits: 4, l2: 5e-5 } }, train: { epochs: 1, batchSize: 16 }, data: { synthetic: true } });
      const e = await runEvaluate({ model: join(out, 'model'), split: 'PrivateTest', backend: 'cpu', log: quiet });
      expect(e.report.total).toBe(350);
      const text = formatEvaluation(e);
      expect(text).toMatch(/PrivateTest \(SYNTHETIC data\): accuracy/);
      expect(text).toMatch(/Disgust/);
      expect(text).toMatch(/true \\ predicted/);
    } finally {
      if (saved !== undefined) process.env.FER2013_PATH = saved;
    }
    await expect(runTrain({ model: 'paper-shalow', out, log: quiet })).rejects.toMatchObject({ code: 'E_UNKNOWN_MODEL' });
    await expect(runTrain({ model: 'paper-shallow', out, log: quiet, sets: ['model.filter=[2,2]'] })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  }, 120_000);
});

describe('fer predict', () => {
  it('converts PNGs of any size to 48x48 gray (BT.601) and prints the top 3 through the CLI', async () => {
    await tf.setBackend('cpu');
    const modelDir = join(dir, 'pred-model');
    const registry = createRegistry(builtinModels);
    const config = { filters: [2, 2], denseUnits: 4 };
    const model = registry.create('paper-shallow', config, { seed: 3 });
    await saveModel(modelDir, model, { modelName: 'paper-shallow', config: registry.resolveConfig('paper-shallow', config), classNames: ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral'] });
    model.dispose();
    const a = join(dir, 'a.png'), b = join(dir, 'b.png');
    await writePng(a, 96, 96, () => [255, 0, 0]); // pure red -> luma 0.299 * 255 = 76.2
    await writePng(b, 130, 70, (x, y) => [(x * 2) % 256, (y * 3) % 256, 128]);
    const gray = await imageToGray48(a);
    expect(gray.length).toBe(2304);
    expect(new Set(gray)).toEqual(new Set([76]));
    // JPEG through jpeg-js (a dependency of @fer/data): mid-gray stays mid-gray, within JPEG error.
    const req = createRequire(createRequire(import.meta.url).resolve('@fer/data/package.json'));
    const jpeg = req('jpeg-js') as { encode(img: { data: Uint8Array; width: number; height: number }, q: number): { data: Uint8Array } };
    const c = join(dir, 'c.jpg');
    await writeFile(c, jpeg.encode({ data: new Uint8Array(64 * 50 * 4).fill(128), width: 64, height: 50 }, 95).data);
    const grayJpeg = await imageToGray48(c);
    expect(Math.max(...grayJpeg.map((v) => Math.abs(v - 128)))).toBeLessThanOrEqual(2);
    const results = await runPredict({ model: modelDir, files: [a, b], backend: 'cpu', detect: false });
    expect(results).toHaveLength(2);
    expect(results[0].faces[0].top).toHaveLength(3);
    expect(results[0].faces[0].top[0].probability).toBeGreaterThanOrEqual(results[0].faces[0].top[1].probability);
    // A square, textured picture passes --no-detect's face-crop check; the uniform one and the squeezed one do not:
    // their top-3 is printed, marked as meaningless, and the run still exits 0 because one picture is a crop.
    const t = join(dir, 't.png');
    await writePng(t, 64, 64, (x, y) => { const v = (x * 7 + y * 13) % 256; return [v, v, v]; });
    const cli = await runCli(['predict', '--model', modelDir, '--backend', 'cpu', '--no-detect', a, b, t]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(a);
    expect(cli.stdout).toContain(t);
    expect(cli.stdout.split('\n').filter((l) => /^\s+\w+\s+\d+\.\d%$/.test(l))).toHaveLength(9);
    expect(cli.stdout.match(/NOT a face crop/g)).toHaveLength(2);
    // Only pictures that are not face crops: E_NOT_A_FACE_CROP, exit 1.
    const none = await runCli(['predict', '--model', modelDir, '--backend', 'cpu', '--no-detect', a, b]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/E_NOT_A_FACE_CROP: none of the 2 pictures looks like a 48x48 face crop/);
    const bad = await runCli(['predict', '--model', modelDir, '--backend', 'cpu', join(dir, 'missing.png')]);
    expect(bad.code).not.toBe(0);
  }, 120_000);
});

describe('nothing silent (issue 13)', () => {
  const tiny = ['model.filters=[2,2]', 'model.denseUnits=4', 'epochs=1', 'batch=16', 'limit=32', 'data.validationLimit=16'];
  afterEach(() => {
    vi.restoreAllMocks();
  });
  async function tmpFiles(root: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.name.includes('.tmp-')) out.push(e.name);
    return out;
  }

  it('fer train writes every run file atomically, removes stale temp files and leaves none', async () => {
    const out = join(dir, 'atomic');
    await mkdir(join(out, 'checkpoints'), { recursive: true });
    await writeFile(join(out, 'history.json.tmp-99999999-1700000000000'), '');
    await writeFile(join(out, 'checkpoints', 'ckpt-000001.ferckpt.tmp-99999999-1700000000000'), 'half');
    await runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'epochs=2'] });
    expect(await tmpFiles(out)).toEqual([]);
    // a second run over it (--overwrite) leaves the job layout and no temp file either
    await runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'epochs=2'], overwrite: true });
    expect((await readdir(out)).sort()).toEqual(['checkpoints', 'config.json', 'history.json', 'model', 'result.json', 'test-curve.json']);
    expect(JSON.parse(await readFile(join(out, 'history.json'), 'utf8'))).toHaveLength(2);
    expect(await tmpFiles(out)).toEqual([]);
  }, 120_000);

  it('a fresh run into another run\'s folder refuses unless --overwrite; --resume refuses another config naming the keys', async () => {
    const out = join(dir, 'two-runs');
    await runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: tiny });
    await expect(runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'seed=2'] })).rejects.toMatchObject({
      code: 'E_RUN_EXISTS',
      message: expect.stringMatching(/already holds another run \(result\.json, model\/, 1 checkpoint in checkpoints\/\).*--resume.*--overwrite/),
    });
    await expect(runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'seed=2', 'epochs=2', 'model.denseUnits=5'], resume: true })).rejects.toMatchObject({
      code: 'E_CHECKPOINT_MISMATCH',
      message: expect.stringMatching(/train\.seed: checkpoint 1, now 2.*run\.model\.config\.denseUnits: checkpoint 4, now 5/),
    });
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ train: { seed: 1 } });
    const r = await runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'seed=2'], overwrite: true });
    expect(r.outcome).toMatchObject({ resumedFrom: 0 });
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ train: { seed: 2 } });
    const more = await runTrain({ model: 'paper-shallow', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'seed=2', 'epochs=2'], resume: true });
    expect(more.outcome).toMatchObject({ resumedFrom: 1 });
  }, 120_000);

  it('the CLI prints an error once, with its code and no stack, exits non-zero; --debug shows the stack', async () => {
    const out = join(dir, 'cli-error');
    const r = await runCli(['train', '--model', 'no-such-model', '--out', out, '--backend', 'cpu']);
    const all = r.stdout + r.stderr;
    expect(r.code).not.toBe(0);
    expect(all.match(/E_UNKNOWN_MODEL/g) ?? []).toHaveLength(1);
    expect(all.match(/--model no-such-model: unknown model/gi) ?? []).toHaveLength(1);
    // the harness's own message (issue 26): the CLI's --config, not the library's registry.register
    expect(r.stderr).toMatch(/^fer: error E_UNKNOWN_MODEL: --model no-such-model: unknown model\. Known: .*--config PATH.*\n$/s);
    expect(all).not.toMatch(/^\s+at /m);
    const d = await runCli(['train', '--model', 'no-such-model', '--out', out, '--backend', 'cpu', '--debug']);
    expect(d.code).not.toBe(0);
    expect(d.stderr.match(/E_UNKNOWN_MODEL/g) ?? []).toHaveLength(1);
    expect(d.stderr).toMatch(/^\s+at /m);
  }, 60_000);

  it('fer predict names the file, its size and the expected format when an image does not decode', async () => {
    const garbage = join(dir, 'garbage.jpg');
    await writeFile(garbage, Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(121, 7)]));
    await expect(imageToGray48(garbage)).rejects.toMatchObject({
      code: 'E_BAD_IMAGE',
      message: expect.stringMatching(/^could not decode .*garbage\.jpg \(123 bytes\) as JPEG: .+; expected a complete PNG or JPEG image/),
    });
    const full = join(dir, 'full.png');
    await writePng(full, 40, 40, (x, y) => [(x * 37) % 256, (y * 91) % 256, (x * y) % 256]);
    const bytes = await readFile(full);
    const cut = join(dir, 'truncated.png');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(imageToGray48(cut)).rejects.toMatchObject({
      code: 'E_BAD_IMAGE',
      message: expect.stringMatching(new RegExp(`^could not decode .*truncated\\.png \\(${Math.floor(bytes.length / 2)} bytes\\) as PNG: .+; expected a complete PNG or JPEG image`)),
    });
    const text = join(dir, 'notes.png');
    await writeFile(text, 'hello');
    await expect(imageToGray48(text)).rejects.toMatchObject({ code: 'E_BAD_IMAGE', message: expect.stringMatching(/notes\.png \(5 bytes\) is neither PNG nor JPEG/) });
  });
});
