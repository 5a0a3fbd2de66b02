// The WASM fallback when the native kernels are absent: a plain Node process (the addon, once loaded, stays
// loaded for the life of a process, so each case gets its own) imports @fer/engine from source with
// - FER_ENGINE_NATIVE_PATH naming a file that does not exist (a broken install: 'failed to load'),
// - FER_ENGINE_NATIVE_PACKAGE naming a package that is not installed (the test hook in _addon.ts, as
//   `npm i --omit=optional` leaves it: 'is not installed'),
// - FER_ENGINE_NATIVE=0 ('disabled by FER_ENGINE_NATIVE=0'),
// - FER_NATIVE_CONV or FER_NATIVE_ISA with a value the addon does not know (named, with the values it knows).
// In each, initBackend({ backend: 'wasm' }) starts on the WASM kernels and says why the native ones are off,
// nothing native is registered or patched, a tiny model trains one Adam step, and native: true throws
// E_NATIVE_UNAVAILABLE with the reason.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ENGINE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const INDEX_TS = fileURLToPath(new URL('../index.ts', import.meta.url));

const CHILD = `
const tf = await import('@tensorflow/tfjs');
const { initBackend, describeNativeKernels, disposeBackend, FerEngineError } = await import(${JSON.stringify(INDEX_TS)});
const out = {};
const info = await initBackend({ backend: 'wasm' });
out.backend = info.backend;
out.active = tf.getBackend();
out.reason = info.reason;
out.native = info.native;
out.described = describeNativeKernels();
out.nativeKernels = tf.getKernelsForBackend('wasm').filter((k) => k.kernelFunc[Symbol.for('@fer/engine/native-kernel')]).map((k) => k.kernelName);
out.patched = [tf.AdamOptimizer, tf.SGDOptimizer, tf.MomentumOptimizer].filter((c) => c.prototype.applyGradients[Symbol.for('@fer/engine/native-optimizer')]).length;
out.trainingKernel = tf.getKernel('Conv2DBackpropFilter', 'wasm') != null;
let s = 7;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const m = tf.sequential({ layers: [
  tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
  tf.layers.batchNormalization(), tf.layers.reLU(), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.dropout({ rate: 0.25, seed: 2 }),
  tf.layers.flatten(), tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
] });
const x = tf.tensor4d(Float32Array.from({ length: 4 * 64 }, rnd), [4, 8, 8, 1]);
const y = tf.oneHot(tf.tensor1d([0, 2, 4, 6], 'int32'), 7).toFloat();
const opt = tf.train.adam(0.01);
const before = m.getWeights()[0].dataSync().slice();
const loss = opt.minimize(() => tf.metrics.categoricalCrossentropy(y, m.apply(x, { training: true })).mean(), true);
out.loss = loss.dataSync()[0];
const after = m.getWeights()[0].dataSync();
out.moved = Math.max(...before.map((v, i) => Math.abs(v - after[i])));
out.backendAfterStep = tf.getBackend();
try {
  await initBackend({ backend: 'wasm', native: true });
  out.strict = 'no error';
} catch (e) {
  out.strict = { isFerEngineError: e instanceof FerEngineError, code: e.code, message: e.message };
}
await disposeBackend();
process.stdout.write(JSON.stringify(out));
`;

