import { defineExperiment } from '../src/job/spec.js';
import { deepRow, shallowRow } from './_rows.js';

// Paper §4: shallow 55% validation / 54% test, deep 65% / 64% (@fer/models paper.reported).
export default defineExperiment({
  id: 'accuracy',
  ref: 'Table 1',
  title: 'Validation and test accuracy, shallow vs deep CNN',
  produce: 'accuracy',
  description: 'Accuracy on FER2013 PublicTest (validation: used to pick the best epoch) and PrivateTest (test: reported once).',
  base: {},
  rows: [shallowRow(['validation', 'test']), deepRow(['validation', 'test'])],
});
