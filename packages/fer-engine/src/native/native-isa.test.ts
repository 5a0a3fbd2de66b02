// The addon's element-wise kernels are compiled per instruction set (SSE2, AVX2, AVX-512) and one copy is chosen at
// load. Here: every copy this CPU runs gives the same bits (Adam, dropout mask and apply, batch-norm train and its
// gradient, 2x2 max-pool gradient, relu and its gradient, column sums), at 1 and 3 threads, on shapes that leave
// vector tails and on NaN, -0, -inf and tied maxima; and the choice follows ONEDNN_MAX_CPU_ISA (as oneDNN does),
// DNNL_MAX_CPU_ISA and FER_NATIVE_ISA, checked in child processes. No timing is asserted.
// Skipped, saying why, when the addon does not load or predates setKernelIsa (unless CI / FER_NATIVE_REQUIRED=1).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { aleaDropoutMask, expectBitIdentical, randomValues } from '@fer/testing';
import { describe, expect, it } from 'vitest';
import { loadNative, type NativeAddon } from './_addon.js';

const load = loadNative();
const addon: NativeAddon | undefined = load.ok && load.addon.setKernelIsa ? load.addon : undefined;
const required = Boolean(process.env['CI']) || process.env['FER_NATIVE_REQUIRED'] === '1';
const why = load.ok ? 'the addon has no setKernelIsa (built before it)' : load.why;
const ISAS = ['sse2', 'avx2', 'avx512'];

it(`the native addon loads with per-ISA kernels${addon ? '' : ` (SKIPPED: ${why})`}`, () => {
  if (!addon && required) throw new Error(`native addon with setKernelIsa required (CI / FER_NATIVE_REQUIRED=1) but: ${why}`);
  if (!addon) return;
  const info = addon.info();
  expect(info.kernelIsas?.[0]).toBe('sse2');
  expect(info.kernelIsas).toContain(info.kernelIsa);
});

/** Values with the awkward cases mixed in: NaN, -0, +0, -inf, +inf, and repeats (ties). */
function awkward(n: number, seed: number): Float32Array {
  const v = randomValues(n, seed);
  for (let i = 0; i < n; i += 97) v[i] = NaN;
  for (let i = 5; i < n; i += 89) v[i] = -0;
  for (let i = 11; i < n; i += 83) v[i] = -Infinity;
  for (let i = 17; i < n; i += 131) v[i] = Infinity;
  for (let i = 23; i < n; i += 7) v[i] = Math.round(v[i]! * 4) / 4; // coarse values: ties in pooling windows
  return v;
}

