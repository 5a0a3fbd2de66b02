import { describe, expect, it } from 'vitest';
import { renderSvg } from '@fer/metrics';
import { accuracyVsParamSpec, figureName, sweepCurvesSpec, type FigureTrial } from './figures.js';
import { parseSpace } from './space.js';

const trials: FigureTrial[] = [
  { trial: 0, params: { lr: '1e-5', units: '512' }, epochs: 1, publicTest: 0.3, accuracy: [0.3], status: 'paused' },
  { trial: 1, params: { lr: '3e-4', units: '256' }, epochs: 3, publicTest: 0.5, accuracy: [0.4, 0.45, 0.5], status: 'done' },
  { trial: 2, params: { lr: '1e-3', units: '1024' }, epochs: 1, publicTest: null, accuracy: [], status: 'failed' },
];
type Json = Record<string, Record<string, unknown>>;

describe('sweep figures', () => {
  it('accuracy against a log axis uses a log x scale; a numeric choice is ordinal in numeric order; no-result trials are left out', async () => {
    const [lr, units] = parseSpace(['lr=log:1e-5..1e-3', 'units=256,512,1024']);
    const a = accuracyVsParamSpec(trials, lr, 'm') as unknown as { encoding: Json; data: { values: unknown[] } };
    expect(a.encoding.x).toMatchObject({ type: 'quantitative', scale: { type: 'log', domain: [1e-5, 1e-3] } });
    expect(a.data.values).toEqual([{ x: 1e-5, acc: 0.3, epochs: 1, trial: 1 }, { x: 3e-4, acc: 0.5, epochs: 3, trial: 2 }]);
    const u = accuracyVsParamSpec(trials, { ...units, values: ['1024', '256', '512'] } as typeof units, 'm') as unknown as { encoding: Json };
    expect(u.encoding.x).toMatchObject({ type: 'ordinal', sort: ['256', '512', '1024'] });
    const [l2] = parseSpace(['l2=0..1e-3']);
    expect((accuracyVsParamSpec(trials, l2, 'm') as unknown as { encoding: Json }).encoding.x.scale).toEqual({ zero: false, domain: [0, 1e-3] });
    expect(await renderSvg(accuracyVsParamSpec(trials, lr, 'm'))).toMatch(/<svg/);
  });

  it('curves: one line per trial, coloured by epochs reached', async () => {
    const c = sweepCurvesSpec(trials, 'm') as unknown as { encoding: Json; data: { values: { trial: number }[] } };
    expect(c.data.values).toHaveLength(4);
    expect(c.encoding.detail).toEqual({ field: 'trial', type: 'nominal' });
    expect(c.encoding.color).toMatchObject({ field: 'epochs', type: 'ordinal' });
    expect(await renderSvg(sweepCurvesSpec(trials, 'm'))).toMatch(/<svg/);
    expect(figureName('model.units')).toBe('accuracy-vs-model.units.png');
    expect(figureName('a/b')).toBe('accuracy-vs-a_b.png');
  });
});
