import { defineExperiment } from '../src/job/spec.js';
import { deepRow, shallowRow } from './_rows.js';

export default defineExperiment({
  id: 'histories',
  ref: 'Figure 5',
  title: 'Training histories: loss and accuracy, training vs validation',
  produce: 'histories',
  description: 'Per-epoch training loss/accuracy and validation (PublicTest) loss/accuracy. The paper shows the deep network reaching ~65% validation accuracy by the end of training.',
  base: {},
  rows: [shallowRow(['validation']), deepRow(['validation'])],
});