/** Every kernel's outputs under the current ISA, at `threads` threads. */
function runAll(a: NativeAddon, threads: number): Record<string, Float32Array | Float64Array> {
  a.setThreads(threads);
  const out: Record<string, Float32Array | Float64Array> = {};
  // Adam: 300,011 parameters (above the parallel threshold, not a multiple of 16), positive v.
  const n = 300_011;
  const w = randomValues(n, 1);
  const g = awkward(n, 2);
  const m = randomValues(n, 3);
  const v = randomValues(n, 4).map((x) => Math.abs(x) * 1e-3);
  const w2 = new Float32Array(n), m2 = new Float32Array(n), v2 = new Float32Array(n);
  a.adam(w, g, m, v, w2, m2, v2, Float32Array.of(1e-3, 0.9, 0.1, 0.999, 0.001, 1 - 0.9 ** 7, 1 - 0.999 ** 7, 1e-7, 0));
  Object.assign(out, { adamW: w2, adamM: m2, adamV: v2 });
  // Dropout: the parallel streams (300,007) and the serial path (1,003), mask and apply, and the end states.
  for (const len of [300_007, 1_003]) {
    const s1 = Float64Array.of(7, 0.25, 0.5, 0.125);
    const mask = new Float32Array(len);
    a.dropoutMask(mask, s1, 0.6);
    out[`mask${len}`] = mask;
    out[`maskState${len}`] = s1;
    if (a.dropoutApply) {
      const s2 = Float64Array.of(7, 0.25, 0.5, 0.125);
      const y = new Float32Array(len);
      a.dropoutApply(awkward(len, 5), y, s2, 0.5);
      out[`apply${len}`] = y;
      out[`applyState${len}`] = s2;
    }
  }
  // Batch norm train and its gradient: C = 37 channels (vector tails), 8,111 rows; and C = 256.
  for (const C of [37, 256]) {
    const rows = C === 37 ? 8_111 : 1_031;
    const x = randomValues(rows * C, 6 + C).map((t, i) => t * 3 + (i % C) * 0.01);
    const dy = awkward(rows * C, 7 + C).map((t) => (Number.isFinite(t) ? t : 0.5));
    const scale = randomValues(C, 8), offset = randomValues(C, 9);
    if (a.batchNormTrain && a.batchNormTrainGrad) {
      const y = new Float32Array(rows * C), mean = new Float32Array(C), variance = new Float32Array(C);
      a.batchNormTrain(x, scale, offset, y, mean, variance, C, 1e-3);
      const dx = new Float32Array(rows * C), ds = new Float32Array(C), doff = new Float32Array(C);
      a.batchNormTrainGrad(x, mean, variance, scale, dy, dx, ds, doff, C, 1e-3);
      Object.assign(out, { [`bnY${C}`]: y, [`bnMean${C}`]: mean, [`bnVar${C}`]: variance, [`bnDx${C}`]: dx, [`bnDs${C}`]: ds, [`bnDoff${C}`]: doff });
    }
    const sums = new Float32Array(C);
    a.reduceLeading(dy, sums, rows, C, false);
    out[`sum${C}`] = sums;
  }
  // 2x2/2 max-pool gradient: odd H and W (uncovered row and column), C = 19, with NaN, -inf and ties.
  for (const [B, H, W, C] of [[3, 9, 11, 19], [2, 48, 48, 64]] as const) {
    const Ho = Math.floor(H / 2), Wo = Math.floor(W / 2);
    const x = awkward(B * H * W * C, 10 + C);
    const dy = randomValues(B * Ho * Wo * C, 11 + C).map((t, i) => (i % 13 === 0 ? -0 : t));
    const dx = new Float32Array(B * H * W * C).fill(123);
    a.maxPoolGrad(x, dy, dx, Int32Array.of(B, H, W, C, Ho, Wo, 2, 2, 2, 2, 0, 0));
    out[`poolDx${C}`] = dx;
  }
  // Relu and its gradient.
  const x = awkward(300_013, 12);
  const dy = randomValues(300_013, 13).map((t, i) => (i % 11 === 0 ? -t : t));
  const relu = new Float32Array(x.length), rg = new Float32Array(x.length);
  a.unary(0, x, relu, 0);
  out['relu'] = relu;
  if (a.reluGrad) {
    a.reluGrad(dy, x, rg);
    out['reluGrad'] = rg;
  }
  return out;
}

