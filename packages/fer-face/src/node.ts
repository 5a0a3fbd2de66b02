// Node entry: everything of '@fer/face', and a createFaceDetector that loads the BlazeFace model this package
// ships (models/blazeface.json + .bin) from disk. Nothing is downloaded.
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { createFaceDetector as createWithModel, type FaceDetector, type FaceDetectorOptions } from './detector.js';
import { FerFaceError } from './errors.js';

export * from './index.js';

/** Paths of the vendored model files (src/ and dist/ are both one level below the package root). */
export const BLAZEFACE_MODEL_FILES = {
  json: fileURLToPath(new URL('../models/blazeface.json', import.meta.url)),
  weights: fileURLToPath(new URL('../models/blazeface.bin', import.meta.url)),
} as const;

/** A tfjs IOHandler that reads the vendored BlazeFace graph model (or the `json` file given, its weights beside it) from disk. */
export function blazeFaceModelHandler(json: string = BLAZEFACE_MODEL_FILES.json): tf.io.IOHandler {
  return {
    async load() {
      let manifest: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string; generatedBy?: string; convertedBy?: string; userDefinedMetadata?: Record<string, object> };
      const buffers: Uint8Array[] = [];
      try {
        manifest = JSON.parse(await readFile(json, 'utf8'));
        for (const group of manifest.weightsManifest) {
          for (const p of group.paths) buffers.push(await readFile(fileURLToPath(new URL(p, pathToFileURL(json)))));
        }
      } catch (e) {
        throw new FerFaceError('E_FS', `cannot read the BlazeFace model ${json} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected blazeface.json and blazeface.bin there. Reinstall @fer/face.`, { cause: e });
      }
      const total = buffers.reduce((s, b) => s + b.length, 0);
      const weightData = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) { weightData.set(b, off); off += b.length; }
      return {
        modelTopology: manifest.modelTopology,
        weightSpecs: manifest.weightsManifest.flatMap((g) => g.weights),
        weightData: weightData.buffer,
        format: manifest.format, generatedBy: manifest.generatedBy, convertedBy: manifest.convertedBy,
        userDefinedMetadata: manifest.userDefinedMetadata,
      };
    },
  };
}

/**
 * {@link createWithModel | createFaceDetector} with the vendored BlazeFace model as the default `model`.
 * @example
 * import { createFaceDetector } from '@fer/face/node';
 * const detector = await createFaceDetector();
 */
export async function createFaceDetector(opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
  return createWithModel({ ...opts, model: opts.model ?? blazeFaceModelHandler() });
}
