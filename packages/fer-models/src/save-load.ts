import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
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
      stored.weightsSha256 = sha256(new Uint8Array(bytes));
      return inner.save!(artifacts);
    },
  });
  await writeFileAtomic(join(dir, 'fer.json'), `${JSON.stringify(stored, null, 2)}\n`, 'model meta (fer.json)');
  return stored;
}

/**
 * Loads a directory written by {@link saveModel}. Missing or corrupt files throw E_MODEL_LOAD naming the file:
 * weight paths leaving `dir`, weight names/shapes other than the topology's, NaN/Infinity weights, a changed
 * weights.bin (sha256 in fer.json) and a class-name count other than the output units.
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
    throw new FerModelsError('E_MODEL_LOAD', `${join(dir, 'fer.json')}: got format ${JSON.stringify(meta?.format)}, expected "fer-model@1". Re-save the model with saveModel.`);
  }
  const artifacts = await nodeLoadHandler(dir).load!();
  const modelJson = join(dir, 'model.json');
  let model: tf.LayersModel;
  try {
    // The topology alone (weights initialized), so the saved weights can be checked against it first.
    model = await tf.loadLayersModel({ load: async () => ({ modelTopology: artifacts.modelTopology, format: artifacts.format }) });
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: the modelTopology does not build (${(e as Error).message}). Expected a tfjs layers model.json; re-save the model.`, { cause: e });
  }
  try {
    const bytes = new Uint8Array(artifacts.weightData as ArrayBuffer);
    checkWeights(modelJson, model, artifacts.weightSpecs ?? [], bytes);
    if (meta.weightsSha256 !== undefined && sha256(bytes) !== meta.weightsSha256) {
      throw new FerModelsError('E_MODEL_LOAD', `${dir}: the weights (weights.bin) have sha256 ${sha256(bytes).slice(0, 12)}..., fer.json expects ${String(meta.weightsSha256).slice(0, 12)}...: the file was changed after saving (bit flip or edit). Re-save or re-train the model.`);
    }
    const units = model.outputs[0].shape[1] ?? 0;
    if (!Array.isArray(meta.classNames) || meta.classNames.length !== units) {
      throw new FerModelsError('E_MODEL_LOAD', `${metaPath}: got ${Array.isArray(meta.classNames) ? meta.classNames.length : 'no'} class names, expected ${units} (the model's output units). Fix classNames in fer.json or re-save the model.`);
    }
    const named = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    try {
      model.setWeights((artifacts.weightSpecs ?? []).map((s) => named[s.name]));
    } finally {
      tf.dispose(Object.values(named));
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
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
        for (const p of group.paths) buffers.push(await readBinary(insideFolder(dir, p, path)));
      }
      const total = buffers.reduce((n, b) => n + b.byteLength, 0);
      // Quantized weights (float16, uint8, uint16: tfjs's loader dequantizes them) take the bytes of their stored dtype.
      const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s.quantization?.dtype ?? s.dtype), 0);
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

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `dir`/`p`, or E_MODEL_LOAD when `p` (from model.json) is absolute or leaves `dir`. */
function insideFolder(dir: string, p: string, modelJson: string): string {
  const rel = typeof p === 'string' ? relative(resolve(dir), resolve(dir, p)) : '';
  if (typeof p !== 'string' || isAbsolute(p) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: weights path ${JSON.stringify(p)} leaves the model folder ${dir}; expected a file name inside it, e.g. "weights.bin". Refusing to read it; re-save the model.`);
  }
  return join(dir, p);
}

/** The weight specs of model.json against the topology (count, names in order, shapes), then every float finite. */
function checkWeights(modelJson: string, model: tf.LayersModel, specs: tf.io.WeightsManifestEntry[], bytes: Uint8Array): void {
  const vars = model.weights;
  const fix = 'Re-save the model with saveModel.';
  if (specs.length !== vars.length) {
    throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: lists ${specs.length} weights, the topology has ${vars.length}. ${fix}`);
  }
  const shape = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;
  vars.forEach((v, i) => {
    const s = specs[i];
    if (s.name !== v.originalName) {
      throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: model.json names weight ${s.name} (shape ${shape(s.shape)}) where the topology has ${v.originalName} (shape ${shape(v.shape)}), at position ${i}; expected the topology's names in its order (names swapped or edited). ${fix}`);
    }
    if (shape(s.shape) !== shape(v.shape)) {
      throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: weight ${s.name} has shape ${shape(s.shape)} in model.json, the topology expects ${shape(v.shape)}. ${fix}`);
    }
  });
  let off = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.dtype === 'float32' && !s.quantization) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + off, n * 4);
      for (let i = 0; i < n; i++) {
        const x = view.getFloat32(i * 4, true);
        if (!Number.isFinite(x)) {
          throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: weight ${s.name} holds ${x} at index ${i}, expected finite weights (weights.bin is damaged or the training diverged). Re-train or re-save the model.`);
        }
      }
    }
    off += n * (s.quantization ? bytesPerElement(s.quantization.dtype) : bytesPerElement(s.dtype ?? 'float32'));
  }
}

function bytesPerElement(dtype: string): number {
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'bool' || dtype === 'uint8' ? 1 : dtype === 'float16' || dtype === 'uint16' ? 2 : 4;
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