describe.skipIf(!addon)('element-wise kernels: the same bits under every instruction set', () => {
  it('each ISA this CPU runs (setKernelIsa) gives the SSE2 copy\'s bits, at 1 and 3 threads', () => {
    const a = addon!;
    const isas = a.info().kernelIsas ?? [];
    try {
      for (const threads of [1, 3]) {
        expect(a.setKernelIsa!('sse2')).toBe('sse2');
        const ref = runAll(a, threads);
        for (const isa of isas.slice(1)) {
          expect(a.setKernelIsa!(isa)).toBe(isa);
          const got = runAll(a, threads);
          expect(Object.keys(got)).toEqual(Object.keys(ref));
          for (const k of Object.keys(ref)) {
            if (ref[k] instanceof Float64Array) expect(Array.from(got[k]!), `${k}: ${isa} vs sse2 at ${threads} threads`).toEqual(Array.from(ref[k]));
            else expectBitIdentical(got[k] as Float32Array, ref[k] as Float32Array, `${k}: ${isa} vs sse2 at ${threads} threads`);
          }
        }
      }
    } finally {
      a.setKernelIsa!('auto');
      a.setThreads(3);
    }
  });

  it('dropoutMask under each ISA is the serial alea sequence (checked against the JS reference)', () => {
    const a = addon!;
    const n = 200_003;
    const { mask: ref, state: end } = aleaDropoutMask(n, [3, 0.5, 0.25, 0.75], 0.7);
    try {
      for (const isa of a.info().kernelIsas ?? []) {
        a.setKernelIsa!(isa);
        for (const threads of [1, 2]) {
          a.setThreads(threads);
          const state = Float64Array.of(3, 0.5, 0.25, 0.75);
          const out = new Float32Array(n);
          a.dropoutMask(out, state, 0.7);
          expectBitIdentical(out, ref, `dropoutMask under ${isa} at ${threads} threads`);
          expect(Array.from(state)).toEqual(end);
        }
      }
    } finally {
      a.setKernelIsa!('auto');
      a.setThreads(3);
    }
  });

  it('setKernelIsa rejects an unknown name, saying what it expects', () => {
    expect(() => addon!.setKernelIsa!('avx3')).toThrow(/setKernelIsa: argument 0 is 'avx3'; expected 'sse2', 'avx2', 'avx512' or 'auto'/);
  });
});

/** info().kernelIsa and kernelIsas in a child process with `env` (and none of the ISA variables of this one). */
function childIsa(env: Record<string, string>, code = ''): { kernelIsa: string; kernelIsas: string[]; set?: string } {
  const base = { ...process.env };
  for (const k of ['ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA', 'FER_NATIVE_ISA']) delete base[k];
  const script = `const a = require(${JSON.stringify(load.ok ? load.origin.path : '')}); const i = a.info(); ${code}
    process.stdout.write(JSON.stringify({ kernelIsa: i.kernelIsa, kernelIsas: i.kernelIsas, ...(typeof set === 'string' ? { set } : {}) }));`;
  const r = spawnSync(process.execPath, ['-e', `let set; ${script}`], { env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { kernelIsa: string; kernelIsas: string[]; set?: string };
}

/** Whether this CPU has the AVX-512 subsets the AVX-512 copy needs (F, BW, DQ, VL), from /proc/cpuinfo. */
function hasAvx512(): boolean {
  let flags: string[] = [];
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
  } catch {
    return false;
  }
  return ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.includes(f));
}

