import { defineCommand } from 'citty';

export default defineCommand({
  meta: { name: 'predict', description: '(not implemented yet)' },
  run() {
    throw new Error('fer predict: not implemented yet');
  },
});
