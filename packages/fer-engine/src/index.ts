export { FerEngineError } from './errors.js';
export type { FerEngineErrorCode } from './errors.js';
export { initBackend, describeBackend, disposeBackend } from './backend.js';
export type { BackendChoice, InitBackendOptions, BackendInfo, BackendDescription, AdapterReport } from './backend.js';
export { registerWasmTrainingKernels } from './wasm-kernels.js';
