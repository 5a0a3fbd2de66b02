// Every experiment of the reproduction, in the order of the report.
import type { ExperimentSpec } from '../src/job/spec.js';
import accuracy from './accuracy.js';
import perExpression from './per-expression.js';
import hybrid from './hybrid.js';
import confusion from './confusion.js';
import histories from './histories.js';
import activationMaps from './activation-maps.js';
import filters from './filters.js';
import deepdream from './deepdream.js';
import zoo from './zoo.js';
import sweep from './sweep.js';

/** Every experiment; those with `produce: 'sweep'` run only when named with `--only` (see selectExperiments). */
export const experiments: readonly ExperimentSpec[] = [accuracy, perExpression, hybrid, confusion, histories, activationMaps, filters, deepdream, zoo, sweep];
