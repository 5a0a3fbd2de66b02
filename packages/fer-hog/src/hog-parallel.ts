import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createHogEngine, type EngineGeometry } from './_engine.js';
import { describe } from './_options.js';
import type { HogOptions } from './_options.js';
import { checkBatch, engine } from './hog.js';
import { FerHogError } from './errors.js';

/** Options of {@link hogBatchParallel}: {@link HogBatchOptions} with a worker count. */
export interface HogBatchParallelOptions extends HogOptions {
  /** Number of images in `pixels`. */
  count: number;
  /** Width of every image in pixels. */
  width: number;
  /** Height of every image in pixels. */
  height: number;
  /**
   * Worker threads to spread the images over. Default: `availableParallelism() - 1` (at least 1).
   * `0` computes on the calling thread (still returning a Promise). Never more workers than images.
   */
  workers?: number;
}

/**
 * {@link hogBatch} spread over `node:worker_threads`: the images are cut into one contiguous range per
 * worker, each worker computes its range with the same kernel, and the results are joined in order, so
 * the output is bit-identical to `hogBatch`. Worth it for large sets (tens of thousands of faces);
 * each call starts and ends its own workers (tens of milliseconds).
 * @example
 * import { hogBatchParallel, PAPER_HOG_OPTIONS } from '@fer/hog';
 * const count = 1000, pixels = new Uint8Array(count * 48 * 48).map((_, i) => (i * 31) % 256);
 * const features = await hogBatchParallel(pixels, { count, width: 48, height: 48, ...PAPER_HOG_OPTIONS, workers: 2 });
 */
export async function hogBatchParallel(pixels: Uint8Array | Float32Array, opts: HogBatchParallelOptions): Promise<Float32Array> {
  const { data, isFloat, g, count } = checkBatch(pixels, opts, 'hogBatchParallel', true);
  const requested = (opts as { workers?: unknown }).workers;
  const workers = requested === undefined ? Math.max(1, availableParallelism() - 1) : requested;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 0 || workers > 1024) {
    throw new FerHogError('E_BAD_OPTION', `hogBatchParallel: workers must be an integer in 0..1024, got ${describe(workers)}. Use 0 for the calling thread.`);
  }
  const out = new Float32Array(count * g.length);
  if (workers === 0) {
    engine().run(data, isFloat, 0, count, g, out, 0);
    return out;
  }
  const n = Math.min(workers, count);
  const size = g.width * g.height;
  const jobs: Promise<void>[] = [];
  for (let w = 0, first = 0; w < n; w++) {
    const m = Math.floor(count / n) + (w < count % n ? 1 : 0);
    // A fresh copy, transferred to the worker. NOTE: not `data.slice`: a Node Buffer's slice is a view, and
    // transferring its memory would detach the caller's buffer.
    const chunk = isFloat ? new Float32Array(m * size) : new Uint8Array(m * size);
    chunk.set(data.subarray(first * size, (first + m) * size));
    const at = first * g.length;
    jobs.push(runWorker(chunk, isFloat, m, g).then((res) => out.set(res, at)));
    first += m;
  }
  await Promise.all(jobs);
  return out;
}

// --- Internal helpers ---

let workerSource: string | undefined;

// NOTE: the worker is built from createHogEngine's source text (it is self-contained), so the same code runs
// from TypeScript sources (vitest, tsx) and from the bundled dist, without a separate worker file or loader.
// `__name` is a no-op stand-in for the helper esbuild's keepNames (tsx) may insert into that text.
function source(): string {
  workerSource ??= [
    'var __name = function (f) { return f; };',
    "const { parentPort, workerData } = require('node:worker_threads');",
    `const engine = (${createHogEngine.toString()})();`,
    'const { src, isFloat, count, g } = workerData;',
    'const out = new Float32Array(count * g.length);',
    'engine.run(src, isFloat, 0, count, g, out, 0);',
    'parentPort.postMessage(out, [out.buffer]);',
  ].join('\n');
  return workerSource;
}

function runWorker(src: Uint8Array | Float32Array, isFloat: boolean, count: number, g: EngineGeometry): Promise<Float32Array> {
  return new Promise((resolvePromise, reject) => {
    let done = false;
    const fail = (why: string, cause?: unknown) => {
      if (done) return;
      done = true;
      reject(new FerHogError('E_WORKER_FAILED', `hogBatchParallel: a worker thread failed (${why}). Retry with workers: 0 to compute on the calling thread.`, { cause }));
    };
    let worker: Worker;
    try {
      worker = new Worker(source(), { eval: true, workerData: { src, isFloat, count, g: { ...g } }, transferList: [src.buffer as ArrayBuffer] });
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e), e);
      return;
    }
    worker.once('message', (res: Float32Array) => {
      if (done) return;
      done = true;
      resolvePromise(res);
    });
    worker.once('error', (e) => fail(e instanceof Error ? e.message : String(e), e));
    worker.once('exit', (code) => fail(`exited with code ${code} before answering`));
  });
}
