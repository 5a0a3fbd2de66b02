// Finds and loads the native kernels: the optional platform package @fer/engine-native-<os>-<cpu>-<libc>
// (a Node-API addon over oneDNN), or the file FER_ENGINE_NATIVE_PATH names. Never throws: a missing or
// broken package gives { ok: false, why } and @fer/engine stays on its WASM kernels.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

/** The addon's functions (packages/fer-engine-native-linux-x64-gnu/src/addon.cc). */
export interface NativeAddon {
  convForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, dims: Int32Array, act: number): void;
  convBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: Int32Array): void;
  convBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, M: number, N: number, K: number, ta: boolean, tb: boolean, act: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduceLeading(x: Float32Array, out: Float32Array, rows: number, cols: number, mean: boolean): void;
  /** dy * step(x) (absent from binaries built before it). */
  reluGrad?(dy: Float32Array, x: Float32Array, out: Float32Array): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, out: Float32Array, channels: number, eps: number): void;
  batchNormGrad(
    x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, dy: Float32Array,
    dx: Float32Array, dmean: Float32Array, dvariance: Float32Array, dscale: Float32Array, doffset: Float32Array, channels: number, eps: number,
  ): void;
  /** Absent from binaries built before it (the JS side then keeps tfjs' moments chain). */
  batchNormTrain?(x: Float32Array, scale: Float32Array | null, offset: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array, channels: number, eps: number): void;
  batchNormTrainGrad?(
    x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, dy: Float32Array,
    dx: Float32Array, dscale: Float32Array, doffset: Float32Array, channels: number, eps: number,
  ): void;
  maxPool(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, w2: Float32Array, m2: Float32Array, v2: Float32Array, params: Float32Array): void;
  dropoutMask(out: Float32Array, state: Float64Array, keepProb: number): void;
  /** out = x * the mask dropoutMask would draw (absent from binaries built before it). */
  dropoutApply?(x: Float32Array, out: Float32Array, state: Float64Array, keepProb: number): void;
  sgd(w: Float32Array, g: Float32Array, w2: Float32Array, negLr: number): void;
  momentum(w: Float32Array, g: Float32Array, acc: Float32Array, w2: Float32Array, acc2: Float32Array, negLr: number, momentum: number, nesterov: boolean): void;
  setThreads(n: number): void;
  /**
   * The instruction set of the element-wise kernels ('sse2', 'avx2', 'avx512' or 'auto': the best allowed), capped by
   * the CPU and ONEDNN_MAX_CPU_ISA; returns the one chosen. For tests and A/B measurements (absent from older binaries).
   */
  setKernelIsa?(isa: string): string;
  /**
   * How convolutions run: 'auto' (per shape and ISA: NHWC, oneDNN's blocked layout or im2col + GEMM, whichever was
   * measured fastest), or 'nhwc', 'blocked' or 'gemm' for every one (tests and A/B measurements). FER_NATIVE_CONV sets
   * it at load. Returns the plan set (absent from older binaries).
   */
  setConvPlan?(plan: string): string;
  /** kernelIsa: the element-wise kernels' instruction set; kernelIsas: those this CPU allows (absent from older binaries). */
  info(): { dnnl: string; isa: string; kernelIsa?: string; kernelIsas?: string[]; convPlan?: string; threads: number; ompWaitPolicy: string; primitives: Record<string, string> };
  clearCaches(): void;
}

/** Where the native kernels came from: the package, its binary and the shared libraries it loaded. */
export interface NativeOrigin {
  package: string;
  version: string;
  path: string;
  /** Shared libraries the addon mapped (oneDNN, OpenMP, ...), resolved paths. */
  libraries: string[];
}

export type NativeLoad = { ok: true; addon: NativeAddon; origin: NativeOrigin } | { ok: false; why: string };

/** The platform package for this machine, e.g. `@fer/engine-native-linux-x64-gnu`; undefined where none is built. */
export function nativePackageName(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? '@fer/engine-native-linux-x64-gnu' : undefined;
}

let cached: NativeLoad | undefined;

/** Loads the addon once per thread (each worker_threads worker loads its own instance). */
export function loadNative(): NativeLoad {
  cached ??= tryLoad();
  return cached;
}

