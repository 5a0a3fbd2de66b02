import { defineCommand } from 'citty';

export default defineCommand({
  meta: { name: 'sweep', description: '(not implemented yet)' },
  run() {
    throw new Error('fer sweep: not implemented yet');
  },
});
