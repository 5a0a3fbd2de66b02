import { defineCommand } from 'citty';

export default defineCommand({
  meta: { name: 'evaluate', description: '(not implemented yet)' },
  run() {
    throw new Error('fer evaluate: not implemented yet');
  },
});
