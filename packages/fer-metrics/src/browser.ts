// The browser entry of @fer/metrics (the package's default export condition; Node resolves the `node` condition,
// index.ts). Free of Node built-ins: every measure, table and chart spec, and renderSvg. renderPng (resvg, a
// native addon, with font files on disk) is Node-only.
export { FerMetricsError } from './errors.js';
export type { FerMetricsErrorCode } from './errors.js';
export type { LabelArray, ProbabilityInput } from './_validate.js';

export { confusionMatrix, confusionReportFromCounts } from './confusion-matrix.js';
export type { AveragedMetrics, ClassMetrics, ConfusionMatrixOptions, ConfusionReport } from './confusion-matrix.js';

export { logLoss, topKAccuracy } from './probability.js';
export type { LogLossOptions, TopKAccuracyOptions } from './probability.js';

export { bootstrapCI } from './bootstrap.js';
export type { BootstrapOptions, BootstrapResult, Interval } from './bootstrap.js';

export { mcnemar } from './mcnemar.js';
export type { McNemarOptions, McNemarResult } from './mcnemar.js';

export { summarizeSeeds } from './seeds.js';
export type { SeedSummary } from './seeds.js';

export { compareTable, confusionCsv, formatJson, markdownTable, perClassTable, textTable } from './tables.js';
export type { Align, Cell, CompareRow, CompareTableOptions, TableOptions } from './tables.js';

export { CHART_FONT, confusionHeatmapSpec, perClassBarsSpec, trainingCurvesSpec } from './charts.js';
export type { BarSeries, ConfusionHeatmapOptions, HistoryEntry, PerClassBarsOptions, TrainingCurvesOptions, VegaLiteSpec } from './charts.js';

export { renderSvg } from './svg.js';
