// Adapters over @fer/data and @fer/engine. Both were being written while the harness was; where
// an export has not landed, a harness stand-in (fallback.ts, the tfjs CPU backend) is used and
// recorded in `provenance`, which env.json and the report show.
import * as tf from '@tensorflow/tfjs';
import * as fallback from './fallback.js';
import type { StepperFactory } from './trainer.js';

/** The part of @fer/data's FerDataset the harness uses. */
export interface FerDatasetLike {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  readonly splits: Uint8Array;
  readonly classNames: readonly string[];
  readonly source: string;
  readonly synthetic: boolean;
  readonly skipped: number;
}

export interface BackendInfo {
  backend: string;
  reason: string;
  adapter?: unknown;
  gpu: boolean;
}

export interface Deps {
  loadDataset(path: string): Promise<FerDatasetLike>;
  makeSyntheticFer(): FerDatasetLike;
  splitIndices(ds: FerDatasetLike, split: string): Uint32Array;
  initBackend(backend: string): Promise<BackendInfo>;
  /** Data-parallel stepper over `workers` threads, or undefined when @fer/engine has none. */
  stepper(workers: number, backend: string): StepperFactory | undefined;
  /** @fer/engine's describeBackend() (versions, threads, adapter) for env.json, when available. */
  describeBackend(): unknown;
  provenance: Record<string, 'package' | 'harness fallback'>;
}

type AnyFn = (...args: any[]) => any;

async function tryImport(name: string): Promise<Record<string, unknown>> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Resolves every function the reproduction needs, from the packages where they exist.
 * @example
 * const deps = await loadDeps(); const ds = deps.makeSyntheticFer();
 */
export async function loadDeps(): Promise<Deps> {
  const data = await tryImport('@fer/data');
  const engine = await tryImport('@fer/engine');
  const provenance: Deps['provenance'] = {};
  const pick = <F extends AnyFn>(mod: Record<string, unknown>, pkg: string, name: string, fb: F): F => {
    const f = mod[name];
    provenance[`${pkg}.${name}`] = typeof f === 'function' ? 'package' : 'harness fallback';
    return (typeof f === 'function' ? f : fb) as F;
  };
  const loadDataset = pick(data, '@fer/data', 'loadDataset', async (path: string) => fallback.loadFer2013Csv(path));
  const makeSynthetic = pick(data, '@fer/data', 'makeSyntheticFer', fallback.makeSyntheticFer);
  const splitIndices = pick(data, '@fer/data', 'splitIndices', fallback.splitIndices);
  const initBackend = pick(engine, '@fer/engine', 'initBackend', fallbackInitBackend);
  const createDP = engine.createDataParallelStepper as AnyFn | undefined;
  provenance['@fer/engine.createDataParallelStepper'] = typeof createDP === 'function' ? 'package' : 'harness fallback';
  return {
    loadDataset: (path) => Promise.resolve(loadDataset(path)),
    makeSyntheticFer: () => makeSynthetic({ seed: 2017 }),
    splitIndices: (ds, split) => splitIndices(ds, split),
    async initBackend(backend) {
      const r = (await initBackend({ backend })) as { backend: string; reason: string; adapter?: unknown };
      const gpu = r.backend === 'webgpu' ? !isSoftwareAdapter(r.adapter) : r.backend === 'tensorflow' ? /gpu/i.test(r.reason ?? '') : false;
      return { ...r, gpu };
    },
    stepper(workers, backend) {
      if (typeof createDP !== 'function' || workers <= 1) return undefined;
      return createDP({ workers, backend }) as StepperFactory;
    },
    describeBackend: () => (typeof engine.describeBackend === 'function' ? (engine.describeBackend as AnyFn)() : null),
    provenance,
  };
}

function isSoftwareAdapter(adapter: unknown): boolean {
  const flag = (adapter as { isSoftware?: unknown } | undefined)?.isSoftware;
  if (typeof flag === 'boolean') return flag;
  const s = JSON.stringify(adapter ?? '').toLowerCase();
  return /swiftshader|llvmpipe|software|cpu/.test(s);
}

// Without @fer/engine: only the plain tfjs CPU backend can train (tfjs-backend-wasm lacks the
// gradient kernels that @fer/engine adds).
async function fallbackInitBackend(opts: { backend: string }): Promise<{ backend: string; reason: string }> {
  await tf.setBackend('cpu');
  await tf.ready();
  const reason = opts.backend === 'cpu' || opts.backend === 'auto'
    ? 'tfjs CPU backend (@fer/engine.initBackend not available yet)'
    : `asked for "${opts.backend}", but @fer/engine.initBackend is not available yet: using the tfjs CPU backend`;
  return { backend: 'cpu', reason };
}
