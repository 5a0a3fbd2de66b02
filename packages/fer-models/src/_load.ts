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

/** The largest model.json or fer.json {@link loadModel} reads (bytes). */
export const MAX_MODEL_JSON_BYTES = 64 * 2 ** 20;
/** The largest total of weight files {@link loadModel} reads (bytes; paper-shallow, the largest paper network, saves 76 MB). */
export const MAX_WEIGHT_BYTES = 2 ** 30;

/**
 * Reads the files of one saved model; `label` names a file in messages (its path or URL). `read` refuses (E_MODEL_LOAD)
 * a file over `max` bytes, before reading it where the source tells the size first. `size`, where the source has it
 * (a folder), gives a file's size without reading it (and refuses what is not a regular file inside the folder), so
 * the weights' total is checked against the manifest before anything is read.
 */
export interface ModelReader {
  /** The folder, URL or "in-memory model files", for messages. */
  where: string;
  label(name: string): string;
  read(name: string, what: string, max: number): Promise<Uint8Array>;
  size?(name: string, what: string, max: number): Promise<number>;
}

/** E_MODEL_LOAD for file `label` of `size` bytes, more than `max`. */
export function tooLarge(label: string, size: number, max: number, what: string): FerModelsError {
  return new FerModelsError('E_MODEL_LOAD', `${label} has ${size} bytes, more than the ${max} loadModel reads; expected ${what}. Check that this is the right folder.`);
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
    async read(name, what, max) {
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
      const declared = Number(res.headers.get('content-length'));
      if (declared > max) throw tooLarge(url.href, declared, max, what);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > max) throw tooLarge(url.href, bytes.byteLength, max, what);
      return bytes;
    },
  };
}

/** A reader over files already in memory (e.g. picked with <input type=file>, or bundled). */
export function memoryReader(files: ModelFiles): ModelReader {
  const where = 'in-memory model files';
  return {
    where,
    label: (name) => name,
    async read(name, what, max) {
      const f = Object.prototype.hasOwnProperty.call(files, name) ? files[name] : undefined;
      const bytes = typeof f === 'string' ? new TextEncoder().encode(f) : f instanceof Uint8Array ? f : f instanceof ArrayBuffer ? new Uint8Array(f) : undefined;
      if (bytes) {
        if (bytes.byteLength > max) throw tooLarge(`${where}: ${name}`, bytes.byteLength, max, what);
        return bytes;
      }
      throw new FerModelsError('E_MODEL_LOAD', `${where}: ${f === undefined ? `no file named ${JSON.stringify(name)}` : `${JSON.stringify(name)} is ${typeof f}`} among ${JSON.stringify(Object.keys(files))}; expected ${what} (a Uint8Array, ArrayBuffer or string). Pass every file of the saved model folder by its name.`);
    },
  };
}

/**
 * Loads a model written by saveModel through `r`. Missing or corrupt files throw E_MODEL_LOAD naming the file:
 * weight paths leaving the folder, files larger than {@link MAX_MODEL_JSON_BYTES} / {@link MAX_WEIGHT_BYTES}, a
 * weights manifest of the wrong structure, a topology whose layer sizes or input shape disagree with the weights
 * manifest or fer.json (checked before anything is built, so an edited layer size cannot allocate gigabytes),
 * weight names/shapes other than the topology's, NaN/Infinity weights, a changed weights.bin (sha256 in fer.json)
 * and a class-name count other than the output units.
 */
