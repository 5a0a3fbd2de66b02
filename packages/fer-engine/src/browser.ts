// The browser entry of @fer/engine (the package's default export condition; Node resolves the `node` condition,
// index.ts). Free of Node built-ins: initBackend for a page (WebGPU, then WebGL, then WASM), the WASM training
// kernels, and the error class. Node-only, so not here: the native kernels (registerNativeKernels,
// describeNativeKernels: a Node addon) and createDataParallelStepper (worker_threads).
export { FerEngineError } from './errors.js';
export type { FerEngineErrorCode } from './errors.js';
export { initBackend, describeBackend, disposeBackend } from './browser-backend.js';
export type { BackendChoice, InitBackendOptions, BackendInfo, BackendDescription, AdapterReport } from './browser-backend.js';
export { registerWasmTrainingKernels } from './wasm-kernels.js';
