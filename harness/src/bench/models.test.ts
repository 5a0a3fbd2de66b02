import { describe, expect, it } from 'vitest';
import { parseArgs, peerFirst, summarize } from './models.js';

describe('bench models: flags', () => {
  it('runs the peer with jemalloc, 3 rounds, the native ISA by default', () => {
    expect(parseArgs([])).toMatchObject({ repeat: 3, peerMalloc: 'jemalloc', isa: 'native', torch: true, backend: 'native' });
  });

  it('takes --repeat, --peer-malloc and --isa', () => {
    expect(parseArgs(['--repeat', '5', '--peer-malloc', 'glibc', '--isa=avx2'])).toMatchObject({ repeat: 5, peerMalloc: 'glibc', isa: 'avx2' });
  });

  it('refuses bad values and unknown flags, saying what it expected', () => {
    expect(() => parseArgs(['--repeat', '0'])).toThrow(/--repeat must be a positive integer, got "0"/);
    expect(() => parseArgs(['--peer-malloc', 'tcmalloc'])).toThrow(/expected jemalloc or glibc/);
    expect(() => parseArgs(['--isa', 'sse'])).toThrow(/expected native or avx2/);
    expect(() => parseArgs(['--repeats', '2'])).toThrow(/unknown flag --repeats\. Did you mean --repeat\?/);
  });
});

describe('bench models: summary line', () => {
  const ours = [
    { model: 'deep', threads: 2, train_img_per_s: 100, infer_img_per_s: 400, peak_rss_train_mb: 1000, peak_rss_mb: 1100 },
    { model: 'deep', threads: 2, train_img_per_s: 120, infer_img_per_s: 380, peak_rss_train_mb: 1010, peak_rss_mb: 1100 },
    { model: 'deep', threads: 2, train_img_per_s: 90, infer_img_per_s: 420, peak_rss_train_mb: 990, peak_rss_mb: 1100 },
    { model: 'deep', threads: 1, train_img_per_s: 1, infer_img_per_s: 1 }, // another thread count: left out
  ];
  const torch = [
    { model: 'deep', threads: 2, train_img_per_s: 50, infer_img_per_s: 200, peak_rss_train_mb: 500, peak_rss_mb: 550 },
    { model: 'deep', threads: 2, train_img_per_s: 60, infer_img_per_s: 100, peak_rss_train_mb: 500, peak_rss_mb: 550 },
    { model: 'deep', threads: 2, train_img_per_s: 40, infer_img_per_s: 300, peak_rss_train_mb: 500, peak_rss_mb: 550 },
  ];

  it('gives median, min and max per side and the ratios of the medians', () => {
    const s = summarize('deep', 2, ours, torch);
    expect(s).toMatchObject({
      summary: 'models', model: 'deep', threads: 2, rounds: 3, torch_rounds: 3,
      ours: { train_img_per_s: { median: 100, min: 90, max: 120, n: 3 }, peak_rss_train_mb: { median: 1000, min: 990, max: 1010, n: 3 } },
      torch: { train_img_per_s: { median: 50, min: 40, max: 60, n: 3 }, infer_img_per_s: { median: 200, min: 100, max: 300, n: 3 } },
      ratio_train: 2, ratio_infer: 2, ratio_peak_rss_train: 2, ratio_peak_rss: 2,
    });
  });

  it('has no torch side or ratios without the peer, and null ratios for figures one side lacks', () => {
    const s = summarize('deep', 2, ours);
    expect(s).not.toHaveProperty('torch');
    expect(s).not.toHaveProperty('ratio_train');
    const partial = summarize('deep', 2, ours, torch.map(({ peak_rss_train_mb: _, ...t }) => t));
    expect(partial['ratio_peak_rss_train']).toBeNull();
    expect(partial['ratio_train']).toBe(2);
  });

  it('pairs the two sides round by round: median, min and max of the per-round ratios', () => {
    // a machine that slows down over the rounds: the medians' ratio (100 / 100 = 1) hides that ours was ahead in every round
    const o = [100, 150, 60].map((v, i) => ({ model: 'shallow', threads: 1, round: i + 1, train_img_per_s: v, infer_img_per_s: 2 * v }));
    const t = [90, 125, 40].map((v, i) => ({ model: 'shallow', threads: 1, round: i + 1, train_img_per_s: v, infer_img_per_s: 4 * v }));
    const s = summarize('shallow', 1, o, t);
    expect(s['ratio_train']).toBe(1.11);
    expect(s['paired_train']).toEqual({ median: 1.2, min: 1.11, max: 1.5, n: 3 });
    expect(s['paired_infer']).toEqual({ median: 0.6, min: 0.56, max: 0.75, n: 3 });
    // a round only one side has is left out of the pairs
    const extra = summarize('shallow', 1, o, [...t, { model: 'shallow', threads: 1, round: 4, train_img_per_s: 1 }]);
    expect(extra['paired_train']).toEqual(s['paired_train']);
  });

  it('has no paired ratios for lines without a round', () => {
    expect(summarize('deep', 2, ours, torch)['paired_train']).toBeNull();
  });
});

describe('bench models: order of the two sides', () => {
  it('measures ours first in odd rounds and the peer first in even ones', () => {
    expect([1, 2, 3, 4].map(peerFirst)).toEqual([false, true, false, true]);
  });
});
