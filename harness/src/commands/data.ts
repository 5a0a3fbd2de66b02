// `fer data stats --data PATH [--json]`: per split and class counts, duplicates.
import { defineCommand } from 'citty';
import { SPLITS, datasetStats, findDuplicates, type FerDataset } from '@fer/data';
import { DATA_FLAG_ARGS, dataFlags, resolveData, type DataFlags } from '../data.js';

export interface DataStatsJSON {
  source: string;
  synthetic: boolean;
  count: number;
  skipped: number;
  dropped: Record<string, number>;
  classNames: readonly string[];
  splits: Record<string, { total: number; perClass: number[]; unlabeled: number }>;
  duplicates: {
    groups: number; rows: number; extraCopies: number; conflictingLabels: number; constantImages: number;
    within: Record<string, { groups: number; rows: number }>;
    across: Record<string, number>;
    testInTraining: Record<string, number>;
  };
}

/** Loads the data set the way every `fer` command does (src/data.ts: --data, else FER2013_PATH, else the synthetic set). */
export async function loadForCli(opts: { data?: string; ferPlus?: string } & DataFlags): Promise<FerDataset> {
  const { data, ferPlus, ...flags } = opts;
  const { ds } = await resolveData(data, () => undefined, ferPlus ? { ferPlus } : {}, flags);
  return ds;
}

export function dataStats(ds: FerDataset): DataStatsJSON {
  const st = datasetStats(ds);
  const d = findDuplicates(ds, { maxGroups: 0 });
  return {
    source: ds.source, synthetic: ds.synthetic, count: ds.count, skipped: ds.skipped, dropped: { ...(ds.dropped ?? {}) },
    classNames: ds.classNames,
    splits: Object.fromEntries(SPLITS.map((s) => [s, st[s]])),
    duplicates: {
      groups: d.groups, rows: d.rows, extraCopies: d.extraCopies, conflictingLabels: d.conflictingLabels, constantImages: d.constantImages,
      within: d.within, across: d.across, testInTraining: d.testInTraining,
    },
  };
}

export function formatStats(s: DataStatsJSON): string {
  const names = s.classNames.map((n) => n.slice(0, 8));
  const lines: string[] = [];
  lines.push(s.synthetic
    ? 'Data: SYNTHETIC FER-like set (--data synthetic, or no --data and no FER2013_PATH); numbers below are not FER2013.'
    : `Data: ${s.source}`);
  lines.push(`Rows: ${s.count}${s.skipped ? `, skipped bad rows: ${s.skipped}` : ''}${Object.keys(s.dropped).length ? `, dropped: ${Object.entries(s.dropped).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`);
  lines.push('');
  const pad = (v: string | number, w = 9) => String(v).padStart(w);
  lines.push(`${'split'.padEnd(12)}${pad('total')}${names.map((n) => pad(n)).join('')}`);
  for (const [split, st] of Object.entries(s.splits)) {
    lines.push(`${split.padEnd(12)}${pad(st.total)}${st.perClass.map((c) => pad(c)).join('')}${st.unlabeled ? `  (+${st.unlabeled} unlabeled)` : ''}`);
  }
  const d = s.duplicates;
  lines.push('');
  lines.push(`Duplicates (byte-identical images): ${d.groups} groups, ${d.rows} rows, ${d.extraCopies} extra copies, ${d.conflictingLabels} groups with conflicting labels; ${d.constantImages} constant (blank) images`);
  lines.push(`  within: ${Object.entries(d.within).map(([k, v]) => `${k} ${v.groups} groups / ${v.rows} rows`).join('; ')}`);
  lines.push(`  across (distinct images shared): ${Object.entries(d.across).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  lines.push(`  test rows whose image is also in Training: ${Object.entries(d.testInTraining).map(([k, v]) => `${k} ${v}`).join('; ')} (drop them with --drop-test-duplicates, here and in fer train / pnpm reproduce)`);
  return lines.join('\n');
}

export default defineCommand({
  meta: { name: 'data', description: 'Inspect FER data sets.' },
  subCommands: {
    stats: defineCommand({
      meta: { name: 'stats', description: 'Per split and class counts, duplicates.' },
      args: {
        data: { type: 'string', description: 'path to a FER2013 data set (CSV, .csv.gz, train/test pair or image folder); default FER2013_PATH, else synthetic (`--data synthetic` forces it)' },
        json: { type: 'boolean', description: 'print JSON' },
        ferplus: { type: 'string', description: 'path to FER+ fer2013new.csv to join (majority labels; unknown / not-a-face rows dropped)' },
        ...DATA_FLAG_ARGS,
      },
      async run({ args }) {
        const ds = await loadForCli({
          ...(typeof args.data === 'string' ? { data: args.data } : {}),
          ...(typeof args.ferplus === 'string' ? { ferPlus: args.ferplus } : {}),
          ...dataFlags(args),
        });
        const s = dataStats(ds);
        if (args.json) console.log(JSON.stringify(s, null, 2));
        else console.log(formatStats(s));
        if (args.json && ds.synthetic) console.error('note: these are the statistics of the synthetic FER-like set (--data synthetic, or no --data and no FER2013_PATH), not FER2013.');
      },
    }),
  },
});
