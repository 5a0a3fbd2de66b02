#!/usr/bin/python3
"""One model of ../shared/bench/torch_reference.py, measured by its own measure(), plus this process's peak RSS.

Used by `pnpm bench models` (harness/src/bench/models.ts): one process per model and thread count, so each
line's peak RSS is that model's alone: peak_rss_train_mb when the training steps end (measure() switches the
model to eval() for inference right after them), peak_rss_mb at the end. jemalloc_mapped says whether
jemalloc is in this process (the bench preloads it). Prints one JSON line.
"""
import argparse, importlib.util, json, resource

import torch

ap = argparse.ArgumentParser()
ap.add_argument('--script', required=True, help='path of shared/bench/torch_reference.py')
ap.add_argument('--model', required=True, choices=['shallow', 'deep'])
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--batch', type=int, default=128)
ap.add_argument('--steps', type=int, default=4)
a = ap.parse_args()

spec = importlib.util.spec_from_file_location('torch_reference', a.script)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = {'shallow': ref.shallow, 'deep': ref.deep}[a.model]()
rss_train = []
_eval = model.eval
def eval_after_training():  # measure() calls eval() once, after its training steps
    rss_train.append(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    return _eval()
model.eval = eval_after_training
line = ref.measure(a.model, model, a.batch, a.steps)
if rss_train: line['peak_rss_train_mb'] = rss_train[0]
with open('/proc/self/maps') as f: line['jemalloc_mapped'] = 'jemalloc' in f.read()
line['peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(line), flush=True)
