import * as tf from '@tensorflow/tfjs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from './_fs.js';
import { loadFrom, loadModelFromSource, readArtifacts, sha256Hex, tooLarge, type ModelReader, type ModelSource } from './_load.js';
import { FerModelsError } from './errors.js';

/** What prediction needs besides the weights; written to `fer.json` beside model.json. */
export interface SavedModelMeta {
  /** Registry name of the architecture, e.g. 'paper-shallow'. */
  modelName: string;
  /** The resolved model config. */
  config: Record<string, unknown>;
  /** Class names in output order. */
  classNames: string[];
  /** Normalizer JSON from @fer/data (`normalizer.toJSON()`); absent = pixels / 255. */
  normalizer?: unknown;
  /** HOG options of a hybrid model (the keys of @fer/hog's HogOptions). */
  hog?: Record<string, unknown>;
  /** Training summary (history, best epoch, metrics), any JSON. */
  training?: unknown;
}

/** {@link SavedModelMeta} as stored, with the format tag and the input size read from the model. */
export interface StoredModelMeta extends SavedModelMeta {
  format: 'fer-model@1';
  inputSize: [number, number, number];
  hogLength?: number;
  /** sha256 (hex) of the weight bytes, checked by {@link loadModel} (absent in folders saved before it was added). */
  weightsSha256?: string;
}

/** A model loaded with {@link loadModel}. Call `model.dispose()` when done. */
export interface LoadedModel {
  model: tf.LayersModel;
  meta: StoredModelMeta;
}

/**
 * Saves `model` to `dir` as model.json + weights.bin (the tfjs layers format that `tf.loadLayersModel`
 * reads in a browser) and fer.json (`meta`, with the weights' sha256). Files are written atomically.
 * Non-finite weights and a class-name count other than the output units throw E_BAD_INPUT.
 * @example
 * await saveModel('out/model', model, { modelName: 'paper-shallow', config, classNames: [...EMOTIONS] });
 */
export async function saveModel(dir: string, model: tf.LayersModel, meta: SavedModelMeta): Promise<StoredModelMeta> {
  const units = model.outputs[0].shape[1] ?? 0;
  if (!Array.isArray(meta.classNames) || meta.classNames.length !== units) {
    throw new FerModelsError('E_BAD_INPUT', `saveModel: got ${Array.isArray(meta.classNames) ? meta.classNames.length : 'no'} class names, expected ${units} (one per output unit of the model). Pass classNames in output order, e.g. the data set's classNames.`);
  }
  for (const v of model.weights) {
    const data = (await v.read().data()) as Float32Array;
    const i = data.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) {
      throw new FerModelsError('E_BAD_INPUT', `saveModel: weight ${v.originalName} holds ${data[i]} at index ${i}, expected finite weights; refusing to save ${dir}. The training diverged: lower the learning rate and train again, or resume from the last good checkpoint.`);
    }
  }
  const imageShape = model.inputs[0].shape;
  const stored: StoredModelMeta = {
    format: 'fer-model@1',
    ...meta,
    inputSize: [imageShape[1] ?? 0, imageShape[2] ?? 0, imageShape[3] ?? 1],
  };
  if (model.inputs.length > 1) stored.hogLength = model.inputs[1].shape[1] ?? undefined;
  const inner = nodeSaveHandler(dir);
  await model.save({
    save: async (artifacts) => {
      const bytes = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      stored.weightsSha256 = sha256Hex(new Uint8Array(bytes));
      return inner.save!(artifacts);
    },
  });
  await writeFileAtomic(join(dir, 'fer.json'), `${JSON.stringify(stored, null, 2)}\n`, 'model meta (fer.json)');
  return stored;
}

export { MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES } from './_load.js';

