import { defineCommand } from 'citty';

export default defineCommand({
  meta: { name: 'data', description: 'Inspect FER data sets.' },
  subCommands: {
    stats: defineCommand({
      meta: { name: 'stats', description: 'Per split and class counts, duplicates.' },
      args: { data: { type: 'string', description: 'path to a FER2013 data set' }, json: { type: 'boolean' } },
      run() {
        throw new Error('fer data stats: not implemented yet');
      },
    }),
  },
});
