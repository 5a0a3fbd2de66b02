// The training stepper of a job: @fer/engine's data-parallel worker threads when more than one is asked for,
// else undefined (@fer/models trains on this thread).
import { createDataParallelStepper } from '@fer/engine';
import type { StepperFactory } from '@fer/models';

/**
 * The data-parallel stepper of @fer/engine for `workers` > 1 worker threads (each on wasm, or cpu when the main
 * backend is cpu), else undefined.
 * @example
 * stepperFor(2, 'wasm') // createDataParallelStepper({ workers: 2, backend: 'wasm' })
 */
export function stepperFor(workers: number | undefined, backend: string): StepperFactory | undefined {
  if (!workers || workers <= 1) return undefined;
  return createDataParallelStepper({ workers, backend: backend === 'cpu' ? 'cpu' : 'wasm' });
}
