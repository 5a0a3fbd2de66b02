import { miniXception, vggFer } from '@fer/models';
import { defineExperiment, modelRow } from '../src/job/spec.js';

// Not in the paper: two later models from the zoo, for context (their recipes and reported numbers are in
// @fer/models), plus any model a fer.config file registers (see src/project.ts).
export default defineExperiment({
  id: 'zoo',
  ref: 'Context',
  title: 'Modern models for context: VGG-FER and mini-Xception',
  produce: 'zoo',
  description: 'Later FER2013 models trained by the same harness and schedule cap. Their authors trained much longer (VGG-FER: 300 epochs of SGD with Nesterov momentum, learning rate reduced on plateau), so under the quick/paper budgets here they are expected to fall short of the reported numbers.',
  base: {},
  rows: [
    modelRow(vggFer, 'VGG-FER (Khaireddin & Chen 2021)'),
    modelRow(miniXception, 'mini-Xception (Arriaga et al. 2017)'),
  ],
});
