import { defineExperiment } from '../src/reproduce/spec.js';

// Not in the paper: two later models from the zoo, for context.
export default defineExperiment({
  id: 'zoo',
  ref: 'Context',
  title: 'Modern models for context: VGG-FER and mini-Xception',
  produce: 'zoo',
  description: 'Later FER2013 models trained by the same harness and schedule cap. Their authors trained much longer (VGG-FER: 300 epochs of SGD with Nesterov momentum, learning rate reduced on plateau), so under the quick/paper budgets here they are expected to fall short of the reported numbers.',
  base: {},
  rows: [
    { row: 'vgg-fer', label: 'VGG-FER (Khaireddin & Chen 2021)', model: { name: 'vgg-fer', config: {} }, train: { epochs: 35 }, paper: { test: 0.7328 }, source: 'Khaireddin & Chen 2021, arXiv 2105.03588' },
    { row: 'mini-xception', label: 'mini-Xception (Arriaga et al. 2017)', model: { name: 'mini-xception', config: {} }, train: { epochs: 35 }, paper: { test: 0.66 }, source: 'Arriaga et al. 2017, arXiv 1710.07557' },
  ],
});
