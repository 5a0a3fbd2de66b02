import { defineCommand } from 'citty';

export default defineCommand({
  meta: { name: 'train', description: '(not implemented yet)' },
  run() {
    throw new Error('fer train: not implemented yet');
  },
});
