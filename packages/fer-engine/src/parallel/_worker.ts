// Worker entry of the data-parallel stepper: one model replica on its own tfjs instance and backend.
// Built by tsup to dist/parallel-worker.js; from TypeScript sources it is loaded through tsx.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { FerEngineError } from '../errors.js';
import { registerNativeKernels, type NativeKernelsStatus } from '../native-kernels.js';
import { registerWasmTrainingKernels } from '../wasm-kernels.js';
import type { ReplicaInit, Reply, Request, SerializedError } from './_protocol.js';
import { Replica } from './_replica.js';

const init = workerData as ReplicaInit;
const port = parentPort!;
let replica: Replica | undefined;
let native: NativeKernelsStatus | undefined;

const ready = (async () => {
  // NOTE: PROD silences tfjs' console warnings (e.g. the cpu backend's "install tfjs-node" banner): libraries never print.
  tf.env().set('PROD', true);
  if (init.backend === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) {
      throw new FerEngineError('E_BACKEND_UNAVAILABLE', 'tf.setBackend("wasm") failed in the worker. Expected the @tensorflow/tfjs-backend-wasm binary to load; use backend: "cpu" instead.');
    }
    registerWasmTrainingKernels();
    if (init.native !== false) {
      native = registerNativeKernels({ threads: init.nativeThreads });
      if (init.native === true && !native.active) {
        throw new FerEngineError('E_NATIVE_UNAVAILABLE', `worker ${init.workerIndex}: got no native kernels: ${native.why}; expected them with native: true. Fix: build/install @fer/engine-native-linux-x64-gnu, or pass native: 'auto'.`);
      }
    }
  } else {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  replica = await Replica.create(init);
})();

ready.then(
  () => port.postMessage({ id: 0, ok: true, result: { backend: tf.getBackend(), native } } satisfies Reply),
  (e: unknown) => port.postMessage({ id: 0, ok: false, error: serialize(e) } satisfies Reply),
);

port.on('message', (msg: { id: number; req: Request }) => {
  void handle(msg.req).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result } satisfies Reply),
    (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: serialize(e) } satisfies Reply),
  );
});

async function handle(req: Request): Promise<unknown> {
  await ready;
  const r = replica!;
  switch (req.type) {
    case 'grad':
      return r.grad(req);
    case 'reduce':
      return r.reduce(req.lo, req.hi);
    case 'apply':
      return r.apply(req.learningRate);
    case 'readWeights':
      return r.readWeights();
    case 'getWeights':
      return r.getWeights();
    case 'getOptState':
      return r.getOptimizerState();
    case 'setOptState':
      return r.setOptimizerState(req.state);
    case 'memory':
      return r.memory();
    case 'dispose':
      r.dispose();
      return undefined;
  }
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    return { name: e.name, message: e.message, stack: e.stack, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(e) };
}
