// `pnpm bench data [--data PATH] [--repeat N] [--no-pandas]`: load the whole FER2013 CSV(.gz) with @fer/data and
// with pandas (the reference peer, as a Python subprocess in the same run), as JSON lines on stdout.
// pandas method: pd.read_csv(path) (C engine, gzip by extension) + np.stack([np.fromstring(s, sep=' ', dtype=np.uint8)
// for s in df.pixels]) — the fastest idiomatic numpy conversion of the pixel strings (str.split + np.array is slower).
// Wall seconds are the target; CPU seconds (all threads, incl. zlib's) are printed too, being steadier on a busy machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { loadFer2013Csv } from '@fer/data';
import { dataPath } from '../data.js';
import { forEachFlag } from '../flags.js';
import { positiveInt } from './_cli.js';

const PANDAS = `
import sys, time, resource, json
t0 = time.perf_counter()
import pandas as pd, numpy as np
t1 = time.perf_counter(); c1 = time.process_time()
df = pd.read_csv(sys.argv[1])
X = np.stack([np.fromstring(s, sep=' ', dtype=np.uint8) for s in df['pixels']])
y = df['emotion'].to_numpy(np.uint8)
t2 = time.perf_counter(); c2 = time.process_time()
assert X.shape == (len(df), 2304), X.shape
print(json.dumps({"seconds": t2 - t1, "cpu_seconds": c2 - c1, "import_seconds": t1 - t0, "rows": int(X.shape[0]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "pandas": pd.__version__, "numpy": np.__version__}))
`;

/** The flags of `fer bench data`: --data PATH, --repeat N, --python PATH. */
function parseArgs(argv: string[]): { data?: string; repeat: number; python: string } {
  const o = { data: undefined as string | undefined, repeat: 1, python: '/usr/bin/python3' };
  forEachFlag(argv, (flag, value) => {
    if (flag === '--data') o.data = value();
    else if (flag === '--repeat') o.repeat = positiveInt(flag, value());
    else o.python = value();
  }, { command: 'fer bench data', known: ['--data', '--repeat', '--python'] });
  return o;
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  const f = runInNewContext('gc') as () => void;
  f();
  f();
}

export async function run(argv: string[]): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const args = parseArgs(argv);
  const path = dataPath(args.data) ?? join(root, '..', 'shared', 'data', 'fer2013', 'fer2013.csv.gz');
  if (!existsSync(path)) throw new Error(`bench data: ${path} does not exist; pass --data PATH or set FER2013_PATH to the Kaggle fer2013.csv(.gz).`);
  const { repeat, python } = args;

  // @fer/data first, in this fresh process (nothing else loaded), so the memory deltas are its own.
  const times: number[] = [];
  const cpus: number[] = [];
  let rows = 0, rssMb = 0, abMb = 0, rawMb = 0, heldMb = 0;
  for (let r = 0; r < repeat; r++) {
    gc();
    const m0 = process.memoryUsage();
    const t = performance.now();
    const c0 = process.cpuUsage();
    let ds: Awaited<ReturnType<typeof loadFer2013Csv>> | null = await loadFer2013Csv(path);
    times.push((performance.now() - t) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
    gc();
    const m1 = process.memoryUsage();
    rows = ds.count;
    rawMb = ds.pixels.length / 2 ** 20;
    heldMb = ds.pixels.buffer.byteLength / 2 ** 20;
    rssMb = (m1.rss - m0.rss) / 2 ** 20;
    abMb = (m1.arrayBuffers - m0.arrayBuffers) / 2 ** 20;
    ds = null;
  }
  const seconds = median(times);
  const peak = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({
    bench: 'data', impl: '@fer/data', seconds: round(seconds), cpu_seconds: round(median(cpus)), runs: times.map(round), rows, path,
    raw_pixel_mb: round(rawMb), held_buffer_mb: round(heldMb), rss_mb: round(rssMb), array_buffers_mb: round(abMb),
    rss_over_raw: round(rssMb / rawMb), array_buffers_over_raw: round(abMb / rawMb), process_peak_rss_mb: round(peak), node: process.version,
  }));
  if (argv.includes('--no-pandas')) return;

  const ptimes: number[] = [];
  const pcpus: number[] = [];
  let pinfo: Record<string, unknown> = {};
  for (let r = 0; r < repeat; r++) {
    const res = spawnSync(python, ['-c', PANDAS, path], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (res.status !== 0) throw new Error(`bench data: the pandas peer failed (${python}): ${res.stderr.trim().split('\n').slice(-3).join(' | ')}. Install python3-pandas or pass --no-pandas.`);
    pinfo = JSON.parse(res.stdout.trim().split('\n').pop() as string);
    ptimes.push(pinfo.seconds as number);
    pcpus.push(pinfo.cpu_seconds as number);
  }
  const pseconds = median(ptimes);
  console.log(JSON.stringify({
    bench: 'data', impl: 'pandas', seconds: round(pseconds), cpu_seconds: round(median(pcpus)), runs: ptimes.map(round), rows: pinfo.rows,
    method: "pd.read_csv + np.stack([np.fromstring(s, sep=' ', dtype=np.uint8) ...])",
    peak_rss_mb: round(pinfo.peak_rss_mb as number), pandas: pinfo.pandas, numpy: pinfo.numpy,
  }));
  const ratio = pseconds / seconds;
  console.log(JSON.stringify({
    bench: 'data', impl: 'ratio', speedup_vs_pandas: round(ratio), cpu_speedup_vs_pandas: round(median(pcpus) / median(cpus)), target_speedup: 4, speed_ok: ratio >= 4,
    rss_over_raw: round(rssMb / rawMb), target_rss_over_raw: 1.5, memory_ok: rssMb / rawMb <= 1.5,
  }));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
