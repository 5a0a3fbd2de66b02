import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerModelsError } from './errors.js';
import { loadModel, type LoadedModel } from './save-load.js';

/**
 * Names of the pretrained weights packages, best first: `loadPretrained(name)` loads `@fer/weights-<name>`
 * (installed separately: `npm install @fer/weights-paper-shallow`). Each package's MODEL_CARD.md gives its
 * measured accuracy and the exact preprocessing.
 */
export const PRETRAINED_MODELS = ['paper-deep', 'paper-shallow'] as const;
export type PretrainedName = (typeof PRETRAINED_MODELS)[number];

/** Options of {@link pretrainedModelDir} and {@link loadPretrained}. */
export interface PretrainedOptions {
  /** Folders to resolve the package from (default: the current folder, then @fer/models' own location). */
  paths?: readonly string[];
}

/**
 * The saved-model folder (`model/`) of the installed `@fer/weights-<name>` package, or null when it is not installed.
 * Throws E_UNKNOWN_MODEL for a name outside {@link PRETRAINED_MODELS}.
 */
export function findPretrained(name: string, opts: PretrainedOptions = {}): string | null {
  if (!(PRETRAINED_MODELS as readonly string[]).includes(name)) {
    throw new FerModelsError('E_UNKNOWN_MODEL', `loadPretrained: no pretrained model "${name}", expected one of ${PRETRAINED_MODELS.join(', ')}.`);
  }
  const from = [...(opts.paths ?? [process.cwd()]), dirname(fileURLToPath(import.meta.url))];
  for (const base of from) {
    try {
      const pkg = createRequire(join(resolve(base), 'noop.js')).resolve(`@fer/weights-${name}/package.json`);
      const dir = join(dirname(pkg), 'model');
      if (existsSync(join(dir, 'fer.json'))) return dir;
    } catch {
      // not installed where this base looks
    }
  }
  return null;
}

/** Like {@link findPretrained}, but throws E_MISSING_DEPENDENCY (with the npm command) when the package is not installed. */
export function pretrainedModelDir(name: string, opts: PretrainedOptions = {}): string {
  const dir = findPretrained(name, opts);
  if (dir === null) {
    throw new FerModelsError('E_MISSING_DEPENDENCY', `loadPretrained: the weights package @fer/weights-${name} is not installed (looked from ${(opts.paths ?? [process.cwd()]).join(', ')} and @fer/models' folder); expected it beside @fer/models. Install it: npm install @fer/weights-${name}`);
  }
  return dir;
}

/**
 * Loads the pretrained model of an installed weights package (float16 weights, dequantized by tfjs's loader) for
 * `predict(loaded, pixels, count)`. Call `loaded.model.dispose()` when done.
 * @example
 * const loaded = await loadPretrained('paper-shallow'); // after npm install @fer/weights-paper-shallow
 */
export async function loadPretrained(name: string, opts: PretrainedOptions = {}): Promise<LoadedModel> {
  return loadModel(pretrainedModelDir(name, opts));
}
