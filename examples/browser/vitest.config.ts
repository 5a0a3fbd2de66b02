import { ferProject } from '../../vitest.shared.ts';

// The page in a real headless Chromium (test/page.test.ts): builds it with Vite, serves dist/, drives Debian's
// chromium with playwright-core.
export default ferProject('example-browser', { test: { include: ['test/*.test.ts'] } });
