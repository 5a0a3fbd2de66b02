import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '@fer/testing';
import { compareTable, confusionCsv, formatJson, markdownTable, perClassTable, textTable } from './tables.js';
import { confusionMatrix } from './confusion-matrix.js';
import { summarizeSeeds } from './seeds.js';
import { FerMetricsError } from './errors.js';

const codeOf = (fn: () => unknown): string => errorCodeOf(fn, FerMetricsError);

describe('markdownTable / textTable', () => {
  it('aligns numeric columns right and formats with digits', () => {
    expect(markdownTable({ header: ['model', 'accuracy'], rows: [['shallow', 0.55], ['deep', 0.65]] })).toBe(
      ['| model   | accuracy |', '| :------ | -------: |', '| shallow |    0.550 |', '| deep    |    0.650 |'].join('\n'),
    );
    expect(textTable({ header: ['class', 'recall'], rows: [['Happy', 0.8], ['Sad', 0.45]], digits: 2 })).toBe(
      ['class  recall', '-----  ------', 'Happy    0.80', 'Sad      0.45'].join('\n'),
    );
  });

  it('escapes pipes, prints missing values as —, honours align', () => {
    const md = markdownTable({ header: ['a|b', 'n'], rows: [['x|y', null], ['z', Number.NaN]], align: ['center', 'left'] });
    expect(md).toBe(['| a\\|b | n   |', '| :--: | :-- |', '| x\\|y | —   |', '|  z   | —   |'].join('\n'));
  });

  it('rejects ragged rows, empty headers, bad align and unknown keys', () => {
    expect(codeOf(() => markdownTable({ header: ['a', 'b'], rows: [['x']] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => textTable({ header: [], rows: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => textTable({ header: ['a'], rows: [], align: ['middle'] } as never))).toBe('E_BAD_OPTION');
    expect(codeOf(() => textTable({ header: ['a'], rows: [], colour: 1 } as never))).toBe('E_BAD_OPTION');
  });
});

describe('compareTable', () => {
  const rows = [
    { label: 'Shallow', paper: 0.55, ours: 0.571, ci: [0.555, 0.587] as [number, number] },
    { label: 'Deep', paper: 0.65, ours: 0.62 },
    { label: 'Hybrid', paper: null, ours: 0.6 },
  ];

  it('renders paper | ours | Δ | CI | verdict in percent', () => {
    expect(compareTable({ rows, percent: true, verdict: { tolerance: 0.02 } })).toBe(
      [
        '| measure | paper | ours |    Δ |       95% CI | ✓/✗ |',
        '| :------ | ----: | ---: | ---: | -----------: | :-: |',
        '| Shallow |  55.0 | 57.1 | +2.1 | [55.5, 58.7] |  ✗  |',
        '| Deep    |  65.0 | 62.0 | -3.0 |            — |  ✗  |',
        '| Hybrid  |     — | 60.0 |    — |            — |  —  |',
      ].join('\n'),
    );
  });

  it('judges by CI when asked, by tolerance otherwise, and omits the verdict by default', () => {
    const text = compareTable({ rows: [{ label: 'S', paper: 0.55, ours: 0.571, ci: [0.54, 0.587] }, { label: 'D', paper: 0.65, ours: 0.62 }], format: 'text', verdict: true });
    expect(text.split('\n')[2]).toMatch(/^S .*\[0\.540, 0\.587\]\s+✓$/);
    expect(text.split('\n')[3]).toMatch(/^D .*—\s+—$/);
    expect(compareTable({ rows: [{ label: 'D', paper: 0.65, ours: 0.64 }], verdict: { tolerance: 0.02 } })).toMatch(/✓/);
    const plain = compareTable({ rows: [{ label: 'D', paper: 0.65, ours: 0.64 }] });
    expect(plain).not.toMatch(/✓|✗|CI/);
    expect(plain).toMatch(/-0\.010/);
  });

  it('rejects bad rows and options', () => {
    expect(codeOf(() => compareTable({ rows: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => compareTable({ rows: [{ label: 'x', paper: '55' as never, ours: 0.5 }] }))).toBe('E_BAD_INPUT');
    expect(codeOf(() => compareTable({ rows: [{ label: 'x', paper: 0.5, ours: 0.5, ci: [0.6, 0.4] }] }))).toBe('E_BAD_INPUT');
    expect(codeOf(() => compareTable({ rows: [{ label: 'x', paper: 0.5, ours: 0.5, delta: 0 } as never] }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => compareTable({ rows, format: 'html' as never }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => compareTable({ rows, verdict: { tolerance: -1 } }))).toBe('E_BAD_OPTION');
  });
});

describe('perClassTable, formatJson, confusionCsv', () => {
  const report = confusionMatrix({ actual: [0, 1, 2, 2], predicted: [0, 2, 2, 2], classNames: ['a', 'b', 'c'] });

  it('lists each class and the averages', () => {
    expect(perClassTable(report, { format: 'text' })).toBe(
      [
        'class         support  recall  precision     f1',
        '------------  -------  ------  ---------  -----',
        'a                   1   1.000      1.000  1.000',
        'b                   1   0.000      0.000  0.000',
        'c                   2   1.000      0.667  0.800',
        'macro avg           4   0.667      0.556  0.600',
        'weighted avg        4   0.750      0.583  0.650',
        'accuracy            4   0.750          —      —',
      ].join('\n'),
    );
    expect(perClassTable(report).split('\n')[1]).toBe('| :----------- | ------: | -----: | --------: | ----: |');
  });

  it('writes NaN as null and typed arrays as arrays, and round-trips a report', () => {
    expect(formatJson({ s: summarizeSeeds([0.5]), a: new Uint8Array([1, 2]) }, { indent: 0 })).toBe('{"s":{"mean":0.5,"std":null,"ci95":[null,null],"n":1},"a":[1,2]}');
    expect(JSON.parse(formatJson(report))).toEqual(report);
  });

  it('writes the confusion matrix as CSV', () => {
    expect(confusionCsv(report)).toBe('actual\\predicted,a,b,c\na,1,0,0\nb,0,0,1\nc,0,0,2\n');
    expect(confusionCsv({ counts: [[1]], classNames: ['x,y'] })).toBe('actual\\predicted,"x,y"\n"x,y",1\n');
  });
});