export async function loadFrom(r: ModelReader): Promise<LoadedModel> {
  const metaPath = r.label('fer.json');
  const text = new TextDecoder().decode(await r.read('fer.json', 'the fer.json written by saveModel', MAX_MODEL_JSON_BYTES));
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
  checkTopology(modelJson, artifacts.modelTopology, artifacts.weightSpecs ?? [], meta);
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
  const text = new TextDecoder().decode(await r.read('model.json', 'a tfjs layers model.json', MAX_MODEL_JSON_BYTES));
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (e) {
    throw new FerModelsError('E_MODEL_LOAD', `${path}: not valid JSON (${(e as Error).message}). Expected a tfjs layers model.json; re-save the model.`, { cause: e });
  }
  if (!json || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new FerModelsError('E_MODEL_LOAD', `${path}: missing modelTopology or weightsManifest. Expected a tfjs layers model.json; re-save the model.`);
  }
  checkManifest(path, json.weightsManifest);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const paths: string[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      checkWeightPath(p, r.where, path);
      paths.push(p);
    }
  }
  const what = 'a weights file named in model.json';
  // Quantized weights (float16, uint8, uint16: tfjs's loader dequantizes them) take the bytes of their stored dtype.
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s.quantization?.dtype ?? s.dtype), 0);
  const checkTotal = (total: number) => {
    if (total !== expected) {
      throw new FerModelsError('E_MODEL_LOAD', `${r.where}: weight files hold ${total} bytes, expected ${expected} from model.json's manifest. The weights are truncated or from another model; re-save the model.`);
    }
    if (total > MAX_WEIGHT_BYTES) {
      throw new FerModelsError('E_MODEL_LOAD', `${r.where}: the weights take ${total} bytes, more than the ${MAX_WEIGHT_BYTES} loadModel reads. Expected a model of this package's size; check that this is the right folder.`);
    }
  };
  // Sizes first where the source has them (a folder: stat), so nothing is read from files that cannot be the manifest's weights.
  if (r.size) {
    let total = 0;
    for (const p of paths) total += await r.size(p, what, MAX_WEIGHT_BYTES);
    checkTotal(total);
  }
  const buffers: Uint8Array[] = [];
  let total = 0;
  for (const p of paths) {
    const b = await r.read(p, what, MAX_WEIGHT_BYTES);
    total += b.byteLength;
    if (total > MAX_WEIGHT_BYTES) checkTotal(total);
    buffers.push(b);
  }
  checkTotal(total);
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

/** The manifest's structure (groups of string paths and weight entries with integer shapes and a known dtype), as E_MODEL_LOAD. */
function checkManifest(modelJson: string, manifest: unknown[]): void {
  const bad = (what: string) => new FerModelsError('E_MODEL_LOAD', `${modelJson}: weightsManifest ${what}. Expected [{ paths: ["weights.bin"], weights: [{ name, shape: [..], dtype: "float32" }, ...] }] as saveModel writes it; re-save the model.`);
  manifest.forEach((g, gi) => {
    const group = g as { paths?: unknown; weights?: unknown };
    if (!group || typeof group !== 'object') throw bad(`[${gi}] is ${JSON.stringify(g)}, not an object`);
    if (!Array.isArray(group.paths) || group.paths.some((p) => typeof p !== 'string')) throw bad(`[${gi}].paths is ${JSON.stringify(group.paths)?.slice(0, 80)}, not a list of file names`);
    if (!Array.isArray(group.weights)) throw bad(`[${gi}].weights is ${JSON.stringify(group.weights)?.slice(0, 80)}, not a list`);
    group.weights.forEach((w: unknown, wi) => {
      const e = w as { name?: unknown; shape?: unknown; dtype?: unknown; quantization?: unknown };
      const where = `[${gi}].weights[${wi}]`;
      if (!e || typeof e !== 'object' || typeof e.name !== 'string') throw bad(`${where} has no name`);
      if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`${where} (${e.name}) has shape ${JSON.stringify(e.shape)?.slice(0, 80)}, not a list of non-negative integers`);
      if (!['float32', 'int32', 'bool', 'string', 'complex64'].includes(e.dtype as string)) throw bad(`${where} (${e.name}) has dtype ${JSON.stringify(e.dtype)?.slice(0, 40)}`);
      if (e.quantization !== undefined) {
        const q = e.quantization as { dtype?: unknown };
        if (!q || typeof q !== 'object' || !['uint8', 'uint16', 'float16'].includes(q.dtype as string)) throw bad(`${where} (${e.name}) has quantization ${JSON.stringify(e.quantization)?.slice(0, 80)}, not one of dtype uint8, uint16 or float16`);
      }
    });
  });
}

/** The layers of a layers-model topology (nested models flattened). */
function topologyLayers(t: unknown): { class_name?: unknown; config?: Record<string, unknown>; name?: unknown }[] | null {
  const c = (t as { config?: unknown })?.config;
  const list = Array.isArray(c) ? c : Array.isArray((c as { layers?: unknown })?.layers) ? (c as { layers: unknown[] }).layers : null;
  if (!list) return null;
  const out: { class_name?: unknown; config?: Record<string, unknown> }[] = [];
  for (const l of list as { class_name?: unknown; config?: Record<string, unknown> }[]) {
    const inner = l && (l.class_name === 'Model' || l.class_name === 'Sequential' || l.class_name === 'Functional') ? topologyLayers(l) : null;
    if (inner) out.push(...inner);
    else out.push(l);
  }
  return out;
}

