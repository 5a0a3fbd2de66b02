// report.md and a self-contained report.html (marked + a little CSS, images inlined as data URIs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { marked } from 'marked';
import { markdownTable } from '@fer/metrics';
import type { Section, VerdictRow } from './sections.js';

export interface JobRow { hash: string; model: string; seed: number; epochs: number; trainRows: number; status: string; wallSeconds: number; bestEpoch: number; usedBy: string; /** reproduce --queue: the worker that finished the job and its attempt's time. */ worker?: string }

export interface ReportModel {
  title: string;
  synthetic: boolean;
  dataSource: string;
  budget: string;
  budgetDescription: string;
  seeds: number;
  backend: string;
  sections: Section[];
  jobs: JobRow[];
  notes: string[];
  totalSeconds: number;
  /** Why no verdicts are given (smoke budget, synthetic data). */
  notAResult?: string;
  /** Set when the run was stopped on purpose (--hours, Ctrl-C) before every job finished. */
  stopped?: { why: string; command: string; finished: number; total: number; inProgress: string[] };
  /** What to run next (the same lines the terminal ends with), shown under the summary. */
  next?: { text: string; commands: string[] };
}

export const SYNTHETIC_BANNER = '> **SYNTHETIC DATA** — no FER2013 file was given (`--data PATH` or `FER2013_PATH`), so this run used the embedded synthetic faces. Its numbers say nothing about the paper; they only show that the pipeline works.';

const fmtTime = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

/** The one-paragraph summary at the top: what reproduced, what did not. */
export function summarize(verdicts: readonly VerdictRow[], notAResult?: string): string {
  if (notAResult) return `**Not a result: no verdicts.** ${notAResult[0].toUpperCase()}${notAResult.slice(1)}. The ${verdicts.length} reported numbers are shown beside ours only to check the pipeline.`;
  const judged = verdicts.filter((v) => v.verdict.status === 'reproduced' || v.verdict.status === 'not reproduced');
  const ok = judged.filter((v) => v.verdict.reproduced);
  const bad = judged.filter((v) => !v.verdict.reproduced);
  const unsure = verdicts.filter((v) => v.verdict.status === 'inconclusive');
  const none = verdicts.length - judged.length - unsure.length;
  const byTable = new Map<string, { ok: number; all: number }>();
  for (const v of judged) {
    const t = byTable.get(v.table) ?? { ok: 0, all: 0 };
    t.all++;
    if (v.verdict.reproduced) t.ok++;
    byTable.set(v.table, t);
  }
  const lines = [`**${ok.length} of ${verdicts.length}** reported numbers reproduced (paper inside our 95% CI or within 2 points, with a CI half-width of at most 3 points); ${bad.length} not reproduced; ${unsure.length} inconclusive (CI too wide to tell)${none ? `; ${none} without a verdict (not a result, no number yet (job not finished), or nothing to compare)` : ''}.`];
  if (byTable.size) lines.push([...byTable.entries()].map(([t, c]) => `${t}: ${c.ok}/${c.all}`).join(' · '));
  if (ok.length) lines.push(`Reproduced: ${ok.map((v) => `${v.label} [${v.table}]`).join('; ')}.`);
  if (bad.length) lines.push(`Not reproduced: ${bad.map((v) => `${v.label} [${v.table}] (${v.verdict.delta !== null ? `${v.verdict.delta >= 0 ? '+' : ''}${(v.verdict.delta * 100).toFixed(1)} pts` : '—'})`).join('; ')}.`);
  if (unsure.length) lines.push(`Inconclusive: ${unsure.map((v) => `${v.label} [${v.table}]`).join('; ')}.`);
  return lines.join('\n\n');
}

export function renderMarkdown(m: ReportModel): string {
  const out: string[] = [];
  if (m.synthetic) out.push(SYNTHETIC_BANNER, '');
  out.push(`# ${m.title}`, '');
  if (m.budget === 'smoke') out.push('> **SMOKE BUDGET** — a pipeline check with tiny data, 1-2 epochs and shrunk models. Not a result.', '');
  if (m.stopped) {
    out.push(`> **PARTIAL REPORT** — stopped (${m.stopped.why}) with ${m.stopped.finished} of ${m.stopped.total} training jobs finished${m.stopped.inProgress.length ? `; in progress: ${m.stopped.inProgress.join('; ')}` : ''}. Tables hold finished jobs only; curves include jobs in progress. Continue exactly where it stopped with:`, '>', `> \`${m.stopped.command}\``, '');
  }
  out.push(`Budget **${m.budget}** (${m.budgetDescription}); ${m.seeds} seed${m.seeds > 1 ? 's' : ''}; backend ${m.backend}; data: ${m.dataSource}; total wall time ${fmtTime(m.totalSeconds)}.`, '');
  out.push('## Summary', '', summarize(m.sections.flatMap((s) => s.verdicts), m.notAResult), '');
  if (m.next) out.push(`**Next:** ${m.next.text}`, '', '```sh', ...m.next.commands, '```', '');
  for (const s of m.sections) {
    out.push(`## ${s.ref}: ${s.title}`, '', s.description, '');
    if (s.claim) out.push(`*Paper:* ${s.claim}`, '');
    if (s.markdown.trim()) out.push(s.markdown.trim(), '');
    for (const f of s.figures) out.push(`![${f.caption}](${f.file})`, '', `*${f.caption}*`, '');
  }
  out.push('## Jobs', '', 'Every training job ran once and fed every table that uses it; results and checkpoints live in `jobs/<hash>/` (re-running the same command skips finished jobs and resumes interrupted ones).', '');
  const queued = m.jobs.some((j) => j.worker);
  out.push(markdownTable({
    header: ['job', 'model', 'seed', 'epochs', 'train rows', 'best epoch', 'status', 'wall time', 'used by', ...(queued ? ['worker (time of the finishing attempt)'] : [])],
    rows: m.jobs.map((j) => [`\`${j.hash}\``, j.model, j.seed, j.epochs, j.trainRows, Number.isFinite(j.bestEpoch) ? j.bestEpoch : '—', j.status, fmtTime(j.wallSeconds), j.usedBy, ...(queued ? [j.worker ?? 'here (cached)'] : [])]),
  }), '');
  if (m.notes.length) out.push('## Notes', '', ...m.notes.map((n) => `- ${n}`), '');
  out.push('## Files', '', '`results.json` (every number above), `config.json` (the resolved run config), `env.json` (backend, adapter, versions, git commit, machine), `figures/`, `jobs/<hash>/`.', '');
  return out.join('\n');
}

const CSS = `body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}td,th{border:1px solid #ddd;padding:.3em .6em}th{background:#f5f5f5}
tr:nth-child(even){background:#fafafa}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
blockquote{margin:1em 0;padding:.6em 1em;background:#fff4e5;border-left:5px solid #f0a020}
code{background:#f3f3f3;padding:0 .2em}em{color:#555}`;

/** Self-contained HTML: markdown rendered with marked, every `figures/*.png` inlined as a data URI. */
export function renderHtml(markdown: string, outDir: string, title: string): string {
  const body = marked.parse(markdown, { async: false }) as string;
  const inlined = body.replace(/<img src="([^"]+\.png)"/g, (_, src: string) => `<img src="data:image/png;base64,${readFileSync(join(outDir, src)).toString('base64')}"`);
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${CSS}</style></head><body>\n${inlined}\n</body></html>\n`;
}
