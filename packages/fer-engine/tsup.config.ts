import { createTsupConfig } from '../../tsup.config.base.ts';

// browser: the browser entry (the default export condition; Node gets index through the `node` condition).
// parallel-worker: the worker_threads entry of createDataParallelStepper (loaded as ./parallel-worker.js next to index.js).
export default createTsupConfig({ index: 'src/index.ts', browser: 'src/browser.ts', 'parallel-worker': 'src/parallel/_worker.ts' });
