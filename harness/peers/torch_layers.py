#!/usr/bin/python3
"""Per-layer GFLOP per CPU-second of the paper networks' convolutions and dense layers in PyTorch.

For `pnpm bench layers` (harness/src/bench/layers.ts), which measures the same layers with @fer/engine.
Reads a JSON list of layers on stdin: {name, kind: 'conv'|'dense', B, H, W, Ci, Co, k} (conv, 'same'
padding, stride 1) or {name, kind: 'dense', M, K, N}; prints one JSON line per layer and operation
(forward, backward-input, backward-filter) with CPU seconds (time.process_time, all threads) per call.
"""
import argparse, json, sys, time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--reps', type=int, default=3)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def cpu_seconds(fn, reps):
    fn()
    t = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - t) / reps


for layer in json.load(sys.stdin):
    if layer['kind'] == 'conv':
        B, H, W, Ci, Co, k = (layer[x] for x in ('B', 'H', 'W', 'Ci', 'Co', 'k'))
        x = torch.randn(B, Ci, H, W, requires_grad=True)
        w = torch.randn(Co, Ci, k, k, requires_grad=True)
        flops = 2.0 * B * H * W * Co * Ci * k * k
        y = F.conv2d(x, w, padding=k // 2)
        dy = torch.randn_like(y)
        ops = {
            'forward': lambda: F.conv2d(x.detach(), w.detach(), padding=k // 2),
            'backward-input': lambda: torch.autograd.grad(F.conv2d(x, w.detach(), padding=k // 2), [x], dy),
            'backward-filter': lambda: torch.autograd.grad(F.conv2d(x.detach(), w, padding=k // 2), [w], dy),
        }
        # backward-* include a forward (autograd needs one); subtract it.
        fwd = cpu_seconds(ops['forward'], a.reps)
        for op, fn in ops.items():
            s = cpu_seconds(fn, a.reps)
            if op != 'forward':
                s = max(s - fwd, 1e-9)
            print(json.dumps({'layer': layer['name'], 'op': op, 'gflop': round(flops / 1e9, 3), 'cpu_s': round(s, 5), 'threads': a.threads}), flush=True)
    else:
        M, K, N = layer['M'], layer['K'], layer['N']
        x = torch.randn(M, K)
        w = torch.randn(K, N)
        dy = torch.randn(M, N)
        flops = 2.0 * M * K * N
        for op, fn in {'forward': lambda: x @ w, 'backward-input': lambda: dy @ w.t(), 'backward-filter': lambda: x.t() @ dy}.items():
            s = cpu_seconds(fn, a.reps)
            print(json.dumps({'layer': layer['name'], 'op': op, 'gflop': round(flops / 1e9, 3), 'cpu_s': round(s, 5), 'threads': a.threads}), flush=True)
