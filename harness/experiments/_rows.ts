// The two networks of the paper, shared by several experiments: identical rows hash to the same
// training job, so one deep model feeds tables 1, 2, 4, 5, 6, 7 and 8. Their schedule (30 / 35 epochs,
// batch 128, ...) is the model's recipe and the reported numbers its `paper.reported`, both in @fer/models.
import { paperDeep, paperShallow } from '@fer/models';
import { reportedNumbers, type RowSpec } from '../src/job/spec.js';

/** Per-expression test accuracy the paper reports (Table 2), by class name. */
export const PER_CLASS = {
  shallow: reportedNumbers(paperShallow, Object.keys(paperShallow.paper.reported?.perClass ?? {})),
  deep: reportedNumbers(paperDeep, Object.keys(paperDeep.paper.reported?.perClass ?? {})),
};

/** Alizadeh & Fazel 2017's shallow net; `keys` picks the reported numbers the experiment compares with. */
export function shallowRow(keys: readonly string[] = []): RowSpec {
  return { row: 'shallow', label: 'Shallow CNN', model: { name: 'paper-shallow', config: {} }, paper: reportedNumbers(paperShallow, keys) };
}
export function deepRow(keys: readonly string[] = []): RowSpec {
  return { row: 'deep', label: 'Deep CNN', model: { name: 'paper-deep', config: {} }, paper: reportedNumbers(paperDeep, keys) };
}
