#!/usr/bin/python3
"""PyTorch peer of `pnpm bench parity` (harness/src/bench/parity.ts): replays our training steps in PyTorch.

Reads the directory the bench wrote: meta.json (recipe, our per-step losses), x.f32 (normalized batches,
NHWC float32), y.u8 (labels), init/ and final/ (our weights: manifest.json + raw little-endian float32
per weight, tfjs layouts) and grad0/ (our gradients of batch 0 at the initial weights). Builds paper-shallow
in PyTorch (conv3x3 same -> BN(eps 1e-3) -> ReLU, conv3x3 -> BN -> ReLU -> maxpool 2, flatten in NHWC order
as tfjs does, Linear -> ReLU, Linear), loads the initial weights (conv HWIO -> OIHW, dense [in,out] ->
[out,in]), and runs the same steps: loss = cross_entropy(logits) + l2 * sum(w^2) over the kernels tfjs
regularizes (Keras L2), Adam(lr, eps) without weight_decay, or SGD with momentum (meta optimizer 'sgd'). With
meta convDropout/denseDropout > 0 (`--full`) the network has the paper's dropout, seeded with meta seed
(masks differ from ours, so only the loss curves compare). Prints one JSON line: per-step losses, the
step-0 forward loss, and per-weight max relative differences of the step-0 gradients and the final weights.

  /usr/bin/python3 harness/peers/parity.py /tmp/fer-parity-XXXX
"""
import json, os, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

d = sys.argv[1]
meta = json.load(open(os.path.join(d, 'meta.json')))
torch.set_num_threads(int(os.environ.get('PARITY_THREADS', '1'))); torch.manual_seed(meta.get('seed', 0))
B, steps = meta['batch'], meta['steps']
cdrop, ddrop = meta.get('convDropout', 0), meta.get('denseDropout', 0)
x = np.fromfile(os.path.join(d, 'x.f32'), dtype='<f4').reshape(-1, 48, 48, 1)
y = np.fromfile(os.path.join(d, 'y.u8'), dtype=np.uint8).astype(np.int64)
f1, f2 = meta['filters']; units = meta['denseUnits']
mom = 1 - 0.9  # Keras momentum 0.9 (the paper-shallow default) = PyTorch 0.1


def load(sub):
    man = json.load(open(os.path.join(d, sub, 'manifest.json')))
    ws = man['weights'] if isinstance(man, dict) else man
    return {w['name']: np.fromfile(os.path.join(d, sub, w['file']), dtype='<f4').reshape(w['shape']) for w in ws}


class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv1 = nn.Conv2d(1, f1, 3, padding=1); s.bn1 = nn.BatchNorm2d(f1, eps=1e-3, momentum=mom)
        s.conv2 = nn.Conv2d(f1, f2, 3, padding=1); s.bn2 = nn.BatchNorm2d(f2, eps=1e-3, momentum=mom)
        s.fc1 = nn.Linear(f2 * 24 * 24, units); s.out = nn.Linear(units, 7)

    def forward(s, x):
        # paper-shallow as @fer/models builds it: conv-BN-ReLU-[dropout], conv-BN-ReLU-pool-[dropout], FC-ReLU-[dropout]
        x = F.dropout(F.relu(s.bn1(s.conv1(x))), cdrop, s.training)
        x = F.dropout(F.max_pool2d(F.relu(s.bn2(s.conv2(x))), 2), cdrop, s.training)
        x = x.permute(0, 2, 3, 1).flatten(1)  # tfjs flattens NHWC as (h, w, c)
        return s.out(F.dropout(F.relu(s.fc1(x)), ddrop, s.training))


