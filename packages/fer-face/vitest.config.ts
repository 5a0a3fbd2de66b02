import { ferProject } from '../../vitest.shared.ts';

export default ferProject('@fer/face');