interface ChildResult {
  backend: string;
  active: string;
  reason: string;
  native: { active: boolean; why?: string };
  described: { active: boolean; why?: string };
  nativeKernels: string[];
  patched: number;
  trainingKernel: boolean;
  loss: number;
  moved: number;
  backendAfterStep: string;
  strict: 'no error' | { isFerEngineError: boolean; code?: string; message: string };
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  const base = { ...process.env };
  for (const k of ['FER_ENGINE_NATIVE', 'FER_ENGINE_NATIVE_PATH', 'FER_ENGINE_NATIVE_PACKAGE', 'FER_NATIVE_ISA', 'FER_NATIVE_CONV']) delete base[k];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@fer/source', '--import', 'tsx', '--input-type=module', '-e', CHILD],
      { cwd: ENGINE_DIR, env: { ...base, ...env }, encoding: 'utf8', timeout: 90_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`child with ${JSON.stringify(env)} failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as ChildResult);
        } catch {
          reject(new Error(`child with ${JSON.stringify(env)} printed no JSON: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

const CASES: { name: string; env: Record<string, string>; why: RegExp }[] = [
  { name: 'the addon file does not exist (FER_ENGINE_NATIVE_PATH)', env: { FER_ENGINE_NATIVE_PATH: '/nonexistent/fer-test/fer-engine-native.node' }, why: /\/nonexistent\/fer-test\/fer-engine-native\.node failed to load: / },
  { name: 'the platform package is not installed (FER_ENGINE_NATIVE_PACKAGE)', env: { FER_ENGINE_NATIVE_PACKAGE: '@fer/engine-native-absent-for-test' }, why: /^the optional package @fer\/engine-native-absent-for-test is not installed/ },
  { name: 'disabled (FER_ENGINE_NATIVE=0)', env: { FER_ENGINE_NATIVE: '0' }, why: /^disabled by FER_ENGINE_NATIVE=0$/ },
  // A tuning variable with a value the addon does not know would be ignored by it: refused instead, saying so.
  { name: 'an unknown FER_NATIVE_CONV value', env: { FER_NATIVE_CONV: 'fastest' }, why: /^FER_NATIVE_CONV is 'fastest'; expected 'auto', 'nhwc', 'blocked', 'gemm' \(any case\)\. Fix: set one of those, or unset FER_NATIVE_CONV$/ },
  { name: 'an unknown FER_NATIVE_ISA value', env: { FER_NATIVE_ISA: 'avx3' }, why: /^FER_NATIVE_ISA is 'avx3'; expected 'auto', 'sse2', 'avx2', 'avx512' \(any case\)/ },
];

describe('@fer/engine without the native kernels', () => {
  const results = new Map<string, ChildResult>();
  beforeAll(async () => {
    // NOTE: one process per case, run together (each is mostly tfjs start-up).
    const all = await Promise.all(CASES.map((c) => runChild(c.env)));
    CASES.forEach((c, i) => results.set(c.name, all[i]));
  }, 120_000);

  describe.each(CASES)('$name', ({ name, why }) => {
    it('initBackend({ backend: "wasm" }) starts on the WASM kernels and says why the native ones are off', () => {
      const r = results.get(name)!;
      expect(r.backend).toBe('wasm');
      expect(r.active).toBe('wasm');
      expect(r.native.active).toBe(false);
      expect(r.native.why).toMatch(why);
      expect(r.described).toEqual(r.native);
      expect(r.reason).toContain(`native kernels off: ${r.native.why}`);
      expect(r.reason).toMatch(/WASM training kernels: .*Conv2DBackpropFilter/);
    });

    it('registers and patches nothing native', () => {
      const r = results.get(name)!;
      expect(r.nativeKernels).toEqual([]);
      expect(r.patched).toBe(0);
      expect(r.trainingKernel).toBe(true);
    });

    it('trains a tiny conv + batch norm + dropout model one Adam step', () => {
      const r = results.get(name)!;
      expect(r.backendAfterStep).toBe('wasm');
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.loss).toBeGreaterThan(0);
      expect(r.moved).toBeGreaterThan(1e-4);
    });

    it('initBackend({ backend: "wasm", native: true }) throws E_NATIVE_UNAVAILABLE with the reason', () => {
      const r = results.get(name)!;
      expect(r.strict).not.toBe('no error');
      const e = r.strict as Exclude<ChildResult['strict'], string>;
      expect(e).toMatchObject({ isFerEngineError: true, code: 'E_NATIVE_UNAVAILABLE' });
      expect(e.message).toContain(r.native.why);
    });
  });
});