net = Net()
# tfjs weight name -> (torch tensor, tfjs -> torch layout, torch -> tfjs layout)
conv = (lambda a: a.transpose(3, 2, 0, 1), lambda a: a.transpose(2, 3, 1, 0))
dense = (lambda a: a.T, lambda a: a.T)
ident = (lambda a: a, lambda a: a)
MAP = {
    'block1_conv/kernel': (net.conv1.weight, *conv), 'block1_conv/bias': (net.conv1.bias, *ident),
    'block1_bn/gamma': (net.bn1.weight, *ident), 'block1_bn/beta': (net.bn1.bias, *ident),
    'block1_bn/moving_mean': (net.bn1.running_mean, *ident), 'block1_bn/moving_variance': (net.bn1.running_var, *ident),
    'block2_conv/kernel': (net.conv2.weight, *conv), 'block2_conv/bias': (net.conv2.bias, *ident),
    'block2_bn/gamma': (net.bn2.weight, *ident), 'block2_bn/beta': (net.bn2.bias, *ident),
    'block2_bn/moving_mean': (net.bn2.running_mean, *ident), 'block2_bn/moving_variance': (net.bn2.running_var, *ident),
    'fc1_dense/kernel': (net.fc1.weight, *dense), 'fc1_dense/bias': (net.fc1.bias, *ident),
    'predictions/kernel': (net.out.weight, *dense), 'predictions/bias': (net.out.bias, *ident),
}
init = load('init')
if set(init) != set(MAP): sys.exit(f'weight names differ: ours {sorted(init)} vs peer {sorted(MAP)}')
with torch.no_grad():
    for name, (t, to_torch, _) in MAP.items():
        a = to_torch(init[name])
        if tuple(a.shape) != tuple(t.shape): sys.exit(f'{name}: shape {a.shape} vs {tuple(t.shape)}')
        t.copy_(torch.from_numpy(np.ascontiguousarray(a)))

l2 = meta['l2']
reg_layers = {'block1_conv': net.conv1, 'block2_conv': net.conv2, 'fc1_dense': net.fc1, 'predictions': net.out}
kernels = [reg_layers[n].weight for n in meta['regularized']]


def loss_fn(xb, yb):
    return F.cross_entropy(net(xb), yb) + l2 * sum((k * k).sum() for k in kernels)


def batch(s):
    xb = torch.from_numpy(np.ascontiguousarray(x[s * B:(s + 1) * B].transpose(0, 3, 1, 2)))
    return xb, torch.from_numpy(y[s * B:(s + 1) * B])


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


# Step-0 diagnostic: forward loss and gradients at the initial weights (BN stats restored afterwards).
net.train()
state = {k: v.clone() for k, v in net.state_dict().items()}
net.zero_grad(); l0 = loss_fn(*batch(0)); l0.backward()
grad_rel = {}
if os.path.isdir(os.path.join(d, 'grad0')):  # written only without dropout (the masks differ)
    for name, g in load('grad0').items():
        t, _, back = MAP[name]
        grad_rel[name] = rel(back(t.grad.numpy()), g)
net.load_state_dict(state); net.zero_grad()

if meta.get('optimizer', 'adam') == 'sgd':  # tfjs momentum: accum = m*accum + g; w -= lr*accum (PyTorch's, dampening 0)
    opt = torch.optim.SGD(net.parameters(), lr=meta['lr'], momentum=meta.get('momentum') or 0)
else:
    opt = torch.optim.Adam(net.parameters(), lr=meta['lr'], eps=meta['epsilon'])
losses = []
for s in range(steps):
    opt.zero_grad(); loss = loss_fn(*batch(s)); loss.backward(); opt.step(); losses.append(float(loss.item()))

final = load('final')
wrel, wabs = {}, {}
for name, (t, _, back) in MAP.items():
    ours = final[name]; theirs = back(t.detach().numpy())
    wabs[name] = float(np.max(np.abs(ours - theirs))); wrel[name] = rel(ours, theirs)
print(json.dumps(dict(peer=f'pytorch-{torch.__version__}-cpu', losses=losses, step0_loss=float(l0.item()),
                      grad_rel_diff=grad_rel, weight_rel_diff=wrel, weight_abs_diff=wabs)), flush=True)
