// Shared tsup factory: every published package builds ESM + .d.ts from the same options,
// so moving to another bundler touches this one file.
import { defineConfig, type Options } from 'tsup';

export function createTsupConfig(entry: Record<string, string> | string[] = ['src/index.ts'], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm'],
    dts: { compilerOptions: { customConditions: [] } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    treeshake: true,
    ...extra,
  });
}
