// Loading a saved model (fer.json + model.json + weights) from any source: a folder on Node (the node
// entry's reader in save-load.ts), a URL (fetch) or files in memory. Browser-safe: no Node built-in here.
import * as tf from '@tensorflow/tfjs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { FerModelsError } from './errors.js';
import type { LoadedModel, StoredModelMeta } from './save-load.js';

/**
 * A saved model's files in memory, by the names {@link saveModel} gives them: `fer.json`, `model.json` and the
 * weight files model.json names (`weights.bin`). Values are the file bytes, or the text of a JSON file.
 */
export type ModelFiles = Readonly<Record<string, Uint8Array | ArrayBuffer | string>>;

/**
 * Where `loadModel` reads a saved model from: a folder path (Node entry) or a URL of the folder (a string in the
 * browser entry, resolved against the page), a `URL`, or the files in memory ({@link ModelFiles}).
 */
export type ModelSource = string | URL | ModelFiles;

/** Reads the files of one saved model; `label` names a file in messages (its path or URL). */
export interface ModelReader {
  /** The folder, URL or "in-memory model files", for messages. */
  where: string;
  label(name: string): string;
  read(name: string, what: string): Promise<Uint8Array>;
}

/** sha256 of `bytes` as hex (pure JS, the same digest on Node and in a browser, secure context or not). */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/**
 * The browser entry's `loadModel`: a URL (a string is resolved against the page's address) or files in memory.
 * @example
 * const loaded = await loadModel('models/fer/'); // fetches models/fer/fer.json, model.json, weights.bin
 */
export async function loadModelFromSource(source: ModelSource): Promise<LoadedModel> {
  if (typeof source === 'string' || source instanceof URL) return loadFrom(urlReader(source));
  if (source !== null && typeof source === 'object' && !Array.isArray(source)) return loadFrom(memoryReader(source));
  throw new FerModelsError('E_BAD_OPTION', `loadModel: got ${source === null ? 'null' : Array.isArray(source) ? 'an array' : typeof source}, expected the URL of a saved model's folder (a string or URL) or its files in memory ({ 'fer.json', 'model.json', 'weights.bin' }).`);
}

