import { ferProject } from '../../vitest.shared.ts';

export default ferProject('doc-test', { test: { include: ['*.test.ts'] } });
