// Which model `fer predict` runs when no --model is given: the installed pretrained weights package.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPretrained, PRETRAINED_MODELS } from '@fer/models';
import { FerCliError } from '../errors.js';

/**
 * The model folder for fer predict: `--model` when given, else the first installed pretrained weights package of
 * @fer/models' PRETRAINED_MODELS (best first), looked up from the current folder and the harness's own.
 */
export async function resolvePredictModel(model?: string): Promise<string> {
  if (model) return model;
  const paths = [process.cwd(), dirname(fileURLToPath(import.meta.url))];
  for (const name of PRETRAINED_MODELS) {
    const dir = findPretrained(name, { paths });
    if (dir) return dir;
  }
  throw new FerCliError('E_USAGE', `fer predict: no --model given and no pretrained weights package (${PRETRAINED_MODELS.map((n) => `@fer/weights-${n}`).join(', ')}) is installed; expected --model DIR (a folder fer train wrote: OUT/model) or one of those packages.`);
}
