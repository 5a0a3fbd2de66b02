import { createTsupConfig } from '../../tsup.config.base.ts';

// parallel-worker: the worker_threads entry of createDataParallelStepper (loaded as ./parallel-worker.js next to index.js).
export default createTsupConfig({ index: 'src/index.ts', 'parallel-worker': 'src/parallel/_worker.ts' });
