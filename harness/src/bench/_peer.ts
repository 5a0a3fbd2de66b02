// How every `fer bench` runs its PyTorch peer (and, for --isa, our own child processes): the peer at its best,
// as PyTorch's CPU performance guide advises. On glibc malloc every large tensor is mapped and unmapped, and on
// these virtual machines the page faults make the peer 2-6x slower and erratic (shallow, 1 thread: 22-138 img/s
// in one hour); with Debian's libjemalloc2 preloaded and decay off it is steady within ~5%. One place, so
// `bench models`, `layers`, `accuracy` and `parity` cannot drift apart.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Debian's libjemalloc2 (apt install libjemalloc2). */
export const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
/** jemalloc with decay off: freed pages stay mapped for the next tensor of that size. */
export const JEMALLOC_CONF = 'dirty_decay_ms:-1,muzzy_decay_ms:-1';

export type PeerMalloc = 'jemalloc' | 'glibc';
export type BenchIsa = 'native' | 'avx2';

export const PEER_MALLOCS: readonly PeerMalloc[] = ['jemalloc', 'glibc'];
export const BENCH_ISAS: readonly BenchIsa[] = ['native', 'avx2'];

/**
 * The environment of the PyTorch peer: jemalloc preloaded (decay off) unless `malloc` is 'glibc' or Debian's
 * libjemalloc2 is not installed (`malloc` in the result says which one the peer got, `note` why not jemalloc),
 * plus {@link isaEnv} for `isa`.
 */
export function peerEnv(
  o: { malloc?: PeerMalloc; isa?: BenchIsa; base?: NodeJS.ProcessEnv; jemallocPath?: string } = {},
): { env: NodeJS.ProcessEnv; malloc: PeerMalloc; note?: string } {
  const base = { ...(o.base ?? process.env), ...isaEnv(o.isa ?? 'native', 'torch') };
  const path = o.jemallocPath ?? JEMALLOC;
  if ((o.malloc ?? 'jemalloc') === 'glibc') return { env: withoutPreload(base), malloc: 'glibc' };
  if (!existsSync(path)) return { env: withoutPreload(base), malloc: 'glibc', note: `${path} not found (apt install libjemalloc2); the peer runs on glibc malloc and is slower and erratic` };
  const preload = [path, ...(base['LD_PRELOAD'] ?? '').split(/[:\s]+/).filter((p) => p && p !== path)].join(':');
  return { env: { ...base, LD_PRELOAD: preload, MALLOC_CONF: JEMALLOC_CONF }, malloc: 'jemalloc' };
}

/**
 * Environment variables that restrict a side to an instruction set: `avx2` caps oneDNN (our addon and PyTorch's
 * convolutions: ONEDNN_MAX_CPU_ISA, and DNNL_MAX_CPU_ISA for older builds) and, for `torch`, ATen's own
 * vectorized kernels (ATEN_CPU_CAPABILITY). `native` adds nothing (each library picks the CPU's best).
 */
export function isaEnv(isa: BenchIsa, side: 'ours' | 'torch'): Record<string, string> {
  if (isa === 'native') return {};
  return { ONEDNN_MAX_CPU_ISA: 'AVX2', DNNL_MAX_CPU_ISA: 'AVX2', ...(side === 'torch' ? { ATEN_CPU_CAPABILITY: 'avx2' } : {}) };
}

/** Parses a --peer-malloc value. */
export function parsePeerMalloc(flag: string, v: string): PeerMalloc {
  if (!(PEER_MALLOCS as readonly string[]).includes(v)) throw new Error(`${flag}: got "${v}", expected ${PEER_MALLOCS.join(' or ')}.`);
  return v as PeerMalloc;
}

/** Parses an --isa value. */
export function parseIsa(flag: string, v: string): BenchIsa {
  if (!(BENCH_ISAS as readonly string[]).includes(v)) throw new Error(`${flag}: got "${v}", expected ${BENCH_ISAS.join(' or ')}.`);
  return v as BenchIsa;
}

/** The 1, 5 and 15 minute load averages, two decimals (printed in every timing line: the machine may be shared). */
export function loadNow(): number[] {
  return loadavg().map((v) => Math.round(v * 100) / 100);
}

/** Median, min and max of some numbers (the median of an even count is the mean of the middle two). */
export function spread(values: readonly number[]): { median: number; min: number; max: number; n: number } {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median), min: round(s[0]!), max: round(s[s.length - 1]!), n: s.length };
}

// --- Internal helpers ---

function withoutPreload(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e = { ...env };
  if (e['LD_PRELOAD']?.includes('jemalloc')) {
    e['LD_PRELOAD'] = e['LD_PRELOAD'].split(/[:\s]+/).filter((p) => p && !p.includes('jemalloc')).join(':');
    if (!e['LD_PRELOAD']) delete e['LD_PRELOAD'];
    delete e['MALLOC_CONF'];
  }
  return e;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
