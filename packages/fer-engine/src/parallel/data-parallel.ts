// Data-parallel training over worker_threads: one model replica per worker, gradients averaged
// through SharedArrayBuffers every step, so all replicas keep identical weights.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { FerEngineError, type FerEngineErrorCode } from '../errors.js';
import type { NativeKernelsStatus } from '../native-kernels.js';
import type { ReplicaInit, ReplicaMemory, Reply, Request, SerializedError, GradResult, WeightSpec } from './_protocol.js';
import type { OptimizerSpec, OptimizerStateEntry, StepperFactory, TrainStepBatch, TrainStepper } from './types.js';

/** Name of the optimizer-state entry that carries the step counter (dropout seeds). */
const STEP_STATE = '__dataParallelStep';

/** Options of {@link createDataParallelStepper}. */
export interface DataParallelOptions {
  /** Number of worker threads (replicas). Default: `os.availableParallelism()`. */
  workers?: number;
  /** tfjs backend inside each worker. Default `'wasm'` (with the WASM training kernels registered). */
  backend?: 'wasm' | 'cpu';
  /**
   * wasm only: the native CPU kernels in each worker (see `registerNativeKernels`). Default `'auto'`: used when
   * they load; `true`: a worker whose native kernels do not load fails the start with E_NATIVE_UNAVAILABLE.
   */
  native?: boolean | 'auto';
  /** Native threads per worker; default `max(1, floor(cores / workers))`, so workers never oversubscribe. */
  threads?: number;
}

/**
 * The stepper returned by a data-parallel factory: a {@link TrainStepper} plus introspection.
 * @experimental `replicaWeights` and `memory` are for tests and benchmarks.
 */
export interface DataParallelStepper extends TrainStepper {
  /** Number of replicas (worker threads). */
  readonly workers: number;
  /** All weights of replica `index` (`model.weights` order), copied. */
  replicaWeights(index: number): Promise<Float32Array[]>;
  /** `tf.memory()` (and wasm heap size) of every replica. */
  memory(): Promise<ReplicaMemory[]>;
  /** Each worker's native kernels (wasm): active, threads, oneDNN, or why not; undefined for cpu workers. */
  readonly nativeKernels: (NativeKernelsStatus | undefined)[];
  /** Where the last step's time went (ms): slowest worker's forward+backward and gradient copy, reduce, apply, total. */
  readonly lastStepTimings: StepTimings | undefined;
}

/** @experimental Time breakdown of one data-parallel step, in milliseconds. */
export interface StepTimings {
  compute: number;
  copy: number;
  reduce: number;
  apply: number;
  total: number;
}

/**
 * Data-parallel training over `worker_threads`. Each worker holds a replica of the model (rebuilt
 * from `model.toJSON()` with the model's current weights) on its own tfjs backend and its own
 * optimizer. A step splits the batch into contiguous shards, each worker computes the loss and
 * gradients of its shard, the gradients are summed weighted by shard size (through a
 * SharedArrayBuffer), and every worker applies the same averaged gradient, so replicas stay identical.
 * Batch-norm statistics are per shard (PyTorch DDP without SyncBN). Dropout masks are seeded by
 * `(seed, worker, step)`, so a run is deterministic for a seed and a worker count.
 *
 * @example
 * const factory = createDataParallelStepper({ workers: 2, backend: 'wasm' });
 * const stepper = await factory({ model, optimizer: { name: 'adam', learningRate: 1e-3 }, seed: 1 });
 * const { loss, accuracy } = await stepper.step({ x, y, size: 128 }, 1e-3);
 * await stepper.syncToModel();   // main-thread model now holds the trained weights
 * await stepper.dispose();       // terminates the workers
 */
