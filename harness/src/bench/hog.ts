// `pnpm bench hog [--limit N] [--data PATH] [--skimage N] [--check N] [--workers N] [--repeat N]`
//
// HOG over FER2013 (48x48, 9 orientations, 8x8 cells, 2x2 blocks, L2-Hys) with @fer/hog's hogBatch on one
// thread, then scikit-image 0.19.3's `skimage.feature.hog` on the first --skimage images (default 3000) in a
// python subprocess in the same run, per-image throughput for both, their ratio, and the max abs difference
// of the two outputs on the first --check images. JSON lines on stdout.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { PAPER_HOG_OPTIONS, hogBatch, hogBatchParallel, hogLength } from '@fer/hog';
import { dataPath } from '../data.js';
import { forEachFlag } from '../flags.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_DATA = resolve(REPO_ROOT, '../shared/data/fer2013/fer2013.csv.gz');
const W = 48;
const H = 48;
const OPTS = PAPER_HOG_OPTIONS;

interface Args { data: string; limit: number; skimage: number; check: number; workers: number; repeat: number; python: string }

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const { pixels, count } = await loadFer2013Pixels(args.data, args.limit);
  const len = hogLength(W, H, OPTS);
  const params = { width: W, height: H, orientations: OPTS.orientations, pixelsPerCell: OPTS.pixelsPerCell, cellsPerBlock: OPTS.cellsPerBlock, blockNorm: OPTS.blockNorm };

  // @fer/hog, one thread: warm up (JIT, bin tables), then the median of --repeat full passes.
  hogBatch(pixels.subarray(0, Math.min(count, 500) * W * H), { count: Math.min(count, 500), width: W, height: H, ...OPTS });
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const features = new Float32Array(count * len); // reused by every pass (hogBatch's `out`)
  for (let r = 0; r < args.repeat; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    hogBatch(pixels, { count, width: W, height: H, ...OPTS, out: features });
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1e6);
  }
  const ours = median(times);
  const oursCpu = median(cpuTimes);
  const oursRate = count / ours;
  const oursCpuRate = count / oursCpu;
  emit({
    bench: 'hog', impl: '@fer/hog', threads: 1, images: count, seconds: round(ours), img_per_s: Math.round(oursRate),
    us_per_img: round((ours / count) * 1e6), cpu_img_per_s: Math.round(oursCpuRate), runs: times.map(round), ...params, data: args.data,
  });

  if (args.workers > 0) {
    await hogBatchParallel(pixels.subarray(0, Math.min(count, 2000) * W * H), { count: Math.min(count, 2000), width: W, height: H, ...OPTS, workers: args.workers });
    const t0 = performance.now();
    const par = await hogBatchParallel(pixels, { count, width: W, height: H, ...OPTS, workers: args.workers });
    const s = (performance.now() - t0) / 1000;
    let same = par.length === features.length;
    for (let i = 0; same && i < par.length; i++) same = par[i] === features[i];
    emit({ bench: 'hog', impl: '@fer/hog', threads: args.workers, images: count, seconds: round(s), img_per_s: Math.round(count / s), identical_to_one_thread: same, cpus: availableParallelism() });
  }

  // scikit-image on the first N images of the same data, same parameters, in a subprocess.
  const n = Math.min(args.skimage, count);
  const check = Math.min(args.check, n);
  const dir = mkdtempSync(join(tmpdir(), 'fer-bench-hog-'));
  try {
    const inPath = join(dir, 'pixels.u8');
    const outPath = join(dir, 'features.f64');
    writeFileSync(inPath, pixels.subarray(0, n * W * H));
    const res = spawnSync(args.python, ['-c', SKIMAGE_SCRIPT, inPath, outPath, String(n), String(check)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (res.status !== 0) {
      throw new Error(`pnpm bench hog: scikit-image run failed (${args.python}, exit ${res.status ?? res.signal}): ${(res.stderr || String(res.error ?? '')).trim().slice(-2000)}\nInstall Debian's python3-skimage (0.19.3) or pass --python PATH.`);
    }
    const py = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { version: string; seconds: number; cpu_seconds: number; images: number };
    const pyRate = py.images / py.seconds;
    const pyCpuRate = py.images / py.cpu_seconds;
    emit({
      bench: 'hog', impl: `skimage-${py.version}`, threads: 1, images: py.images, seconds: round(py.seconds), img_per_s: Math.round(pyRate),
      us_per_img: round((py.seconds / py.images) * 1e6), cpu_img_per_s: Math.round(pyCpuRate), ...params,
    });
    // Wall-clock and CPU-time ratios: on a shared machine the CPU-time one is the steadier of the two.
    emit({
      bench: 'hog', impl: 'ratio', metric: 'img_per_s @fer/hog / skimage, one thread', value: round(oursRate / pyRate),
      cpu_value: round(oursCpuRate / pyCpuRate), goal: 20, met: oursRate / pyRate >= 20,
    });

    const buf = readFileSync(outPath);
    const ref = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
    let maxDiff = 0;
    for (let i = 0; i < check * len; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - features[i]));
    emit({ bench: 'hog', check: 'max_abs_diff vs skimage', images: check, features_per_image: len, value: maxDiff, tolerance: 1e-5, ok: maxDiff <= 1e-5 && ref.length === check * len });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- Internal helpers ---

const SKIMAGE_SCRIPT = `
import json, sys, time
import numpy as np
import skimage
from skimage.feature import hog
inp, out, n, check = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
imgs = np.fromfile(inp, dtype=np.uint8).reshape(n, 48, 48)
kw = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm='L2-Hys', feature_vector=True)
for i in range(min(n, 20)):
    hog(imgs[i], **kw)
t0, c0 = time.perf_counter(), time.process_time()
feats = [hog(imgs[i], **kw) for i in range(n)]
dt, dc = time.perf_counter() - t0, time.process_time() - c0
np.concatenate(feats[:check]).astype(np.float64).tofile(out)
print(json.dumps(dict(version=skimage.__version__, seconds=dt, cpu_seconds=dc, images=n)))
`;

function parseArgs(argv: string[]): Args {
  const args: Args = { data: dataPath() ?? DEFAULT_DATA, limit: Infinity, skimage: 3000, check: 20, workers: 0, repeat: 5, python: process.env.PYTHON || '/usr/bin/python3' };
  forEachFlag(argv, (key, value) => {
    const int = (): number => {
      const v = value();
      const x = Number(v);
      if (!Number.isInteger(x) || x < 0) throw new Error(`fer bench hog: ${key} must be a non-negative integer, got "${v}".`);
      return x;
    };
    if (key === '--data') args.data = dataPath(value())!;
    else if (key === '--limit') args.limit = int() || Infinity;
    else if (key === '--skimage') args.skimage = Math.max(1, int());
    else if (key === '--check') args.check = int();
    else if (key === '--workers') args.workers = int();
    else if (key === '--repeat') args.repeat = Math.max(1, int());
    else args.python = value();
  }, { command: 'fer bench hog', known: ['--data', '--limit', '--skimage', '--check', '--workers', '--repeat', '--python'] });
  return args;
}

/** Streams the Kaggle FER2013 CSV (`emotion,pixels,Usage`, plain or .gz) into one Uint8Array of 48x48 images. */
async function loadFer2013Pixels(path: string, limit: number): Promise<{ pixels: Uint8Array; count: number }> {
  if (!existsSync(path)) {
    throw new Error(`pnpm bench hog: FER2013 not found at ${path}. Pass --data PATH or set FER2013_PATH to the Kaggle fer2013.csv(.gz).`);
  }
  const size = W * H;
  let cap = Number.isFinite(limit) ? limit : 36000;
  let pixels = new Uint8Array(cap * size);
  let count = 0;
  let lineNo = 0;
  const stream = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (lineNo === 1 || line.length === 0) continue; // header
    if (count >= limit) break;
    const a = line.indexOf(',');
    const b = line.indexOf(',', a + 1);
    if (a < 0 || b < 0) throw new Error(`pnpm bench hog: ${path} line ${lineNo}: expected "emotion,pixels,Usage".`);
    if (count === cap) {
      cap *= 2;
      const bigger = new Uint8Array(cap * size);
      bigger.set(pixels);
      pixels = bigger;
    }
    let k = count * size;
    let v = -1;
    for (let i = a + 1; i < b; i++) {
      const c = line.charCodeAt(i);
      if (c >= 48 && c <= 57) v = (v < 0 ? 0 : v * 10) + c - 48;
      else if (v >= 0) {
        pixels[k++] = v;
        v = -1;
      }
    }
    if (v >= 0) pixels[k++] = v;
    if (k !== (count + 1) * size) throw new Error(`pnpm bench hog: ${path} line ${lineNo}: ${k - count * size} pixels, expected ${size}.`);
    count++;
  }
  stream.destroy();
  if (count === 0) throw new Error(`pnpm bench hog: no images in ${path}.`);
  return { pixels: pixels.subarray(0, count * size), count };
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function emit(o: Record<string, unknown>): void {
  console.log(JSON.stringify(o));
}
