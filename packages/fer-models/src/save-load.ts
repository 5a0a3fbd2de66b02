import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { open, realpath, stat } from 'node:fs/promises';
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

/** The largest model.json or fer.json {@link loadModel} reads (bytes). */
export const MAX_MODEL_JSON_BYTES = 64 * 2 ** 20;
/** The largest total of weight files {@link loadModel} reads (bytes; paper-shallow, the largest paper network, saves 76 MB). */
export const MAX_WEIGHT_BYTES = 2 ** 30;

/**
 * Loads a directory written by {@link saveModel}. Missing or corrupt files throw E_MODEL_LOAD naming the file:
 * weight paths leaving `dir` (symlinks are resolved first), files that are not regular files (a FIFO, a
 * device) or larger than {@link MAX_MODEL_JSON_BYTES} / {@link MAX_WEIGHT_BYTES}, a topology whose layer sizes
 * or input shape disagree with the weights manifest or fer.json (checked before anything is built, so an
 * edited layer size cannot allocate gigabytes), weight names/shapes other than the topology's, NaN/Infinity
 * weights, a changed weights.bin (sha256 in fer.json) and a class-name count other than the output units.
 * The sha256 guards against damage (a bit flip, a truncated copy), not against a deliberate edit: whoever
 * can write the folder can rewrite fer.json too. Load models only from folders you trust.
 * @example
 * const loaded = await loadModel('out/model');
 * const { labels } = predict(loaded, pixels, count);
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const metaPath = join(dir, 'fer.json');
  const text = await readText(dir, 'fer.json', 'the fer.json written by saveModel');
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
        json = JSON.parse(await readText(dir, 'model.json', 'a tfjs layers model.json')) as tf.io.ModelJSON;
      } catch (e) {
        if ((e as FerModelsError).code === 'E_MODEL_LOAD') throw e;
        throw new FerModelsError('E_MODEL_LOAD', `${path}: not valid JSON (${(e as Error).message}). Expected a tfjs layers model.json; re-save the model.`, { cause: e });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new FerModelsError('E_MODEL_LOAD', `${path}: missing modelTopology or weightsManifest. Expected a tfjs layers model.json; re-save the model.`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const files: { path: string; size: number }[] = [];
      checkManifest(path, json.weightsManifest);
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) files.push(await regularFileInside(dir, insideFolder(dir, p, path), 'a weights file named in model.json', MAX_WEIGHT_BYTES));
      }
      // Sizes first (stat), so nothing is read from files that cannot be the manifest's weights.
      const total = files.reduce((n, f) => n + f.size, 0);
      const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s.quantization?.dtype ?? s.dtype), 0);
      if (total !== expected) {
        throw new FerModelsError('E_MODEL_LOAD', `${dir}: weight files hold ${total} bytes, expected ${expected} from model.json's manifest. The weights are truncated or from another model; re-save the model.`);
      }
      if (total > MAX_WEIGHT_BYTES) {
        throw new FerModelsError('E_MODEL_LOAD', `${dir}: the weights take ${total} bytes, more than the ${MAX_WEIGHT_BYTES} loadModel reads. Expected a model of this package's size; check that this is the right folder.`);
      }
      const buffers: Uint8Array[] = [];
      for (const f of files) buffers.push(await readRegular(f.path, f.size));
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
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'bool' || dtype === 'uint8' ? 1 : dtype === 'float16' ? 2 : 4;
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
      const e = w as { name?: unknown; shape?: unknown; dtype?: unknown };
      const where = `[${gi}].weights[${wi}]`;
      if (!e || typeof e !== 'object' || typeof e.name !== 'string') throw bad(`${where} has no name`);
      if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`${where} (${e.name}) has shape ${JSON.stringify(e.shape)?.slice(0, 80)}, not a list of non-negative integers`);
      if (!['float32', 'int32', 'bool', 'string', 'complex64'].includes(e.dtype as string)) throw bad(`${where} (${e.name}) has dtype ${JSON.stringify(e.dtype)?.slice(0, 40)}`);
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

async function readText(dir: string, name: string, what: string): Promise<string> {
  const f = await regularFileInside(dir, join(dir, name), what, MAX_MODEL_JSON_BYTES);
  return new TextDecoder().decode(await readRegular(f.path, f.size));
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
  if (st.size > max) {
    throw new FerModelsError('E_MODEL_LOAD', `${path} has ${st.size} bytes, more than the ${max} loadModel reads; expected ${what}. Check that this is the right folder.`);
  }
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
