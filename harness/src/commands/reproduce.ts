import { defineCommand } from 'citty';

export default defineCommand({
  meta: { name: 'reproduce', description: '(not implemented yet)' },
  run() {
    throw new Error('fer reproduce: not implemented yet');
  },
});
