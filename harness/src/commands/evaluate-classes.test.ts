// Classes are matched by name (issue 22, item 7): fer evaluate of a 3-class model on 7-class data compares
// Happy with Happy (not index 0 with Angry), says which rows it left out; fer train refuses a model whose
// class count differs from the data's before anything is trained or written.
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticFer, splitIndices } from '@fer/data';
import { saveModel } from '@fer/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_SEED } from '../data.js';
import { classMapping, formatEvaluation, runEvaluate } from './evaluate.js';
import { runTrain } from './train.js';

const quiet = () => undefined;

describe('fer evaluate matches classes by name', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('maps data classes to the model\'s by name, case-insensitive; none shared is E_CLASS_MISMATCH', () => {
    expect(Array.from(classMapping(['Happy', 'Sad', 'Angry'], ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral']))).toEqual([2, -1, -1, 0, 1, -1, -1]);
    expect(Array.from(classMapping(['happy'], ['Happy']))).toEqual([0]);
    expect(() => classMapping(['cat', 'dog'], ['Happy', 'Sad'])).toThrow(expect.objectContaining({ code: 'E_CLASS_MISMATCH' }));
  });

  it('a 3-class model on the 7-class data: Happy rows are scored as Happy, the other classes are left out and named', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fer-eval-classes-')), 'model');
    // A model that always answers its first class, "Happy".
    const input = tf.input({ shape: [48, 48, 1], name: 'image' });
    const dense = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) });
    const model = tf.model({ inputs: input, outputs: dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor });
    dense.setWeights([tf.zeros([2304, 3]), tf.tensor1d([5, 0, 0])]);
    await saveModel(dir, model, { modelName: 'three', config: {}, classNames: ['Happy', 'Sad', 'Angry'] });
    model.dispose();
    const ds = makeSyntheticFer({ seed: SYNTHETIC_SEED });
    const rows = splitIndices(ds, 'PrivateTest');
    const count = (c: number) => Array.from(rows).filter((r) => ds.labels[r] === c).length;
    const e = await runEvaluate({ model: dir, data: 'synthetic', split: 'PrivateTest', backend: 'cpu', log: quiet });
    expect(e.report.classNames).toEqual(['Happy', 'Sad', 'Angry']);
    expect(e.report.total).toBe(count(3) + count(4) + count(0));
    // Every row predicted Happy: right exactly on the Happy rows (index 3 in the data, 0 in the model).
    expect(e.report.correct).toBe(count(3));
    expect(e.report.perClass.map((c) => c.support)).toEqual([count(3), count(4), count(0)]);
    expect(e.excluded.map((x) => x.name)).toEqual(['Disgust', 'Fear', 'Surprise', 'Neutral']);
    expect(formatEvaluation(e)).toMatch(/^NOTE: \d+ rows of classes the model does not know were left out: Disgust \(\d+\), Fear/);
  }, 60_000);
});

describe('fer train refuses a class-count mismatch at the start', () => {
  it('mini-xception with numClasses 3 on 7-class data: E_CLASS_MISMATCH before anything is written', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fer-train-classes-')), 'run');
    await expect(runTrain({ model: 'mini-xception', out, backend: 'cpu', data: 'synthetic', log: quiet, onProgress: quiet, sets: ['model.numClasses=3', 'epochs=1', 'limit=32'] }))
      .rejects.toMatchObject({ code: 'E_CLASS_MISMATCH', message: expect.stringContaining('model mini-xception has 3 output classes, the data has 7') });
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