/** Default native thread count: one per core (os.availableParallelism()). */
export function defaultNativeThreads(): number {
  return Math.max(1, availableParallelism());
}

// --- Internal helpers ---

function tryLoad(): NativeLoad {
  const flag = process.env['FER_ENGINE_NATIVE'];
  if (flag === '0' || flag === 'off' || flag === 'false') return { ok: false, why: `disabled by FER_ENGINE_NATIVE=${flag}` };
  const badEnv = badTuningEnv(process.env);
  if (badEnv) return { ok: false, why: badEnv };
  let path = process.env['FER_ENGINE_NATIVE_PATH'];
  let pkg = 'FER_ENGINE_NATIVE_PATH';
  let version = '';
  if (!path) {
    // NOTE: test hook: FER_ENGINE_NATIVE_PACKAGE replaces the platform package name looked up (fallback.test.ts
    // sets a name that is not installed, to check the WASM fallback without uninstalling the package).
    const name = process.env['FER_ENGINE_NATIVE_PACKAGE'] || nativePackageName();
    if (!name) {
      return { ok: false, why: `no native kernels are built for ${process.platform}-${process.arch}${process.platform === 'linux' ? ' (musl)' : ''}; only linux-x64 with glibc has them` };
    }
    let pkgJson: string;
    try {
      pkgJson = createRequire(import.meta.url).resolve(`${name}/package.json`);
    } catch {
      return { ok: false, why: `the optional package ${name} is not installed (npm installs it with @fer/engine on linux-x64 glibc unless optional dependencies are omitted)` };
    }
    const dir = dirname(pkgJson);
    pkg = name;
    version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
    path = join(dir, 'fer-engine-native.node');
    if (!existsSync(path)) {
      const record = join(dir, 'native-build.json');
      const why = existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as { reason?: string }).reason : undefined;
      return { ok: false, why: `${name} has no fer-engine-native.node${why ? `: not built: ${why}` : ''} (in this repository: pnpm --filter ${name} build)` };
    }
  }
  // NOTE: OpenMP threads sleep between kernels instead of spinning (libgomp reads this when it loads), so
  // they never compete with the WASM work that runs between native kernels, or with other workers.
  process.env['OMP_WAIT_POLICY'] ??= 'PASSIVE';
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = /cannot open shared object file/.test(msg)
      ? ' Fix: install the library it names (Debian: apt-get install libdnnl2), or reinstall the package, which carries its libraries in lib/.'
      : '';
    return { ok: false, why: `${path} failed to load: ${msg.split('\n')[0]!.replace(/[.;:\s]+$/, '')}.${hint}` };
  }
  if (typeof addon.convForward !== 'function' || typeof addon.info !== 'function') {
    return { ok: false, why: `${path} is not the @fer/engine native addon (no convForward/info)` };
  }
  return { ok: true, addon, origin: { package: pkg, version, path, libraries: mappedLibraries() } };
}

/** The addon's tuning variables and the values it knows (any case; empty = unset). */
const TUNING_ENV: Record<string, readonly string[]> = {
  FER_NATIVE_ISA: ['auto', 'sse2', 'avx2', 'avx512'],
  FER_NATIVE_CONV: ['auto', 'nhwc', 'blocked', 'gemm'],
};

/**
 * Why the tuning environment is unusable (a value the addon does not know), or undefined. The addon would ignore such a
 * value and run its default, so a typo would change nothing and say nothing: the native kernels are refused instead.
 */
function badTuningEnv(env: NodeJS.ProcessEnv): string | undefined {
  for (const [name, known] of Object.entries(TUNING_ENV)) {
    const v = env[name];
    if (v && !known.includes(v.toLowerCase())) {
      return `${name} is '${v}'; expected ${known.map((k) => `'${k}'`).join(', ')} (any case). Fix: set one of those, or unset ${name}`;
    }
  }
  return undefined;
}

function mappedLibraries(): string[] {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set<string>();
    for (const line of maps.split('\n')) {
      const m = /\s(\/\S*\/(libdnnl|libgomp|libopenblas|libOpenCL)[^/\s]*\.so[^/\s]*)$/.exec(line);
      if (m) libs.add(m[1]!);
    }
    return [...libs].sort();
  } catch {
    return [];
  }
}