/**
 * Loads a model written by {@link saveModel}: from its folder (`source` a path or a `file:` URL), from a URL
 * (`http(s)://...`, fetched) or from its files in memory ({@link ModelFiles}). Missing or corrupt files throw
 * E_MODEL_LOAD naming the file: weight paths leaving the folder, files larger than {@link MAX_MODEL_JSON_BYTES} /
 * {@link MAX_WEIGHT_BYTES}, a topology whose layer sizes or input shape disagree with the weights manifest or
 * fer.json (checked before anything is built, so an edited layer size cannot allocate gigabytes), weight
 * names/shapes other than the topology's, NaN/Infinity weights, a changed weights.bin (sha256 in fer.json) and a
 * class-name count other than the output units. From a folder, only regular files inside it are read (symlinks
 * are resolved first; a FIFO or a device is refused before it is opened).
 * The sha256 guards against damage (a bit flip, a truncated copy), not against a deliberate edit: whoever
 * can write the folder can rewrite fer.json too. Load models only from folders you trust.
 * In a browser (the package's browser entry) a string is a URL, resolved against the page.
 * @example
 * const loaded = await loadModel('out/model');
 * const { labels } = await predict(loaded, pixels, count);
 */
export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  if (typeof source === 'string' && !/^https?:\/\//i.test(source)) return loadFrom(folderReader(source));
  if (source instanceof URL && source.protocol === 'file:') return loadFrom(folderReader(fileURLToPath(source)));
  return loadModelFromSource(source);
}

/**
 * A tfjs IOHandler that saves to `dir`/model.json + `dir`/weights.bin on Node (no tfjs-node needed).
 * @example
 * await model.save(nodeSaveHandler('out/model'));
 */
export function nodeSaveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      await writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(weightData), 'model weights');
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(modelJson), 'model topology');
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weightData.byteLength,
        },
      };
    },
  };
}

/** A tfjs IOHandler that loads model.json + its weight files from `dir` on Node. */
export function nodeLoadHandler(dir: string): tf.io.IOHandler {
  return { load: () => readArtifacts(folderReader(dir)) };
}

// --- Internal helpers ---

/** Reads the files of the saved model in folder `dir`. */
function folderReader(dir: string): ModelReader {
  return {
    where: dir,
    label: (name) => join(dir, name),
    // Only regular files inside the folder (symlinks resolved first), each within `max` bytes, before anything is opened.
    size: async (name, what, max) => (await regularFileInside(dir, join(dir, name), what, max)).size,
    read: async (name, what, max) => {
      const f = await regularFileInside(dir, join(dir, name), what, max);
      return readRegular(f.path, f.size);
    },
  };
}

/**
 * `path` after resolving symlinks, if it is a regular file inside `dir` (also resolved) of at most `max` bytes;
 * else E_MODEL_LOAD. Nothing is opened before that (a FIFO would block, /dev/zero never ends), and the size of a
 * file outside the folder is never reported.
 */
async function regularFileInside(dir: string, path: string, what: string, max: number): Promise<{ path: string; size: number }> {
  const cannot = (e: unknown) => new FerModelsError('E_MODEL_LOAD', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected ${what}. Check the model directory (it should hold model.json, weights.bin and fer.json from saveModel).`, { cause: e });
  let realDir: string, real: string;
  try {
    realDir = await realpath(dir);
    real = await realpath(path);
  } catch (e) {
    throw cannot(e);
  }
  const rel = relative(realDir, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new FerModelsError('E_MODEL_LOAD', `${path} is a link that leads out of the model folder ${dir}; expected ${what} inside it. Refusing to read it; copy the file into the folder (or re-save the model).`);
  }
  let st;
  try {
    st = await stat(real);
  } catch (e) {
    throw cannot(e);
  }
  if (!st.isFile()) {
    const kind = st.isFIFO() ? 'a FIFO (named pipe)' : st.isDirectory() ? 'a folder' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
    throw new FerModelsError('E_MODEL_LOAD', `${path} is ${kind}; expected ${what}, a regular file. Refusing to read it; re-save the model.`);
  }
  if (st.size > max) throw tooLarge(path, st.size, max, what);
  return { path: real, size: st.size };
}

/** Reads exactly `size` bytes of the regular file `path` (checked by {@link regularFileInside}). */
async function readRegular(path: string, size: number): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(out, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== size) throw Object.assign(new Error(`the file shrank while reading: ${off} of ${size} bytes`), { code: 'ESHRUNK' });
    return out;
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check the model directory (it should hold model.json, weights.bin and fer.json from saveModel).`, { cause: e });
  } finally {
    await fh?.close();
  }
}