/** Layer config keys that set a weight's size: each must be a dimension of one of the layer's weights in the manifest. */
const SIZE_KEYS = ['units', 'filters', 'depth_multiplier', 'input_dim', 'output_dim'];

/**
 * The topology against the weights manifest and fer.json, before anything is built: every size-setting key of
 * a layer (units, filters, kernel_size, ...) must match a shape of that layer's weights in the manifest, and
 * the inputs must have fer.json's input size. With those equal, the weights the topology builds are the
 * manifest's (whose size matched the files), so building allocates no more than the weight files hold.
 */
function checkTopology(modelJson: string, topology: unknown, specs: tf.io.WeightsManifestEntry[], meta: StoredModelMeta): void {
  const fix = 'The topology was edited or belongs to another model; re-save the model with saveModel.';
  const layers = topologyLayers(topology);
  if (!layers) throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: modelTopology has no list of layers (config.layers). Expected a tfjs layers model.json; re-save the model.`);
  const shapesOf = (name: string) => specs.filter((s) => s.name.startsWith(`${name}/`)).map((s) => s.shape);
  const inputs: { name: string; shape: unknown[] }[] = [];
  for (const l of layers) {
    const c = l?.config;
    const name = typeof c?.name === 'string' ? c.name : typeof l?.name === 'string' ? l.name : undefined;
    if (!c || typeof c !== 'object' || !name) throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: a layer of modelTopology has no config or name (${JSON.stringify(l)?.slice(0, 120)}). ${fix}`);
    if (l.class_name === 'InputLayer') {
      const shape = (c.batch_input_shape ?? c.batchInputShape) as unknown[];
      if (!Array.isArray(shape)) throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: input layer ${name} has no batch_input_shape. ${fix}`);
      inputs.push({ name, shape: shape.slice(1) });
      continue;
    }
    const shapes = shapesOf(name);
    const list = shapes.map((s) => `[${s.join(', ')}]`).join(', ') || 'none';
    for (const key of SIZE_KEYS) {
      const v = c[key];
      if (v === undefined || v === null) continue;
      if (!Number.isInteger(v) || (v as number) < 1 || !shapes.some((s) => s.includes(v as number))) {
        throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: layer ${name} (${String(l.class_name)}) has ${key} ${JSON.stringify(v)?.slice(0, 40)}, but its weights in the manifest have shapes ${list}; refusing to build it. ${fix}`);
      }
    }
    const k = c.kernel_size;
    if (k !== undefined && k !== null) {
      const dims = Array.isArray(k) ? k : [k, k];
      if (!dims.every((d) => Number.isInteger(d) && d >= 1) || !shapes.some((s) => dims.every((d, i) => s[i] === d))) {
        throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: layer ${name} (${String(l.class_name)}) has kernel_size ${JSON.stringify(k)?.slice(0, 40)}, but its weights in the manifest have shapes ${list}; refusing to build it. ${fix}`);
      }
    }
  }
  if (!Array.isArray(meta.inputSize)) return;
  const want: unknown[][] = [meta.inputSize, ...(meta.hogLength !== undefined ? [[meta.hogLength]] : [])];
  const got = inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join(', ');
  const key = (shapes: unknown[][]) => shapes.map((x) => JSON.stringify(x)).sort().join();
  const same = key(inputs.map((i) => i.shape)) === key(want) && want.flat().every((d) => Number.isInteger(d) && (d as number) >= 1 && (d as number) <= 65536);
  if (!same) {
    throw new FerModelsError('E_MODEL_LOAD', `${modelJson}: the topology's inputs are ${got || 'none'}, fer.json expects ${want.map((w) => `[${w.join(', ')}]`).join(' and ')} (inputSize${meta.hogLength !== undefined ? ', hogLength' : ''}). ${fix}`);
  }
}

function bytesPerElement(dtype: string): number {
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'bool' || dtype === 'uint8' ? 1 : dtype === 'float16' || dtype === 'uint16' ? 2 : 4;
}
