// `fer bench [models|layers|data|hog|accuracy|parity|all] [--backend wasm|native|webgpu|cpu|...] [...]` (and its
// alias `pnpm bench ...`): benchmarks as JSON lines on stdout, each with its reference peer (PyTorch, pandas,
// scikit-image) measured in the same run. Each benchmark lives in ./bench/<name>.ts and exports
// `run(argv: string[]): Promise<void>`, parsing its flags with src/flags.ts (unknown flags name the nearest).
// This file also runs on its own (`node --import tsx harness/src/bench.ts models`, as scripts/gpu-check.sh does).
import { pathToFileURL } from 'node:url';
import { FerCliError } from './errors.js';
import { didYouMean } from './suggest.js';

export const BENCHES: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  models: () => import('./bench/models.js'),
  layers: () => import('./bench/layers.js'),
  data: () => import('./bench/data.js'),
  hog: () => import('./bench/hog.js'),
  accuracy: () => import('./bench/accuracy.js'),
  parity: () => import('./bench/parity.js'),
  faces: () => import('./bench/faces.js'),
};

/** Runs the benchmark named by the first argument (default `models`; `all` = models, data, hog) with the rest. */
export async function runBench(argv: string[]): Promise<void> {
  const first = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'models';
  const rest = argv[0] === first ? argv.slice(1) : argv;
  // NOTE: `all` leaves out `accuracy` (two real trainings, about 10 minutes) and `parity` (a diagnostic); run them by name.
  const names = first === 'all' ? ['models', 'data', 'hog'] : [first];
  for (const name of names) {
    const load = BENCHES[name];
    if (!load) throw new FerCliError('E_UNKNOWN_BENCHMARK', `fer bench: unknown benchmark "${name}".${didYouMean(name, [...Object.keys(BENCHES), 'all'])} Known: ${Object.keys(BENCHES).join(', ')}, all.`);
    await (await load()).run(rest);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runBench(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
