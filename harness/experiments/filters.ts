import { defineExperiment } from '../src/job/spec.js';
import { deepRow } from './_rows.js';

export default defineExperiment({
  id: 'filters',
  ref: 'Figure 7',
  title: 'First-layer filters of the deep network',
  produce: 'filters',
  description: 'The kernels of the first convolutional layer of the trained deep network, each scaled to its own min..max and upscaled.',
  base: {},
  rows: [deepRow()],
});
