import { describe, expect, it } from 'vitest';
import { perClassBarsSpec, renderSvg } from '@fer/metrics';
import { withLines } from './_references.js';

describe('reference lines on bar charts', () => {
  it('the chance label sits right of the plot, never over the bars', async () => {
    const classes = ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral'];
    const spec = perClassBarsSpec({ classes, series: [{ name: 'ours', values: classes.map(() => 0.9) }], width: 350 });
    const svg = await renderSvg(withLines(spec, [{ value: 1 / 7, label: 'chance 14.3%', color: '#d62728' }]));
    // vega writes each text mark as <text transform="translate(x,y)" ...>label</text>, in plot coordinates
    const m = /<text[^>]*text-anchor="(\w+)"[^>]*transform="translate\(([\d.]+),[\d.]+\)"[^>]*>chance 14\.3%<\/text>/.exec(svg);
    expect(m, 'chance label').not.toBeNull();
    // anchored at its start, at or beyond the plot's right edge (the bars end there): the text runs to the right, outside
    expect(m![1]).toBe('start');
    expect(Number(m![2])).toBeGreaterThanOrEqual(350);
    // and the picture is wide enough to show it (autosize pads for it)
    const width = Number(/<svg[^>]*width="([\d.]+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThan(350 + 60);
  });
});
