export { FerEngineError } from './errors.js';
export type { FerEngineErrorCode } from './errors.js';
export { initBackend, describeBackend, disposeBackend } from './backend.js';
export type { BackendChoice, InitBackendOptions, BackendInfo, BackendDescription, AdapterReport } from './backend.js';
export { registerWasmTrainingKernels } from './wasm-kernels.js';
export { createDataParallelStepper } from './parallel/data-parallel.js';
export type { DataParallelOptions, DataParallelStepper, StepTimings } from './parallel/data-parallel.js';
export type { OptimizerSpec, OptimizerStateEntry, StepperFactory, TrainStepBatch, TrainStepper } from './parallel/types.js';
