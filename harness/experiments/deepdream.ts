import { defineExperiment } from '../src/job/spec.js';
import { deepRow, shallowRow } from './_rows.js';

export default defineExperiment({
  id: 'deepdream',
  ref: 'Figure 8',
  title: 'DeepDream: what the best model sees for each expression',
  produce: 'deepdream',
  description: 'Gradient ascent on the input image, from the mean face, to maximise each class score of the best model (highest PublicTest accuracy among the paper networks), with random jitter and periodic blur as regularisers (seeded).',
  base: {},
  rows: [shallowRow(), deepRow()],
});
