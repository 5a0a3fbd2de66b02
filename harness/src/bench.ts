// `pnpm bench [models|layers|data|hog|accuracy|parity|all] [--backend wasm|webgpu|cpu|...] [...]`: benchmarks as JSON lines on stdout,
// each with its reference peer (PyTorch, pandas, scikit-image) measured in the same run.
// Each benchmark lives in ./bench/<name>.ts and exports `run(argv: string[]): Promise<void>`.
const benches: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  models: () => import('./bench/models.js'),
  layers: () => import('./bench/layers.js'),
  data: () => import('./bench/data.js'),
  hog: () => import('./bench/hog.js'),
  accuracy: () => import('./bench/accuracy.js'),
  parity: () => import('./bench/parity.js'),
};

async function main(argv: string[]): Promise<void> {
  const first = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'models';
  const rest = argv[0] === first ? argv.slice(1) : argv;
  // NOTE: `all` leaves out `accuracy` (two real trainings, about 10 minutes) and `parity` (a diagnostic); run them by name.
  const names = first === 'all' ? ['models', 'data', 'hog'] : [first];
  for (const name of names) {
    const load = benches[name];
    if (!load) throw new Error(`Unknown benchmark "${name}". Known: ${Object.keys(benches).join(', ')}, all.`);
    await (await load()).run(rest);
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
