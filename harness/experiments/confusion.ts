import { defineExperiment } from '../src/job/spec.js';
import { PER_CLASS, deepRow, shallowRow } from './_rows.js';

export default defineExperiment({
  id: 'confusion',
  ref: 'Figure 4',
  title: 'Confusion matrices of the shallow and deep CNN',
  produce: 'confusion',
  description: 'Row-normalized confusion matrices on PrivateTest. The diagonal is the per-expression accuracy of Table 2, which is what the paper states numerically.',
  base: {},
  rows: [shallowRow(Object.keys(PER_CLASS.shallow)), deepRow(Object.keys(PER_CLASS.deep))],
});
