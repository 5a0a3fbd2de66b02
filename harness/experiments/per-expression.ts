import { defineExperiment } from '../src/job/spec.js';
import { PER_CLASS, deepRow, shallowRow } from './_rows.js';

export default defineExperiment({
  id: 'per-expression',
  ref: 'Table 2',
  title: 'Per-expression test accuracy, shallow vs deep CNN',
  produce: 'per-class',
  description: 'Recall of each class on PrivateTest (the fraction of that expression the model gets right).',
  base: {},
  rows: [shallowRow(Object.keys(PER_CLASS.shallow)), deepRow(Object.keys(PER_CLASS.deep))],
});
