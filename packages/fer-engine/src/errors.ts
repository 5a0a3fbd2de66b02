/**
 * Machine-readable error codes of @fer/engine. Branch on `code`, not `instanceof` (two copies of the package
 * may be installed side by side). The codes shared with the other @fer packages mean the same everywhere
 * (docs/architecture.md, "Error codes").
 */
export type FerEngineErrorCode =
  | 'E_BAD_OPTION' // an unknown option, or an option of the wrong type or range (workers, threads, native, seed, ...)
  | 'E_BAD_BATCH' // a training batch of the wrong size, shape or type
  | 'E_BAD_LABEL' // a label outside [0, numClasses)
  | 'E_BAD_LEARNING_RATE' // a learning rate that is not a finite number >= 0
  | 'E_BAD_OPTIMIZER' // an optimizer name or spec the data-parallel stepper does not know
  | 'E_BAD_OPTIMIZER_STATE' // optimizer state (resume) that does not fit the model
  | 'E_NON_FINITE_LOSS' // a NaN or infinite loss; the step was not applied
  | 'E_UNSUPPORTED_MODEL' // a model the data-parallel stepper cannot replicate
  | 'E_MODEL_MISMATCH' // the replicas' weights do not match the model
  | 'E_STEPPER_BROKEN' // an earlier failure left the replicas out of step
  | 'E_DISPOSED' // used after dispose()
  | 'E_WORKER_FAILED' // a worker thread failed (the message names it and the cause)
  | 'E_WORKER_LOADER' // the worker entry could not be loaded
  | 'E_UNKNOWN_BACKEND' // a backend name initBackend does not know
  | 'E_BACKEND_UNAVAILABLE' // the backend asked for cannot start here (the message says why)
  | 'E_NATIVE_UNAVAILABLE' // native: true, but the native kernels do not load here
  | 'E_NO_ADAPTER' // WebGPU: no adapter
  | 'E_SOFTWARE_ADAPTER' // WebGPU: only a software adapter, and allowSoftwareAdapter is not set
  | 'E_SYNC_READ' // WebGPU: dataSync() on a GPU tensor; use await tensor.data()
  | 'E_WASM_BACKEND_MISSING' // the training kernels need tfjs-backend-wasm registered first
  | 'E_WASM_KERNEL_MISSING' // a tfjs-backend-wasm kernel the training kernels build on is missing
  | 'E_WASM_KERNEL_ATTRS' // a WASM training kernel got attributes it does not support
  | 'E_WASM_KERNEL_SHAPE' // a WASM training kernel got a shape it does not support
  | 'E_WASM_DATA_FORMAT' // a data format (e.g. NCHW) the WASM kernels do not support
  | 'E_WASM_UNSUPPORTED'; // another case the WASM training kernels do not support

/**
 * The one error class of @fer/engine. The message says what was got, what was expected and how to fix it.
 * @example
 * try { await initBackend({ native: true }); } catch (e) { if ((e as FerEngineError).code === 'E_NATIVE_UNAVAILABLE') ... }
 */
export class FerEngineError extends Error {
  readonly code: FerEngineErrorCode;
  constructor(code: FerEngineErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-engine] ${message}`, options);
    this.name = 'FerEngineError';
    this.code = code;
  }
}
