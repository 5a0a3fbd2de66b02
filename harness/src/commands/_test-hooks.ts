// The test hooks of the command line, in one place: tests that start `fer` as a process (to send it a real signal,
// or SIGKILL a worker mid-job) set these environment variables; the library functions take them as options
// (runTrain / reproduce `holdAfterSteps`, startQueueWorker `holdAfterEpoch`), and tests in-process pass those.

const positive = (v: string | undefined): number | undefined => {
  const n = Number(v ?? 0);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/** FER_REPRODUCE_TEST_HOLD_AFTER_STEPS=N: `fer train` / `pnpm reproduce` hold after N training steps until a stop arrives. */
export const testHoldAfterSteps = (): number | undefined => positive(process.env.FER_REPRODUCE_TEST_HOLD_AFTER_STEPS);

/** FER_QUEUE_TEST_HOLD_AFTER_EPOCH=N: a `fer worker`'s jobs hold after epoch N's checkpoint. */
export const testHoldAfterEpoch = (): number | undefined => positive(process.env.FER_QUEUE_TEST_HOLD_AFTER_EPOCH);

/** FER_QUEUE_TEST_HOLD_RELEASE_FILE=PATH: a job held by FER_QUEUE_TEST_HOLD_AFTER_EPOCH goes on once PATH exists. */
export const testHoldReleaseFile = (): string | undefined => process.env.FER_QUEUE_TEST_HOLD_RELEASE_FILE || undefined;