describe.skipIf(!addon)('the ISA choice follows ONEDNN_MAX_CPU_ISA and FER_NATIVE_ISA', () => {
  it('caps as oneDNN does; FER_NATIVE_ISA lowers it further; setKernelIsa cannot exceed the cap', () => {
    const free = childIsa({});
    const best = free.kernelIsas[free.kernelIsas.length - 1]!;
    expect(free.kernelIsa).toBe(best);
    const atMost = (isa: string): string => ISAS[Math.min(ISAS.indexOf(isa), ISAS.indexOf(best))]!;
    const cases: [Record<string, string>, string][] = [
      [{ ONEDNN_MAX_CPU_ISA: 'AVX2' }, atMost('avx2')],
      [{ ONEDNN_MAX_CPU_ISA: 'AVX2_VNNI' }, atMost('avx2')],
      [{ ONEDNN_MAX_CPU_ISA: 'AVX' }, 'sse2'],
      [{ ONEDNN_MAX_CPU_ISA: 'SSE41' }, 'sse2'],
      [{ ONEDNN_MAX_CPU_ISA: 'AVX512_CORE' }, best],
      [{ ONEDNN_MAX_CPU_ISA: 'AVX512_CORE_BF16' }, best],
      [{ ONEDNN_MAX_CPU_ISA: 'AVX512_MIC' }, atMost('avx2')],
      [{ ONEDNN_MAX_CPU_ISA: 'ALL' }, best],
      [{ ONEDNN_MAX_CPU_ISA: 'DEFAULT' }, best],
      [{ ONEDNN_MAX_CPU_ISA: 'NOT_AN_ISA' }, best], // oneDNN ignores a value it does not know
      [{ DNNL_MAX_CPU_ISA: 'SSE41' }, 'sse2'], // the older name, as oneDNN 2.x still reads it
      [{ ONEDNN_MAX_CPU_ISA: 'ALL', DNNL_MAX_CPU_ISA: 'SSE41' }, best], // ONEDNN_ wins, as in oneDNN
      [{ FER_NATIVE_ISA: 'sse2' }, 'sse2'],
      [{ FER_NATIVE_ISA: 'avx2' }, atMost('avx2')],
      [{ FER_NATIVE_ISA: 'avx512', ONEDNN_MAX_CPU_ISA: 'AVX' }, 'sse2'],
      // The AVX-512 copy is opt-in (it has not yet run on an AVX-512 machine): only FER_NATIVE_ISA=avx512 picks it.
      [{ FER_NATIVE_ISA: 'avx512' }, hasAvx512() ? 'avx512' : best],
    ];
    expect(best).not.toBe('avx512');
    for (const [env, want] of cases) expect(childIsa(env).kernelIsa, JSON.stringify(env)).toBe(want);
    // The list of allowed ISAs (what the bit-identity test walks) honours the oneDNN cap, and so does setKernelIsa.
    const capped = childIsa({ ONEDNN_MAX_CPU_ISA: 'SSE41' }, "set = a.setKernelIsa('avx512');");
    expect(capped).toEqual({ kernelIsa: 'sse2', kernelIsas: ['sse2'], set: 'sse2' });
    expect(childIsa({ FER_NATIVE_ISA: 'sse2' }, "set = a.setKernelIsa('auto');").set).toBe(best);
  });
});

// The binary must load and run on any x86-64 CPU: AVX and AVX-512 instructions may appear only in the dispatched
// copies (functions of the isa_avx2 and isa_avx512 namespaces; AVX-512 only in the latter). Needs objdump (binutils).
const objdump = spawnSync('objdump', ['--version'], { encoding: 'utf8' }).status === 0;
describe.skipIf(!load.ok || !objdump)(`the binary's instructions${objdump ? '' : ' (SKIPPED: no objdump)'}`, () => {
  it('has AVX instructions only in the isa_avx2 / isa_avx512 functions, AVX-512 ones only in isa_avx512', () => {
    const r = spawnSync('objdump', ['-d', '-C', '--no-show-raw-insn', load.ok ? load.origin.path : ''], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(r.status).toBe(0);
    const found = new Map<string, Set<string>>();
    let fn = '';
    for (const line of r.stdout.split('\n')) {
      const head = /^[0-9a-f]+ <(.*)>:$/.exec(line);
      if (head) {
        fn = head[1]!;
        continue;
      }
      const tab = line.lastIndexOf('\t');
      if (!fn || tab < 0) continue;
      const ins = line.slice(tab + 1).split('<')[0]!.split('#')[0]!;
      const kind = /zmm|%k[0-7]|[xy]mm(1[6-9]|2[0-9]|3[01])|\{/.test(ins) ? 'avx512' : /ymm|^\s*v[a-z]/.test(ins) ? 'avx' : undefined;
      if (kind) found.set(fn, (found.get(fn) ?? new Set()).add(kind));
    }
    const misplaced = [...found].filter(([f, kinds]) => !(f.includes('isa_avx512') || (f.includes('isa_avx2') && !kinds.has('avx512'))));
    expect(misplaced.map(([f, k]) => `${[...k].join('+')} in ${f}`)).toEqual([]);
    // And the copies are there: the AVX2 Adam and the AVX-512 dropout streams.
    expect([...found.keys()].some((f) => f.includes('isa_avx2::adam'))).toBe(true);
    expect([...found].some(([f, k]) => f.includes('isa_avx512::dropout_group') && k.has('avx512'))).toBe(true);
  });
});
