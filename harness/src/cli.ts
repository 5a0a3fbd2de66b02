#!/usr/bin/env node
// The `fer` command line. Each subcommand lives in its own file under ./commands/.
import { defineCommand, runMain } from 'citty';

const main = defineCommand({
  meta: { name: 'fer', description: 'Facial-expression recognition on TensorFlow.js: data, training, evaluation and the paper reproduction.' },
  subCommands: {
    data: () => import('./commands/data.js').then((m) => m.default),
    train: () => import('./commands/train.js').then((m) => m.default),
    sweep: () => import('./commands/sweep.js').then((m) => m.default),
    evaluate: () => import('./commands/evaluate.js').then((m) => m.default),
    predict: () => import('./commands/predict.js').then((m) => m.default),
    reproduce: () => import('./commands/reproduce.js').then((m) => m.default),
  },
});

runMain(main);