export function createDataParallelStepper(options: DataParallelOptions = {}): StepperFactory {
  const workers = options.workers ?? availableParallelism();
  const backend = options.backend ?? 'wasm';
  if (!Number.isInteger(workers) || workers < 1) {
    throw new FerEngineError('E_BAD_OPTION', `workers is ${workers}. Expected an integer >= 1. Omit it to use os.availableParallelism().`);
  }
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new FerEngineError('E_BAD_OPTION', `backend is ${JSON.stringify(backend)}. Expected "wasm" or "cpu".`);
  }
  return async ({ model, optimizer, seed, labelSmoothing = 0 }) => {
    validateOptimizer(optimizer);
    if (!Number.isFinite(seed)) throw new FerEngineError('E_BAD_OPTION', `seed is ${seed}. Expected a finite number.`);
    if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
      throw new FerEngineError('E_BAD_OPTION', `labelSmoothing is ${labelSmoothing}. Expected a number in [0, 1), e.g. 0.1.`);
    }
    const native = options.native ?? 'auto';
    const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers));
    if (!Number.isInteger(threads) || threads < 1) throw new FerEngineError('E_BAD_OPTION', `threads is ${threads}. Expected an integer >= 1, or omit it.`);
    return DataParallel.start(model, optimizer, seed, labelSmoothing, workers, backend, { native, threads });
  };
}

// --- Internal helpers ---

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  op: string;
}

/** One worker and its request/reply bookkeeping. */
class ReplicaHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  failure: FerEngineError | undefined;
  closing = false;
  readonly ready: Promise<unknown>;

  constructor(
    readonly index: number,
    readonly total: number,
    readonly worker: Worker,
    onFailure: (e: FerEngineError) => void,
  ) {
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject, op: 'init' }));
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      this.updateRef();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(this.wrap(p.op, reply.error));
    });
    const fail = (why: SerializedError) => {
      if (this.closing) return;
      const err = this.wrap('run', why, 'E_WORKER_FAILED');
      this.failure ??= err;
      for (const [, p] of this.pending) p.reject(this.wrap(p.op, why, 'E_WORKER_FAILED'));
      this.pending.clear();
      onFailure(err);
    };
    worker.on('error', (e) => fail({ name: e.name, message: e.message, stack: e.stack }));
    worker.on('exit', (code) => {
      if (this.pending.size > 0 || code !== 0) fail({ name: 'Error', message: `worker exited with code ${code}` });
    });
  }

  call<T>(req: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op: req.type });
      this.updateRef();
      this.worker.postMessage({ id, req }, transfer);
    });
  }

  // NOTE: idle workers are unref'd so that a forgotten dispose() does not keep the process alive.
  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private wrap(op: string, e: SerializedError, code?: FerEngineErrorCode): FerEngineError {
    const cause = Object.assign(new Error(e.message), { name: e.name, stack: e.stack, code: e.code });
    // A FerEngineError thrown in the worker keeps its code; anything else (tfjs, Node) is E_WORKER_FAILED.
    const workerCode = e.name === 'FerEngineError' && e.code ? (e.code as FerEngineErrorCode) : undefined;
    return new FerEngineError(
      code ?? workerCode ?? 'E_WORKER_FAILED',
      `Worker ${this.index} of ${this.total} failed during "${op}": ${e.message.replace(/^\[fer-engine\] /, '')}`,
      { cause },
    );
  }
}

class DataParallel implements DataParallelStepper {
  nativeKernels: (NativeKernelsStatus | undefined)[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private steps = 0;
  private broken: FerEngineError | undefined;
  private disposed = false;
  lastStepTimings: StepTimings | undefined;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly handles: ReplicaHandle[],
    private readonly init: Omit<ReplicaInit, 'workerIndex'>,
    private readonly inputSizes: { x: number; hog: number },
  ) {}

  get workers(): number {
    return this.handles.length;
  }

