// The harness's imports point one way: commands/ -> reproduce/, queue/, sweep/ (and report/, bench/, weights/)
// -> job/ -> the shared helpers (data.ts, backend.ts, lock.ts, figures/, ...) -> the @fer packages; and no file
// imports itself back through a circle. Read from the sources (static, dynamic and type-only imports).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = dirname(fileURLToPath(import.meta.url));

/** Every non-test source file of the harness, relative to src/, and the harness files it imports. */
export function importGraph(root = src): Map<string, string[]> {
  const files = (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('__fixtures__'))
    .map((f) => f.split('\\').join('/'));
  const graph = new Map<string, string[]>();
  const re = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(re)) {
      const spec = m[1] ?? m[2];
      const target = relative(root, resolve(root, dirname(f), spec.replace(/\.js$/, '.ts'))).split('\\').join('/');
      if (!target.startsWith('..')) deps.add(target);
    }
    graph.set(f, [...deps]);
  }
  return graph;
}

/** The cycles of a graph (one per strongly connected component of more than one file, or a self-import). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** The layer of a file: 3 commands (and bench/), 2 what runs jobs (reproduce, queue, sweep, and report, weights, project.ts), 1 job/, 0 the rest. */
export function layer(file: string): number {
  const top = file.includes('/') ? file.slice(0, file.indexOf('/')) : '';
  // bench/: the `fer bench <name>` commands.
  if (top === 'commands' || top === 'bench' || file === 'cli.ts' || file === 'bench.ts') return 3;
  // project.ts: the built-in and user (fer.config) models and experiments, loaded by whatever runs jobs.
  if (file === 'project.ts') return 2;
  if (['reproduce', 'queue', 'sweep', 'report', 'weights'].includes(top)) return 2;
  if (top === 'job') return 1;
  return 0;
}

/** Imports that point up a layer: `from -> to`. */
export function upward(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([f, deps]) => deps.filter((d) => layer(d) > layer(f)).map((d) => `${f} -> ${d}`));
}

describe('the harness\'s import graph', () => {
  const graph = importGraph();

  it('reads the imports (a check that can fail: a made-up circle and an upward import are found)', () => {
    expect(graph.get('commands/train.ts')).toContain('job/execute.ts');
    const made = new Map([['a.ts', ['job/b.ts']], ['job/b.ts', ['a.ts']], ['job/c.ts', ['commands/x.ts']], ['commands/x.ts', []]]);
    expect(cycles(made)).toEqual([['a.ts', 'job/b.ts']]);
    expect(upward(made)).toEqual(['a.ts -> job/b.ts', 'job/c.ts -> commands/x.ts']);
  });

  it('has no import circle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports point one way: commands -> reproduce/queue/sweep -> job -> shared helpers', () => {
    expect(upward(graph)).toEqual([]);
  });
});
