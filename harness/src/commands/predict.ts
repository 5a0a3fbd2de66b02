import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { defineCommand } from 'citty';
import { PNG } from 'pngjs';
import { IMAGE_PIXELS, toGray48 } from '@fer/data';
import { loadModel, predict } from '@fer/models';
import { startBackend } from '../backend.js';
import { FerCliError } from '../errors.js';

/** One image's top-k classes. */
export interface ImagePrediction {
  file: string;
  top: { label: string; probability: number }[];
}

/**
 * Decodes a PNG or JPEG of any size to 48x48 gray bytes: ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B),
 * then area-averaging resize (@fer/data's toGray48, the same conversion as its image-folder loader).
 * Unreadable or undecodable files throw E_BAD_IMAGE naming the file, its size and what was expected.
 */
export async function imageToGray48(file: string): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new FerCliError('E_BAD_IMAGE', `cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a readable PNG or JPEG file. Check the path.`, { cause: e });
  }
  const failed = (format: string, e: unknown) =>
    new FerCliError('E_BAD_IMAGE', `could not decode ${file} (${buf.length} bytes) as ${format}: ${(e as Error)?.message ?? String(e)}; expected a complete PNG or JPEG image. The file is truncated or damaged: re-export it.`, { cause: e });
  let rgba: { data: Uint8Array; width: number; height: number };
  if (buf[0] === 0x89 && buf[1] === 0x50) {
    try {
      const png = PNG.sync.read(buf);
      rgba = { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length), width: png.width, height: png.height };
    } catch (e) {
      throw failed('PNG', e);
    }
  } else if (buf[0] === 0xff && buf[1] === 0xd8) {
    // NOTE: jpeg-js is a dependency of @fer/data; resolve it from there.
    const req = createRequire(createRequire(import.meta.url).resolve('@fer/data/package.json'));
    const jpeg = req('jpeg-js') as { decode(b: Buffer, o: object): { data: Uint8Array; width: number; height: number } };
    try {
      rgba = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
    } catch (e) {
      throw failed('JPEG', e);
    }
  } else {
    throw new FerCliError('E_BAD_IMAGE', `${file} (${buf.length} bytes) is neither PNG nor JPEG (first bytes ${buf.subarray(0, 4).toString('hex') || 'none'}); expected a PNG or JPEG image. Pass .png or .jpg images.`);
  }
  if (!(rgba.width > 0 && rgba.height > 0) || rgba.data.length < rgba.width * rgba.height * 4) {
    throw failed(buf[0] === 0x89 ? 'PNG' : 'JPEG', new Error(`decoded ${rgba.width}x${rgba.height} with ${rgba.data.length} bytes of pixels`));
  }
  const out = new Uint8Array(IMAGE_PIXELS);
  toGray48({ ...rgba, channels: 4 }, out, 0);
  return out;
}

/** Runs a saved model on image files and returns the top-k classes of each. */
export async function runPredict(o: { model: string; files: string[]; top?: number; backend?: string }): Promise<ImagePrediction[]> {
  if (o.files.length === 0) throw new FerCliError('E_USAGE', 'fer predict: got no images, expected one or more PNG/JPEG files. Usage: fer predict --model DIR face1.png face2.jpg');
  await startBackend(o.backend ?? 'auto');
  const loaded = await loadModel(o.model);
  try {
    const [h, w] = loaded.meta.inputSize;
    if (h !== 48 || w !== 48) throw new FerCliError('E_BAD_OPTION', `${o.model}: the model takes ${w}x${h} images, fer predict expects a 48x48 model (it converts images to 48x48). Use a model trained at 48x48.`);
    const pixels = new Uint8Array(o.files.length * IMAGE_PIXELS);
    for (let i = 0; i < o.files.length; i++) pixels.set(await imageToGray48(o.files[i]), i * IMAGE_PIXELS);
    const { probabilities, numClasses } = await predict(loaded, pixels, o.files.length);
    const k = Math.min(o.top ?? 3, numClasses);
    return o.files.map((file, i) => {
      const row = Array.from(probabilities.subarray(i * numClasses, (i + 1) * numClasses)).map((p, c) => ({ label: loaded.meta.classNames[c] ?? String(c), probability: p }));
      row.sort((a, b) => b.probability - a.probability);
      return { file, top: row.slice(0, k) };
    });
  } finally {
    loaded.model.dispose();
  }
}

export default defineCommand({
  meta: { name: 'predict', description: 'Top-3 expressions of PNG/JPEG images of any size (converted to 48x48 gray: BT.601 luma, area-average resize).' },
  args: {
    'image...': { type: 'positional', description: 'one or more PNG/JPEG files of any size, e.g. fer predict --model runs/a/model face1.png face2.jpg', required: true },
    model: { type: 'string', description: 'saved model folder (fer train writes OUT/model)', required: true },
    top: { type: 'string', description: 'classes to show', default: '3' },
    json: { type: 'boolean', description: 'print JSON', default: false },
    backend: { type: 'string', description: 'wasm | cpu | webgpu | auto', default: 'auto' },
  },
  async run({ args }) {
    const files = (args._ as string[]).filter(Boolean);
    const results = await runPredict({ model: args.model, files, top: Number(args.top), backend: args.backend });
    if (args.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return;
    }
    for (const r of results) {
      process.stdout.write(`${r.file}\n`);
      for (const t of r.top) process.stdout.write(`  ${t.label.padEnd(10)} ${(t.probability * 100).toFixed(1).padStart(5)}%\n`);
    }
  },
});