/** A reader over HTTP(S) (or any URL fetch takes): file names resolve against the folder URL. */
export function urlReader(source: string | URL): ModelReader {
  let base: URL;
  try {
    const href = source instanceof URL ? source.href : source;
    const page = (globalThis as { location?: { href?: string } }).location?.href;
    base = new URL(href.endsWith('/') ? href : `${href}/`, page);
  } catch (e) {
    throw new FerModelsError('E_BAD_OPTION', `loadModel: ${JSON.stringify(String(source))} is not a URL${(globalThis as { location?: unknown }).location ? '' : ' and there is no page address to resolve it against'}; expected the URL of the folder holding fer.json, model.json and weights.bin, e.g. "https://example.com/models/fer/".`, { cause: e });
  }
  return {
    where: base.href,
    label: (name) => new URL(name, base).href,
    async read(name, what) {
      const url = new URL(name, base);
      if (!url.href.startsWith(base.href)) {
        throw new FerModelsError('E_MODEL_LOAD', `${url.href} is outside the model folder ${base.href}; expected a file inside it. Refusing to fetch it; re-save the model.`);
      }
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new FerModelsError('E_MODEL_LOAD', `cannot fetch ${url.href} (${(e as Error).message}); expected ${what}. Check the URL and that the server sends the model folder (model.json, weights.bin and fer.json from saveModel), with CORS headers if it is another origin.`, { cause: e });
      }
      if (!res.ok) {
        throw new FerModelsError('E_MODEL_LOAD', `cannot fetch ${url.href} (HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}); expected ${what}. Check the URL: the folder should hold model.json, weights.bin and fer.json from saveModel.`);
      }
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/** A reader over files already in memory (e.g. picked with <input type=file>, or bundled). */
export function memoryReader(files: ModelFiles): ModelReader {
  const where = 'in-memory model files';
  return {
    where,
    label: (name) => name,
    async read(name, what) {
      const f = Object.prototype.hasOwnProperty.call(files, name) ? files[name] : undefined;
      if (typeof f === 'string') return new TextEncoder().encode(f);
      if (f instanceof Uint8Array) return f;
      if (f instanceof ArrayBuffer) return new Uint8Array(f);
      throw new FerModelsError('E_MODEL_LOAD', `${where}: ${f === undefined ? `no file named ${JSON.stringify(name)}` : `${JSON.stringify(name)} is ${typeof f}`} among ${JSON.stringify(Object.keys(files))}; expected ${what} (a Uint8Array, ArrayBuffer or string). Pass every file of the saved model folder by its name.`);
    },
  };
}

/**
 * Loads a model written by saveModel through `r`. Missing or corrupt files throw E_MODEL_LOAD naming the file:
 * weight paths leaving the folder, weight names/shapes other than the topology's, NaN/Infinity weights, a changed
 * weights.bin (sha256 in fer.json) and a class-name count other than the output units.
 */
export async function loadFrom(r: ModelReader): Promise<LoadedModel> {
  const metaPath = r.label('fer.json');
  const text = new TextDecoder().decode(await r.read('fer.json', 'the fer.json written by saveModel'));
  let meta: StoredModelMeta;
  try {
    meta = JSON.parse(text) as StoredModelMeta;
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `${metaPath}: not valid JSON (${(e as Error).message}). Re-save the model with saveModel.`, { cause: e });
  }
  if (meta?.format !== 'fer-model@1') {
    throw new FerModelsError('E_MODEL_LOAD', `${metaPath}: got format ${JSON.stringify(meta?.format)}, expected "fer-model@1". Re-save the model with saveModel.`);
  }
  const artifacts = await readArtifacts(r);
  const modelJson = r.label('model.json');
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
    if (meta.weightsSha256 !== undefined) {
      const got = sha256Hex(bytes);
      if (got !== meta.weightsSha256) {
        throw new FerModelsError('E_MODEL_LOAD', `${r.where}: the weights (weights.bin) have sha256 ${got.slice(0, 12)}..., fer.json expects ${String(meta.weightsSha256).slice(0, 12)}...: the file was changed after saving (bit flip or edit). Re-save or re-train the model.`);
      }
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

/** model.json and the weight files it names, through `r`, as tfjs model artifacts (weights concatenated). */
export async function readArtifacts(r: ModelReader): Promise<tf.io.ModelArtifacts> {
  const path = r.label('model.json');
  let json: tf.io.ModelJSON;
  const text = new TextDecoder().decode(await r.read('model.json', 'a tfjs layers model.json'));
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `${path}: not valid JSON (${(e as Error).message}). Expected a tfjs layers model.json; re-save the model.`, { cause: e });
  }
  if (!json || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new FerModelsError('E_MODEL_LOAD', `${path}: missing modelTopology or weightsManifest. Expected a tfjs layers model.json; re-save the model.`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      checkWeightPath(p, r.where, path);
      buffers.push(await r.read(p, 'a weights file named in model.json'));
    }
  }
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  // Quantized weights (float16, uint8, uint16: tfjs's loader dequantizes them) take the bytes of their stored dtype.
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s.quantization?.dtype ?? s.dtype), 0);
  if (total !== expected) {
    throw new FerModelsError('E_MODEL_LOAD', `${r.where}: weight files hold ${total} bytes, expected ${expected} from model.json's manifest. The weights are truncated or from another model; re-save the model.`);
  }
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    weightData.set(b, off);
    off += b.byteLength;
  }
  return { modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, weightSpecs: specs, weightData: weightData.buffer };
}

/**
 * E_MODEL_LOAD unless `p` (a weights path from model.json) is a relative path that stays inside the model
 * folder: not absolute, no drive letter or URL scheme, no `..` (also percent-encoded) above the folder.
 */
function checkWeightPath(p: unknown, where: string, modelJson: string): void {
  let ok = typeof p === 'string' && p !== '' && !/^[\\/]/.test(p) && !/^[a-z][a-z0-9+.-]*:/i.test(p);
  if (ok) {
    let depth = 0;
    for (const seg of (p as string).split(/[\\/]/)) {
      const s = seg.replace(/%2e/gi, '.');
      if (s === '..') depth--;
      else if (s !== '.' && s !== '') depth++;
      if (depth < 0) ok = false;
    }
    if (depth < 1) ok = false;
  }
  if (!ok) {
    throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: weights path ${JSON.stringify(p)} leaves the model folder ${where}; expected a file name inside it, e.g. "weights.bin". Refusing to read it; re-save the model.`);
  }
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
