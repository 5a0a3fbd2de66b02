// Shared per-project vitest settings: resolve workspace packages to their TypeScript
// sources (the "@fer/source" export condition), so tests need no build.
import { defineProject, mergeConfig, type UserWorkspaceConfig } from 'vitest/config';

export function ferProject(name: string, extra: UserWorkspaceConfig = {}) {
  return mergeConfig(
    defineProject({
      resolve: { conditions: ['@fer/source', 'module', 'node', 'import', 'default'] },
      ssr: { resolve: { conditions: ['@fer/source', 'module', 'node', 'import', 'default'] } },
      test: {
        name,
        environment: 'node',
        include: ['src/**/*.test.ts', 'experiments/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
      },
    }),
    extra,
  );
}
