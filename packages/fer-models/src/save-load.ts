import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './_fs.js';
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
}

/** A model loaded with {@link loadModel}. Call `model.dispose()` when done. */
export interface LoadedModel {
  model: tf.LayersModel;
  meta: StoredModelMeta;
}

/**
 * Saves `model` to `dir` as model.json + weights.bin (the tfjs layers format that `tf.loadLayersModel`
 * reads in a browser) and fer.json (`meta`). Files are written atomically.
 * @example
 * await saveModel('out/model', model, { modelName: 'paper-shallow', config, classNames: [...EMOTIONS] });
 */
export async function saveModel(dir: string, model: tf.LayersModel, meta: SavedModelMeta): Promise<StoredModelMeta> {
  const imageShape = model.inputs[0].shape;
  const stored: StoredModelMeta = {
    format: 'fer-model@1',
    ...meta,
    inputSize: [imageShape[1] ?? 0, imageShape[2] ?? 0, imageShape[3] ?? 1],
  };
  if (model.inputs.length > 1) stored.hogLength = model.inputs[1].shape[1] ?? undefined;
  await model.save(nodeSaveHandler(dir));
  await writeFileAtomic(join(dir, 'fer.json'), `${JSON.stringify(stored, null, 2)}\n`);
  return stored;
}

/**
 * Loads a directory written by {@link saveModel}. Missing or corrupt files throw E_MODEL_LOAD naming the file.
 * @example
 * const loaded = await loadModel('out/model');
 * const { labels } = predict(loaded, pixels, count);
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const metaPath = join(dir, 'fer.json');
  const text = await readText(metaPath, 'the fer.json written by saveModel');
  let meta: StoredModelMeta;
  try {
    meta = JSON.parse(text) as StoredModelMeta;
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `${metaPath}: not valid JSON (${(e as Error).message}). Re-save the model with saveModel.`, { cause: e });
  }
  if (meta?.format !== 'fer-model@1') {
    throw new FerModelsError('E_MODEL_LOAD', `${join(dir, 'fer.json')}: got format ${JSON.stringify(meta.format)}, expected "fer-model@1". Re-save the model with saveModel.`);
  }
  const model = await tf.loadLayersModel(nodeLoadHandler(dir));
  return { model, meta };
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
      await writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(weightData));
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
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
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const path = join(dir, 'model.json');
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(await readText(path, 'a tfjs layers model.json')) as tf.io.ModelJSON;
      } catch (e) {
        if ((e as FerModelsError).code === 'E_MODEL_LOAD') throw e;
        throw new FerModelsError('E_MODEL_LOAD', `${path}: not valid JSON (${(e as Error).message}). Expected a tfjs layers model.json; re-save the model.`, { cause: e });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new FerModelsError('E_MODEL_LOAD', `${path}: missing modelTopology or weightsManifest. Expected a tfjs layers model.json; re-save the model.`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(await readBinary(join(dir, p)));
      }
      const total = buffers.reduce((n, b) => n + b.byteLength, 0);
      const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s.dtype), 0);
      if (total !== expected) {
        throw new FerModelsError('E_MODEL_LOAD', `${dir}: weight files hold ${total} bytes, expected ${expected} from model.json's manifest. The weights are truncated or from another model; re-save the model.`);
      }
      const weightData = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) {
        weightData.set(b, off);
        off += b.byteLength;
      }
      return { modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, weightSpecs: specs, weightData: weightData.buffer };
    },
  };
}

// --- Internal helpers ---

function bytesPerElement(dtype: string): number {
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'bool' || dtype === 'uint8' ? 1 : dtype === 'float16' ? 2 : 4;
}

async function readText(path: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readBinary(path, what));
}

async function readBinary(path: string, what = 'a weights file named in model.json'): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected ${what}. Check the model directory (it should hold model.json, weights.bin and fer.json from saveModel).`, { cause: e });
  }
}
