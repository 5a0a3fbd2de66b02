import { ferProject } from '../vitest.shared.ts';

// The repository's own scripts: the README doc-test (doc-test/), `pnpm run setup`, the staleness check of `fer`.
export default ferProject('scripts', { test: { include: ['*.test.ts', 'doc-test/*.test.ts'] } });
