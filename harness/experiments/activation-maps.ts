import { defineExperiment } from '../src/job/spec.js';
import { deepRow } from './_rows.js';

export default defineExperiment({
  id: 'activation-maps',
  ref: 'Figure 6',
  title: 'Activation maps of sample faces at several epochs',
  produce: 'activation-maps',
  description: 'Outputs of the first and a deeper convolutional layer of the deep network for fixed sample faces (one per expression, from PublicTest), saved at the end of several epochs. Early maps look like edge detectors; later ones respond to eyes, brows and mouth.',
  base: {},
  rows: [deepRow()],
});
