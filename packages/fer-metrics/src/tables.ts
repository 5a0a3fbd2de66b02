import { FerMetricsError } from './errors.js';
import { checkInteger, checkKeys, describe } from './_validate.js';
import type { ConfusionReport } from './confusion-matrix.js';

/** One table cell. Numbers are formatted with `digits`; null, undefined, NaN and ±Infinity print as "—". */
export type Cell = string | number | null | undefined;
export type Align = 'left' | 'right' | 'center';

/** Options of {@link markdownTable} and {@link textTable}. */
export interface TableOptions {
  header: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** Per column; default: right for columns whose cells are all numbers (or empty), else left. */
  align?: readonly Align[];
  /** Decimals for non-integer numbers; default 3. Integers print as they are. */
  digits?: number;
}

/**
 * A GitHub-flavoured markdown table. `|` in cells is escaped.
 * @example
 * markdownTable({ header: ['model', 'accuracy'], rows: [['shallow', 0.55], ['deep', 0.65]] });
 * // | model   | accuracy |
 * // | :------ | -------: |
 * // | shallow |    0.550 |
 * // | deep    |    0.650 |
 */
export function markdownTable(options: TableOptions): string {
  const { header, cells, align } = prepare('markdownTable', options, (s) => s.replace(/\|/g, '\\|'));
  const widths = columnWidths(header, cells, 3);
  const line = (r: string[]) => `| ${r.map((c, j) => pad(c, widths[j], align[j])).join(' | ')} |`;
  const rule = `| ${widths.map((w, j) => (align[j] === 'right' ? `${'-'.repeat(w - 1)}:` : align[j] === 'center' ? `:${'-'.repeat(w - 2)}:` : `:${'-'.repeat(w - 1)}`)).join(' | ')} |`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

/**
 * A plain-text table for terminals and logs: columns separated by two spaces, a dashed rule under the header.
 * @example
 * textTable({ header: ['class', 'recall'], rows: [['Happy', 0.8], ['Sad', 0.45]] });
 * // class  recall
 * // -----  ------
 * // Happy   0.800
 * // Sad     0.450
 */
export function textTable(options: TableOptions): string {
  const { header, cells, align } = prepare('textTable', options, (s) => s);
  const widths = columnWidths(header, cells, 1);
  const line = (r: string[]) => r.map((c, j) => pad(c, widths[j], align[j])).join('  ').replace(/\s+$/, '');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** One row of {@link compareTable}: a measure the paper reports and ours. */
export interface CompareRow {
  label: string;
  /** The paper's number; null/undefined when the paper does not report it. */
  paper?: number | null;
  /** Our number; null/undefined when not measured. */
  ours?: number | null;
  /** Our confidence interval [lo, hi] (e.g. from bootstrapCI or summarizeSeeds). */
  ci?: readonly [number, number] | null;
}

/** Options of {@link compareTable}. */
export interface CompareTableOptions {
  rows: readonly CompareRow[];
  /** Default 'markdown'. */
  format?: 'markdown' | 'text';
  /** Show fractions as percentages (×100; deltas in percentage points). Default false. */
  percent?: boolean;
  /** Decimals; default 1 with `percent`, else 3. */
  digits?: number;
  /**
   * Add a ✓/✗ column. `true`: ✓ when the paper's number lies inside our CI (rows without a CI get "—").
   * `{ tolerance }`: ✓ when |ours − paper| ≤ tolerance (in the input's units) or the paper lies inside our CI.
   * Default false.
   */
  verdict?: boolean | { tolerance: number };
  /** Column titles; defaults: measure, paper, ours, Δ, 95% CI, ✓/✗. */
  headers?: Partial<Record<'label' | 'paper' | 'ours' | 'delta' | 'ci' | 'verdict', string>>;
}

/**
 * The side-by-side "paper vs ours" table with deltas (Δ = ours − paper), an optional CI column
 * (shown when any row has one) and an optional verdict column.
 *
 * @example
 * compareTable({
 *   rows: [{ label: 'Shallow', paper: 0.55, ours: 0.571, ci: [0.555, 0.587] }, { label: 'Deep', paper: 0.65, ours: 0.62 }],
 *   percent: true,
 *   verdict: { tolerance: 0.02 },
 * });
 * // | measure | paper | ours |    Δ |       95% CI | ✓/✗ |
 * // | :------ | ----: | ---: | ---: | -----------: | :-: |
 * // | Shallow |  55.0 | 57.1 | +2.1 | [55.5, 58.7] |  ✗  |
 * // | Deep    |  65.0 | 62.0 | -3.0 |            — |  ✗  |
 */
export function compareTable(options: CompareTableOptions): string {
  const fn = 'compareTable';
  checkKeys(fn, options, ['rows', 'format', 'percent', 'digits', 'verdict', 'headers']);
  if (!Array.isArray(options.rows) || options.rows.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: rows is ${describe(options.rows)}, expected a non-empty array of { label, paper, ours, ci? }.`);
  }
  const format = options.format ?? 'markdown';
  if (format !== 'markdown' && format !== 'text') {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: format is ${describe(format)}, expected "markdown" or "text".`);
  }
  const percent = options.percent ?? false;
  const digits = options.digits === undefined ? (percent ? 1 : 3) : checkInteger(fn, 'digits', options.digits, 0, 15);
  const verdict = options.verdict ?? false;
  let tolerance: number | undefined;
  if (typeof verdict === 'object') {
    checkKeys(`${fn} verdict`, verdict, ['tolerance']);
    if (typeof verdict.tolerance !== 'number' || !(verdict.tolerance >= 0)) {
      throw new FerMetricsError('E_BAD_OPTION', `${fn}: verdict.tolerance is ${describe(verdict.tolerance)}, expected a number >= 0 in the values' units (e.g. 0.02).`);
    }
    tolerance = verdict.tolerance;
  } else if (typeof verdict !== 'boolean') {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: verdict is ${describe(verdict)}, expected true, false or { tolerance }.`);
  }
  if (options.headers !== undefined) checkKeys(`${fn} headers`, options.headers, ['label', 'paper', 'ours', 'delta', 'ci', 'verdict']);
  const h = { label: 'measure', paper: 'paper', ours: 'ours', delta: 'Δ', ci: '95% CI', verdict: '✓/✗', ...options.headers };

  const scale = percent ? 100 : 1;
  const num = (v: number | null | undefined) => (isNum(v) ? (v * scale).toFixed(digits) : '—');
  const hasCi = options.rows.some((r) => r.ci != null);
  const header = [h.label, h.paper, h.ours, h.delta, ...(hasCi ? [h.ci] : []), ...(verdict ? [h.verdict] : [])];
  const rows = options.rows.map((r, i) => {
    if (r === null || typeof r !== 'object' || typeof r.label !== 'string') {
      throw new FerMetricsError('E_BAD_INPUT', `${fn}: rows[${i}] is ${describe(r)}, expected { label: string, paper, ours, ci? }.`);
    }
    checkKeys(`${fn} rows[${i}]`, r, ['label', 'paper', 'ours', 'ci']);
    for (const key of ['paper', 'ours'] as const) {
      const v = r[key];
      if (v != null && typeof v !== 'number') {
        throw new FerMetricsError('E_BAD_INPUT', `${fn}: rows[${i}].${key} is ${describe(v)}, expected a number, null or undefined.`);
      }
    }
    if (r.ci != null && (!Array.isArray(r.ci) || r.ci.length !== 2 || !isNum(r.ci[0]) || !isNum(r.ci[1]) || r.ci[0] > r.ci[1])) {
      throw new FerMetricsError('E_BAD_INPUT', `${fn}: rows[${i}].ci is ${describe(r.ci)}, expected [lo, hi] with finite lo <= hi.`);
    }
    const delta = isNum(r.paper) && isNum(r.ours) ? r.ours - r.paper : null;
    const deltaText = delta === null ? '—' : `${delta * scale > 0 ? '+' : ''}${(delta * scale).toFixed(digits)}`;
    const cells: string[] = [r.label, num(r.paper), num(r.ours), deltaText];
    if (hasCi) cells.push(r.ci ? `[${num(r.ci[0])}, ${num(r.ci[1])}]` : '—');
    if (verdict) {
      const inCi = r.ci != null && isNum(r.paper) ? r.paper >= r.ci[0] && r.paper <= r.ci[1] : undefined;
      const inTol = tolerance !== undefined && delta !== null ? Math.abs(delta) <= tolerance + 1e-12 : undefined;
      cells.push(inCi === undefined && inTol === undefined ? '—' : inCi || inTol ? '✓' : '✗');
    }
    return cells;
  });
  const align: Align[] = ['left', 'right', 'right', 'right', ...(hasCi ? (['right'] as const) : []), ...(verdict ? (['center'] as const) : [])];
  return format === 'markdown' ? markdownTable({ header, rows, align }) : textTable({ header, rows, align });
}

/**
 * The per-class table of a {@link ConfusionReport}: support, recall (per-class accuracy), precision, F1,
 * then macro and weighted averages and overall accuracy.
 * @example
 * console.log(perClassTable(confusionMatrix({ actual, predicted, classNames }), { format: 'text' }));
 */
export function perClassTable(report: ConfusionReport, options: { format?: 'markdown' | 'text'; digits?: number } = {}): string {
  checkKeys('perClassTable', options, ['format', 'digits']);
  const digits = options.digits === undefined ? 3 : checkInteger('perClassTable', 'digits', options.digits, 0, 15);
  // NOTE: measures are pre-formatted so 0 and 1 print as 0.000 and 1.000 like the rest of their column.
  const f = (v: number | null) => (v === null || !Number.isFinite(v) ? '—' : v.toFixed(digits));
  const header = ['class', 'support', 'recall', 'precision', 'f1'];
  const rows: Cell[][] = report.perClass.map((c) => [c.name, c.support, f(c.recall), f(c.precision), f(c.f1)]);
  rows.push(['macro avg', report.total, f(report.macro.recall), f(report.macro.precision), f(report.macro.f1)]);
  rows.push(['weighted avg', report.total, f(report.weighted.recall), f(report.weighted.precision), f(report.weighted.f1)]);
  rows.push(['accuracy', report.total, f(report.accuracy), null, null]);
  const opts = { header, rows, align: ['left', 'right', 'right', 'right', 'right'] as Align[] };
  return options.format === 'text' ? textTable(opts) : markdownTable(opts);
}

/**
 * JSON text of any result of this package: NaN and ±Infinity become null (JSON has no NaN),
 * typed arrays become plain arrays.
 * @example
 * await writeFile('metrics.json', formatJson({ report, ci: bootstrapCI({ actual, predicted }) }));
 */
export function formatJson(value: unknown, options: { indent?: number } = {}): string {
  checkKeys('formatJson', options, ['indent']);
  const indent = options.indent === undefined ? 2 : checkInteger('formatJson', 'indent', options.indent, 0, 10);
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    indent,
  );
}

/**
 * CSV of a confusion matrix, rows = actual class, columns = predicted class, with a header row and column.
 * @example
 * confusionCsv(confusionMatrix({ actual: [0, 1], predicted: [0, 0], classNames: ['a', 'b'] }));
 * // "actual\\predicted,a,b\na,1,0\nb,1,0\n"
 */
export function confusionCsv(report: Pick<ConfusionReport, 'counts' | 'classNames'>): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['actual\\predicted', ...report.classNames].map(q).join(',')];
  report.counts.forEach((row, i) => lines.push([q(report.classNames[i]), ...row.map(String)].join(',')));
  return `${lines.join('\n')}\n`;
}

// --- Internal helpers ---

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function prepare(fn: string, options: TableOptions, escape: (s: string) => string): { header: string[]; cells: string[][]; align: Align[] } {
  checkKeys(fn, options, ['header', 'rows', 'align', 'digits']);
  if (!Array.isArray(options.header) || options.header.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: header is ${describe(options.header)}, expected a non-empty array of column titles.`);
  }
  if (!Array.isArray(options.rows)) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: rows is ${describe(options.rows)}, expected an array of rows (arrays of cells).`);
  }
  const k = options.header.length;
  const digits = options.digits === undefined ? 3 : checkInteger(fn, 'digits', options.digits, 0, 15);
  options.rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== k) {
      throw new FerMetricsError('E_LENGTH_MISMATCH', `${fn}: rows[${i}] has ${Array.isArray(r) ? r.length : 'no'} cells, expected ${k} (one per header column).`);
    }
  });
  let align: Align[];
  if (options.align !== undefined) {
    if (!Array.isArray(options.align) || options.align.length !== k || options.align.some((a) => a !== 'left' && a !== 'right' && a !== 'center')) {
      throw new FerMetricsError('E_BAD_OPTION', `${fn}: align is ${describe(options.align)}, expected ${k} of "left" | "right" | "center".`);
    }
    align = [...options.align];
  } else {
    align = options.header.map((_, j) => (options.rows.length > 0 && options.rows.every((r) => r[j] == null || typeof r[j] === 'number') ? 'right' : 'left'));
  }
  const fmt = (c: Cell): string => {
    if (typeof c === 'number') return Number.isFinite(c) ? (Number.isInteger(c) ? String(c) : c.toFixed(digits)) : '—';
    if (c == null) return '—';
    return escape(String(c));
  };
  return { header: options.header.map((s) => escape(String(s))), cells: options.rows.map((r) => r.map(fmt)), align };
}

function columnWidths(header: string[], cells: string[][], min: number): number[] {
  return header.map((hd, j) => Math.max(min, width(hd), ...cells.map((r) => width(r[j]))));
}

/** Display width: code points (so "Δ" and "✓" count 1). */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: Align): string {
  const gap = w - width(s);
  if (gap <= 0) return s;
  if (align === 'right') return ' '.repeat(gap) + s;
  if (align === 'center') return ' '.repeat(Math.floor(gap / 2)) + s + ' '.repeat(gap - Math.floor(gap / 2));
  return s + ' '.repeat(gap);
}
