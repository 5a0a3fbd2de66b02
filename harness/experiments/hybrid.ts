import { paperDeep, paperShallow } from '@fer/models';
import { defineExperiment, reportedNumbers } from '../src/job/spec.js';
import { deepRow, shallowRow } from './_rows.js';

// The paper reports that adding HOG features gives about the same accuracy as raw pixels,
// so each hybrid row carries the raw-pixel network's reported test accuracy.
export default defineExperiment({
  id: 'hybrid',
  ref: 'Table 3',
  title: 'Hybrid CNN + HOG vs raw pixels',
  produce: 'hybrid',
  description: 'The same networks with a second input, HOG features of the face, concatenated before the fully connected layers. Compared with the raw-pixel networks on PrivateTest, with an exact McNemar test on the same rows.',
  claim: 'Adding HOG features gives about the same accuracy as raw pixels, for both the shallow and the deep network.',
  base: {},
  rows: [
    shallowRow(['test']),
    { row: 'hybrid-shallow', label: 'Shallow CNN + HOG', model: { name: 'paper-hybrid-shallow', config: {} }, paper: reportedNumbers(paperShallow, ['test']) },
    deepRow(['test']),
    { row: 'hybrid-deep', label: 'Deep CNN + HOG', model: { name: 'paper-hybrid-deep', config: {} }, paper: reportedNumbers(paperDeep, ['test']) },
  ],
});
