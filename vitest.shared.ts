// Shared per-project vitest settings: resolve workspace packages to their TypeScript
// sources (the "@fer/source" export condition), so tests need no build.
import { defineProject, mergeConfig, type UserWorkspaceConfig } from 'vitest/config';

/** The WebGPU test files (see scripts/test.mjs): FER_TEST_GPU=skip leaves them out of a run. */
const GPU_TEST_FILES = ['src/webgpu.test.ts', 'src/backend.test.ts'];

export function ferProject(name: string, extra: UserWorkspaceConfig = {}) {
  return mergeConfig(
    defineProject({
      resolve: { conditions: ['@fer/source', 'module', 'node', 'import', 'default'] },
      ssr: { resolve: { conditions: ['@fer/source', 'module', 'node', 'import', 'default'] } },
      test: {
        name,
        environment: 'node',
        include: ['src/**/*.test.ts', 'experiments/**/*.test.ts'],
        exclude: ['**/node_modules/**', '**/dist/**', ...(process.env.FER_TEST_GPU === 'skip' && name === '@fer/engine' ? GPU_TEST_FILES : [])],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
      },
    }),
    extra,
  );
}
