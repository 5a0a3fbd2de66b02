import { defineCommand } from 'citty';
import { runBench } from '../bench.js';

export default defineCommand({
  meta: { name: 'bench', description: 'Benchmarks as JSON lines, each beside its reference peer (PyTorch, pandas, scikit-image) measured in the same run. `pnpm bench` is an alias.' },
  args: {
    name: { type: 'positional', description: 'models | layers | data | hog | accuracy | parity | all (default models); its flags follow (e.g. fer bench models --backend native --steps 3)', required: false },
  },
  async run({ rawArgs }) {
    await runBench(rawArgs);
  },
});
