import { describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { paperShallow, vggFer } from '@fer/models';
import { mergeDeep, modelOverrides, parseOverrides, settingKeys } from './overrides.js';
import { DEFAULTS, defineExperiment, validateExperiment, type ExperimentSpec } from './spec.js';

const MODELS = ['paper-shallow', 'paper-deep', 'paper-hybrid-shallow', 'paper-hybrid-deep', 'vgg-fer', 'mini-xception'];

const tiny = (): ExperimentSpec => defineExperiment({
  id: 't', ref: 'Table 1', title: 'T', produce: 'accuracy', description: 'd', base: {},
  rows: [{ row: 'a', label: 'A', model: { name: 'paper-shallow', config: {} }, paper: { test: 0.5 } }],
});

describe('experiment specs', () => {
  it('every shipped experiment validates against the model registry', () => {
    expect(experiments.map((e) => e.id)).toEqual(['accuracy', 'per-expression', 'hybrid', 'confusion', 'histories', 'activation-maps', 'filters', 'deepdream', 'zoo', 'sweep']);
    for (const e of experiments) expect(() => validateExperiment(e, MODELS)).not.toThrow();
  });

  it('holds the paper numbers, read from @fer/models', () => {
    const per = experiments.find((e) => e.id === 'per-expression')!;
    expect(per.rows.find((r) => r.row === 'deep')!.paper).toMatchObject({ Angry: 0.53, Disgust: 0.7, Happy: 0.805, Neutral: 0.515 });
    const acc = experiments.find((e) => e.id === 'accuracy')!;
    expect(acc.rows.map((r) => r.paper)).toEqual([{ validation: 0.55, test: 0.54 }, { validation: 0.65, test: 0.64 }]);
  });

  it('a sweep experiment: sweeps instead of rows, each checked', () => {
    const sweep = experiments.find((e) => e.id === 'sweep')!;
    expect(sweep.sweeps!.map((s) => [s.model, s.trials.paper])).toEqual([['paper-shallow', 27], ['paper-deep', 27]]);
    expect(sweep.sweeps![0].space.map((x) => x.split('=')[0])).toEqual(['lr', 'l2', 'units', 'optimizer', 'train.classWeights']);
    expect(sweep.sweeps![1].space.map((x) => x.split('=')[0])).toEqual(['lr', 'l2', 'dropout', 'train.classWeights']);
    const one = (over: Record<string, unknown>) => ({ ...sweep, sweeps: [{ ...sweep.sweeps![0], ...over }] }) as ExperimentSpec;
    expect(() => validateExperiment(one({ model: 'paper-shalow' }), MODELS)).toThrow(/unknown model "paper-shalow"/);
    expect(() => validateExperiment(one({ trials: { smoke: 1, quick: 1 } }), MODELS)).toThrow(/trials.paper is undefined, expected a positive integer/);
    expect(() => validateExperiment(one({ asha: { minEpochs: 0, eta: 3 } }), MODELS)).toThrow(/asha must be/);
    expect(() => validateExperiment(one({ colour: 1 }), MODELS)).toThrow(/unknown key "colour"/);
    expect(() => validateExperiment({ ...sweep, sweeps: [] }, MODELS)).toThrow(/needs a non-empty "sweeps"/);
    expect(() => validateExperiment({ ...tiny(), sweeps: sweep.sweeps }, MODELS)).toThrow(/"sweeps" is only for produce: 'sweep'/);
  });

  it('throws on unknown keys at every level', () => {
    expect(() => validateExperiment({ ...tiny(), colour: 'red' } as unknown as ExperimentSpec)).toThrow(/unknown key "colour"/);
    const bad = tiny();
    (bad.rows[0] as unknown as Record<string, unknown>).epochs = 3;
    expect(() => validateExperiment(bad)).toThrow(/unknown key "epochs"/);
    const badTrain = tiny();
    badTrain.base.train = { epoch: 3 } as never;
    expect(() => validateExperiment(badTrain)).toThrow(/unknown key "epoch"/);
    const badNested = tiny();
    badNested.base.train = { schedule: { kinds: 'step' } } as never;
    expect(() => validateExperiment(badNested)).toThrow(/unknown key "kinds"/);
  });

  it('checks train types, paper fractions, unknown models and duplicate rows', () => {
    const t = tiny();
    t.rows[0].train = { epochs: '3' as unknown as number };
    expect(() => validateExperiment(t)).toThrow(/expected a number/);
    const p = tiny();
    p.rows[0].paper = { test: 54 };
    expect(() => validateExperiment(p)).toThrow(/fraction/);
    expect(() => validateExperiment(tiny(), ['paper-deep'])).toThrow(/unknown model "paper-shallow"/);
    const d = tiny();
    d.rows.push({ ...d.rows[0] });
    expect(() => validateExperiment(d)).toThrow(/duplicate row/);
  });
});

describe('--set overrides', () => {
  it('parse to the default types', () => {
    expect(parseOverrides(['train.epochs=1', 'seed=3', 'train.optimizer=sgd', 'modelScale=0.5'])).toEqual({ train: { epochs: 1, optimizer: 'sgd' }, seed: 3, modelScale: 0.5 });
  });
  it('reject unknown keys, bad numbers, fractional integers and missing "="', () => {
    expect(() => parseOverrides(['train.epoch=1'])).toThrow(/unknown key/);
    expect(() => parseOverrides(['train.epochs=many'])).toThrow(/expected a number/);
    expect(() => parseOverrides(['train.epochs=1.5'])).toThrow(/integer/);
    expect(() => parseOverrides(['train.epochs'])).toThrow(/key=value/);
    expect(() => parseOverrides(['train=3'])).toThrow(/unknown key/);
  });
  it('reject out-of-range numbers (a negative limit used to mean all rows silently)', () => {
    expect(() => parseOverrides(['limit=-5'])).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION', message: expect.stringContaining('--set train.trainLimit=-5: out of range; expected >= 0 (0 = all rows)') }));
    expect(() => parseOverrides(['data.validationLimit=-1'])).toThrow(/train\.evalLimit=-1: out of range; expected >= 0 \(0 = all rows\)/);
    expect(() => parseOverrides(['epochs=0'])).toThrow(/train\.epochs=0: out of range; expected >= 1/);
    expect(() => parseOverrides(['batch=0'])).toThrow(/out of range/);
    expect(() => parseOverrides(['lr=0'])).toThrow(/train\.learningRate=0: out of range; expected > 0/);
    expect(() => parseOverrides(['lr=-1e-3'])).toThrow(/out of range/);
    expect(() => parseOverrides(['train.momentum=1.5'])).toThrow(/expected a fraction between 0 and 1/);
    expect(() => parseOverrides(['modelScale=0'])).toThrow(/out of range/);
    expect(() => parseOverrides(['seed=-2'])).toThrow(/seed=-2: out of range/);
    expect(() => parseOverrides(['snapshots.samples=-1'])).toThrow(/out of range/);
    expect(() => parseOverrides(['model.__proto__={"polluted":1}'])).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION', message: expect.stringContaining('"__proto__" is not a setting or config key') }));
    expect(() => parseOverrides(['model.constructor=1'])).toThrow(/not a setting or config key/);
    expect(parseOverrides(['limit=0', 'lr=5', 'train.momentum=0', 'seed=0'])).toMatchObject({ train: { trainLimit: 0, learningRate: 5, momentum: 0 }, seed: 0 });
  });
  it('one grammar: documented aliases, model.* keys, and the nearest key for a typo', () => {
    expect(parseOverrides(['lr=3e-4', 'epochs=2', 'batch=16', 'limit=48', 'dropout=0.3', 'model.filters=[4,8]', 'augment=hflip,shift'])).toEqual({
      train: { learningRate: 3e-4, epochs: 2, batchSize: 16, trainLimit: 48, augment: 'hflip,shift' },
      model: { dropout: 0.3, filters: [4, 8] },
    });
    // the names fer train used before the spec was shared
    expect(parseOverrides(['train.optimizer.learningRate=1e-3', 'data.validationLimit=32', 'train.seed=4'])).toEqual({ train: { learningRate: 1e-3, evalLimit: 32 }, seed: 4 });
    expect(parseOverrides(['data.augment=[{"name":"hflip"},"shift"]', 'data.normalizer=global'])).toEqual({ train: { augment: 'hflip,shift', normalize: 'global' } });
    expect(() => parseOverrides(['augment=[{"name":"shift","max":2}]'])).toThrow(/expected augmentation names/);
    expect(() => parseOverrides(['train.learningrate=1e-3'])).toThrow(/unknown key\. Did you mean "train\.learningRate"\?/);
    expect(() => parseOverrides(['trian.epochs=1'])).toThrow(/Did you mean "train\.epochs"\?/);
    expect(() => parseOverrides(['model.a.b=1'])).toThrow(/unknown key/);
  });
  it('maps model.* aliases through the model (dropout is denseDropout on the paper networks, dropout on vgg-fer)', () => {
    expect(modelOverrides(paperShallow, { dropout: 0.3, units: 256, l2: 0 })).toEqual({ denseDropout: 0.3, denseUnits: 256, l2: 0 });
    expect(modelOverrides(vggFer, { dropout: 0.3, units: [8, 8] })).toEqual({ dropout: 0.3, denseUnits: [8, 8] });
  });
  it('lists every leaf setting', () => {
    expect(Object.keys(settingKeys())).toContain('deepdream.steps');
  });
  it('merge without touching the defaults', () => {
    const before = structuredClone(DEFAULTS);
    const m = mergeDeep(DEFAULTS, { train: { epochs: 2, schedule: { kind: 'step' } } });
    expect(m.train.epochs).toBe(2);
    expect(m.train.schedule).toMatchObject({ kind: 'step', gamma: DEFAULTS.train.schedule.gamma });
    expect(m.train.batchSize).toBe(128);
    // the layers below are copied, not shared: changing the result leaves DEFAULTS as it was
    m.train.schedule.gamma = 0.5;
    expect(DEFAULTS).toEqual(before);
  });
});
