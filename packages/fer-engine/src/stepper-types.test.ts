// The training-step contract is declared twice, on purpose: in @fer/engine (parallel/types.ts) and in
// @fer/models (stepper.ts), so neither library imports the other (docs/architecture.md). These type-level
// assertions fail `pnpm typecheck` (tsc checks test files) the moment the two copies diverge.
import type * as models from '@fer/models';
import { describe, expectTypeOf, it } from 'vitest';
import { createDataParallelStepper } from './index.js';
import type * as engine from './index.js';

describe('the stepper contract shared with @fer/models', () => {
  it('declares the same types in both packages', () => {
    expectTypeOf<engine.OptimizerSpec>().toEqualTypeOf<models.OptimizerSpec>();
    expectTypeOf<engine.TrainStepBatch>().toEqualTypeOf<models.TrainStepBatch>();
    expectTypeOf<engine.OptimizerStateEntry>().toEqualTypeOf<models.OptimizerStateEntry>();
    expectTypeOf<engine.TrainStepper>().toEqualTypeOf<models.TrainStepper>();
    expectTypeOf<engine.StepperFactory>().toEqualTypeOf<models.StepperFactory>();
  });

  it('lets train({ stepper }) of @fer/models take the data-parallel stepper', () => {
    expectTypeOf(createDataParallelStepper({ workers: 2 })).toMatchTypeOf<models.StepperFactory>();
    expectTypeOf(createDataParallelStepper).returns.toMatchTypeOf<NonNullable<models.TrainArgs['stepper']>>();
  });

  it('is a real check: a differing type fails it', () => {
    // @ts-expect-error -- a batch without `hog` is not the contract's batch
    expectTypeOf<Omit<engine.TrainStepBatch, 'hog'>>().toEqualTypeOf<models.TrainStepBatch>();
    // @ts-expect-error -- nor is one with another optimizer name
    expectTypeOf<engine.OptimizerSpec & { name: 'adamw' }>().toEqualTypeOf<models.OptimizerSpec>();
  });
});