  static async start(
    model: tf.LayersModel, optimizer: OptimizerSpec, seed: number, labelSmoothing: number, workers: number, backend: 'wasm' | 'cpu',
    cpu: { native: boolean | 'auto'; threads: number },
  ): Promise<DataParallel> {
    const { inputFields, inputSizes, numClasses } = describeModel(model);
    const weights = model.weights;
    const weightSpecs: WeightSpec[] = [];
    let offset = 0;
    for (const w of weights) {
      const size = w.shape.reduce<number>((a, d) => a * (d ?? 1), 1);
      weightSpecs.push({ name: w.originalName, shape: w.shape as number[], offset, size });
      offset += size;
    }
    const numTrainable = model.trainableWeights.length;
    const gradSize = weightSpecs.slice(0, numTrainable).reduce((a, s) => a + s.size, 0);
    const weightsSab = new SharedArrayBuffer(offset * 4);
    const packed = new Float32Array(weightsSab);
    for (let i = 0; i < weights.length; i++) packed.set(await weights[i].read().data(), weightSpecs[i].offset);
    const init: Omit<ReplicaInit, 'workerIndex'> = {
      numWorkers: workers,
      backend,
      native: cpu.native,
      nativeThreads: cpu.threads,
      modelTopology: model.toJSON(null, false),
      weightSpecs,
      numTrainable,
      gradSize,
      weights: weightsSab,
      grads: new SharedArrayBuffer(workers * gradSize * 4),
      inputFields,
      numClasses,
      labelSmoothing,
      optimizer: { ...optimizer },
      seed,
    };
    const entry = workerEntry();
    const box: { stepper?: DataParallel } = {};
    const handles: ReplicaHandle[] = [];
    for (let k = 0; k < workers; k++) {
      const worker = new Worker(entry, { workerData: { ...init, workerIndex: k } satisfies ReplicaInit });
      handles.push(new ReplicaHandle(k, workers, worker, (e) => box.stepper?.markBroken(e)));
    }
    const started = await Promise.allSettled(handles.map((h) => h.ready));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      for (const h of handles) h.closing = true;
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw failed.reason;
    }
    box.stepper = new DataParallel(model, handles, init, inputSizes);
    box.stepper.nativeKernels = started.map((s) => (s.status === 'fulfilled' ? (s.value as { native?: NativeKernelsStatus }).native : undefined));
    return box.stepper;
  }

  markBroken(e: FerEngineError): void {
    this.broken ??= e;
  }

  step(batch: TrainStepBatch, learningRate: number): Promise<{ loss: number; accuracy: number }> {
    // NOTE: validate and copy the shards now, so the caller may reuse the batch buffers at once.
    let shards: Extract<Request, { type: 'grad' }>[];
    try {
      this.validateBatch(batch, learningRate);
      shards = this.shard(batch);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(async () => {
      const W = this.handles.length;
      const B = batch.size;
      const t0 = performance.now();
      const step = ++this.steps;
      const results = await Promise.all(
        this.handles.map((h, k) => {
          const req = { ...shards[k], step };
          const transfer = [req.x.buffer, req.y.buffer, ...(req.hog ? [req.hog.buffer] : []), ...(req.w ? [req.w.buffer] : [])] as ArrayBuffer[];
          return h.call<GradResult>(req, transfer);
        }),
      );
      // NOTE: from here on a failure would leave replicas out of step; the stepper is then unusable.
      const t1 = performance.now();
      let t2 = t1;
      try {
        if (W > 1) {
          const P = this.init.gradSize;
          await Promise.all(this.handles.map((h, k) => h.call({ type: 'reduce', lo: Math.floor((k * P) / W), hi: Math.floor(((k + 1) * P) / W) })));
        }
        t2 = performance.now();
        await Promise.all(this.handles.map((h) => h.call({ type: 'apply', learningRate })));
      } catch (e) {
        this.markBroken(e as FerEngineError);
        throw e;
      }
      let loss = 0;
      let correct = 0;
      for (const r of results) {
        loss += r.loss;
        correct += r.correct;
      }
      const t3 = performance.now();
      this.lastStepTimings = {
        compute: Math.max(...results.map((r) => r.computeMs)),
        copy: Math.max(...results.map((r) => r.copyMs)),
        reduce: t2 - t1,
        apply: t3 - t2,
        total: t3 - t0,
      };
      return { loss, accuracy: correct / B };
    });
  }

  syncToModel(): Promise<void> {
    return this.enqueue(async () => {
      await this.handles[0].call({ type: 'readWeights' });
      const packed = new Float32Array(this.init.weights);
      const values = this.init.weightSpecs.map((s) => tf.tensor(packed.slice(s.offset, s.offset + s.size), s.shape));
      try {
        this.model.setWeights(values);
      } finally {
        tf.dispose(values);
      }
    });
  }

  getOptimizerState(): Promise<OptimizerStateEntry[]> {
    // NOTE: the step counter seeds the dropout masks of (seed, worker, step); saving it with the optimizer
    // state makes a run resumed from a checkpoint draw the same masks as an uninterrupted one.
    return this.enqueue(async () => [
      ...(await this.handles[0].call<OptimizerStateEntry[]>({ type: 'getOptState' })),
      { name: STEP_STATE, data: Float32Array.of(this.steps), shape: [] },
    ]);
  }

  setOptimizerState(state: OptimizerStateEntry[]): Promise<void> {
    return this.enqueue(async () => {
      if (!Array.isArray(state) || state.some((s) => !(s?.data instanceof Float32Array) || !Array.isArray(s.shape) || s.data.length !== s.shape.reduce((a, d) => a * d, 1))) {
        throw new FerEngineError('E_BAD_OPTIMIZER_STATE', 'Optimizer state is not an array of { name, data: Float32Array, shape } with data.length = product(shape). Pass what getOptimizerState() returned.');
      }
      const step = state.find((s) => s.name === STEP_STATE);
      const optimizerState = state.filter((s) => s.name !== STEP_STATE);
      try {
        await Promise.all(this.handles.map((h) => h.call({ type: 'setOptState', state: optimizerState })));
        if (step) this.steps = step.data[0];
      } catch (e) {
        this.markBroken(e as FerEngineError);
        throw e;
      }
    });
  }

  replicaWeights(index: number): Promise<Float32Array[]> {
    return this.enqueue(() => {
      const h = this.handles[index];
      if (!h) throw new FerEngineError('E_BAD_OPTION', `Replica index ${index} is out of range. Expected 0..${this.handles.length - 1}.`);
      return h.call<Float32Array[]>({ type: 'getWeights' });
    });
  }

  memory(): Promise<ReplicaMemory[]> {
    return this.enqueue(() => Promise.all(this.handles.map((h) => h.call<ReplicaMemory>({ type: 'memory' }))));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => {});
    await Promise.all(
      this.handles.map(async (h) => {
        if (!h.failure) await h.call({ type: 'dispose' }).catch(() => {});
        h.closing = true;
        await h.worker.terminate();
      }),
    );
  }

  private enqueue<T>(op: () => Promise<T> | T): Promise<T> {
    if (this.disposed) return Promise.reject(new FerEngineError('E_DISPOSED', 'The data-parallel stepper was disposed. Create a new one with the factory.'));
    const run = this.queue.then(() => {
      if (this.broken) {
        throw new FerEngineError('E_STEPPER_BROKEN', `The data-parallel stepper is unusable after an earlier failure (${this.broken.message}). Dispose it and create a new one.`, { cause: this.broken });
      }
      return op();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** Contiguous shards, sizes as equal as possible (the first `B % W` get one more; some may be empty). */
  private shard(batch: TrainStepBatch): Extract<Request, { type: 'grad' }>[] {
    const W = this.handles.length;
    const B = batch.size;
    const base = Math.floor(B / W);
    const rem = B % W;
    const { x: px, hog: ph } = this.inputSizes;
    const out: Extract<Request, { type: 'grad' }>[] = [];
    for (let k = 0, lo = 0; k < W; k++) {
      const n = base + (k < rem ? 1 : 0);
      out.push({
        type: 'grad',
        step: 0,
        batchSize: B,
        n,
        x: batch.x.slice(lo * px, (lo + n) * px),
        y: batch.y.slice(lo, lo + n),
        hog: batch.hog && ph > 0 ? batch.hog.slice(lo * ph, (lo + n) * ph) : undefined,
        w: batch.sampleWeights ? batch.sampleWeights.slice(lo, lo + n) : undefined,
      });
      lo += n;
    }
    return out;
  }

  private validateBatch(batch: TrainStepBatch, learningRate: number): void {
    const { size, x, y, hog, sampleWeights } = batch;
    const { x: px, hog: ph } = this.inputSizes;
    if (!Number.isFinite(learningRate) || learningRate < 0) {
      throw new FerEngineError('E_BAD_LEARNING_RATE', `learningRate is ${learningRate}. Expected a finite number >= 0.`);
    }
    if (!Number.isInteger(size) || size < 1) throw new FerEngineError('E_BAD_BATCH', `batch.size is ${size}. Expected an integer >= 1.`);
    if (!(x instanceof Float32Array) || x.length < size * px) {
      throw new FerEngineError('E_BAD_BATCH', `batch.x has ${x?.length} floats. Expected a Float32Array of at least size * ${px} = ${size * px} (input shape of the model).`);
    }
    if (!(y instanceof Uint8Array) || y.length < size) throw new FerEngineError('E_BAD_BATCH', `batch.y has ${y?.length} labels. Expected a Uint8Array of at least batch.size = ${size}.`);
    for (let i = 0; i < size; i++) {
      if (y[i] >= this.init.numClasses) {
        throw new FerEngineError('E_BAD_LABEL', `batch.y[${i}] is ${y[i]}. Expected a class index 0..${this.init.numClasses - 1}. Drop unlabeled rows (255) before training.`);
      }
    }
    if (ph > 0 && (!(hog instanceof Float32Array) || hog.length < size * ph)) {
      throw new FerEngineError('E_BAD_BATCH', `batch.hog has ${hog?.length ?? 'no'} floats. Expected a Float32Array of at least size * ${ph} = ${size * ph} for the model's "hog" input.`);
    }
    if (sampleWeights !== undefined && (!(sampleWeights instanceof Float32Array) || sampleWeights.length < size)) {
      throw new FerEngineError('E_BAD_BATCH', `batch.sampleWeights has ${sampleWeights?.length} values. Expected a Float32Array of at least batch.size = ${size}.`);
    }
  }
}

function describeModel(model: tf.LayersModel): { inputFields: ('x' | 'hog')[]; inputSizes: { x: number; hog: number }; numClasses: number } {
  if (model.outputs.length !== 1 || model.outputs[0].shape.length !== 2) {
    throw new FerEngineError('E_UNSUPPORTED_MODEL', `Model has ${model.outputs.length} output(s) of shape ${model.outputs.map((o) => `[${o.shape}]`).join(', ')}. Expected one softmax output [null, numClasses].`);
  }
  const numClasses = model.outputs[0].shape[1] as number;
  const perSample = (i: number) => model.inputs[i].shape.slice(1).reduce<number>((a, d) => a * (d ?? NaN), 1);
  let inputFields: ('x' | 'hog')[];
  if (model.inputs.length === 1) inputFields = ['x'];
  else if (model.inputs.length === 2) {
    const hogAt = model.inputNames.findIndex((n) => /hog/i.test(n));
    if (hogAt < 0) throw new FerEngineError('E_UNSUPPORTED_MODEL', `Model inputs are ${JSON.stringify(model.inputNames)}. Expected "image" and "hog" for a two-input (hybrid) model.`);
    inputFields = hogAt === 0 ? ['hog', 'x'] : ['x', 'hog'];
  } else {
    throw new FerEngineError('E_UNSUPPORTED_MODEL', `Model has ${model.inputs.length} inputs. Expected 1 (image) or 2 (image and hog).`);
  }
  const inputSizes = { x: 0, hog: 0 };
  inputFields.forEach((f, i) => (inputSizes[f] = perSample(i)));
  if (!Number.isFinite(inputSizes.x) || !Number.isFinite(inputSizes.hog)) {
    throw new FerEngineError('E_UNSUPPORTED_MODEL', `Model input shapes ${model.inputs.map((t) => `[${t.shape}]`).join(', ')} have unknown dimensions. Expected fully defined shapes like [null, 48, 48, 1].`);
  }
  return { inputFields, inputSizes, numClasses };
}

function validateOptimizer(spec: OptimizerSpec): void {
  if (!spec || !['adam', 'sgd', 'rmsprop'].includes(spec.name)) {
    throw new FerEngineError('E_BAD_OPTIMIZER', `optimizer.name is ${JSON.stringify(spec?.name)}. Expected "adam", "sgd" or "rmsprop".`);
  }
  if (!Number.isFinite(spec.learningRate) || spec.learningRate < 0) {
    throw new FerEngineError('E_BAD_OPTIMIZER', `optimizer.learningRate is ${spec.learningRate}. Expected a finite number >= 0.`);
  }
}

/** The worker entry: dist/parallel-worker.js when built, else _worker.ts through tsx. */
function workerEntry(): URL {
  const here = import.meta.url;
  if (!/\.[cm]?ts$/.test(here)) return new URL('./parallel-worker.js', here);
  let tsxApi: string;
  try {
    const tsxDir = dirname(createRequire(here).resolve('tsx/package.json'));
    tsxApi = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  } catch (e) {
    throw new FerEngineError('E_WORKER_LOADER', 'Running @fer/engine from its TypeScript sources needs tsx to load the worker, and it was not found. Install tsx (pnpm add -D tsx) or use the built package.', { cause: e });
  }
  const target = new URL('./_worker.ts', here).href;
  const code = `import { register } from ${JSON.stringify(tsxApi)};\nregister();\nawait import(${JSON.stringify(target)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
