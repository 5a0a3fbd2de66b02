#!/usr/bin/python3
"""PyTorch peer for training accuracy: the paper's shallow/deep networks trained with the same recipe as
`fer train` (Adam, batch, BN momentum, dropout, L2 as weight decay 2*l2, mean-image normalization,
horizontal flips), on FER2013 Training, scored on PublicTest and PrivateTest. Prints one JSON line.

Used by `pnpm bench accuracy` (harness/src/bench/accuracy.ts) to put our trainer beside PyTorch on the
same recipe. Needs Debian's python3-torch, python3-pandas, python3-numpy.

  /usr/bin/python3 harness/peers/torch_train.py --data ../shared/data/fer2013/fer2013.csv.gz \
      --filters 4,8 --units 64 --conv-dropout 0 --dense-dropout 0.2 --epochs 2 --batch 64 --lr 1e-3
"""
import argparse, gzip, json, time
import numpy as np, pandas as pd, torch, torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True, help='fer2013.csv or fer2013.csv.gz (Kaggle format)')
ap.add_argument('--model', default='shallow', choices=['shallow', 'deep'])
ap.add_argument('--filters', default='', help='comma list; default 32,64 (shallow) / 64,128,512,512 (deep)')
ap.add_argument('--units', default='', help='hidden FC units; default 512 (shallow) / 256,512 (deep)')
ap.add_argument('--conv-dropout', type=float, default=0.25)
ap.add_argument('--dense-dropout', type=float, default=None, help='default 0.5 (shallow) / 0.25 (deep)')
ap.add_argument('--l2', type=float, default=5e-5, help='Keras-style kernel penalty l2*sum(w^2) = weight decay 2*l2')
ap.add_argument('--bn-momentum', type=float, default=0.9, help='Keras convention (PyTorch momentum = 1 - this)')
ap.add_argument('--epochs', type=int, default=1)
ap.add_argument('--batch', type=int, default=128)
ap.add_argument('--lr', type=float, default=1e-4)
ap.add_argument('--limit', type=int, default=0, help='random subset of Training rows (0 = all)')
ap.add_argument('--normalizer', default='mean-image', choices=['mean-image', 'global'])
ap.add_argument('--flip', type=int, default=1)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--seed', type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)

t_load = time.perf_counter()
df = pd.read_csv(a.data, compression='gzip' if a.data.endswith('.gz') else None)
X = np.stack([np.fromstring(p, sep=' ', dtype=np.uint8) for p in df.pixels]).reshape(-1, 48, 48).astype(np.float32)
y = df.emotion.values.astype(np.int64); usage = df.Usage.values
t_load = time.perf_counter() - t_load
tr = np.where(usage == 'Training')[0]
if a.limit and a.limit < len(tr): tr = np.sort(rng.choice(tr, a.limit, replace=False))
if a.normalizer == 'mean-image':
    mean = X[tr].mean(0); std = float((X[tr] - mean).std())
else:
    mean = float(X[tr].mean()); std = float(X[tr].std())
norm = lambda idx: torch.from_numpy(((X[idx] - mean) / std)[:, None].astype(np.float32))

deep = a.model == 'deep'
filters = [int(f) for f in (a.filters or ('64,128,512,512' if deep else '32,64')).split(',')]
units = [int(u) for u in (a.units or ('256,512' if deep else '512')).split(',')]
ddrop = a.dense_dropout if a.dense_dropout is not None else (0.25 if deep else 0.5)
mom = 1 - a.bn_momentum

def block(ci, co, k, pool):
    layers = [nn.Conv2d(ci, co, k, padding=k // 2), nn.BatchNorm2d(co, momentum=mom, eps=1e-3), nn.ReLU()]
    if pool: layers.append(nn.MaxPool2d(2))
    return layers + ([nn.Dropout(a.conv_dropout)] if a.conv_dropout > 0 else [])

if deep:
    layers, ci = [], 1
    for co, k in zip(filters, [3, 5, 3, 3]): layers += block(ci, co, k, True); ci = co
    flat = filters[-1] * 3 * 3; layers.append(nn.Flatten())
    for u in units:
        layers += [nn.Linear(flat, u), nn.BatchNorm1d(u, momentum=mom, eps=1e-3), nn.ReLU(), nn.Dropout(ddrop)]; flat = u
else:
    layers = block(1, filters[0], 3, False) + block(filters[0], filters[1], 3, True) + [nn.Flatten()]
    flat = filters[1] * 24 * 24
    layers += [nn.Linear(flat, units[0]), nn.ReLU(), nn.Dropout(ddrop)]; flat = units[0]
model = nn.Sequential(*layers, nn.Linear(flat, 7))
for m in model.modules():  # Keras/tfjs initializers: glorot-uniform kernels, zero biases
    if isinstance(m, (nn.Conv2d, nn.Linear)): nn.init.xavier_uniform_(m.weight); nn.init.zeros_(m.bias)
kernels = [p for p in model.parameters() if p.dim() > 1]; others = [p for p in model.parameters() if p.dim() <= 1]
opt = torch.optim.Adam([{'params': kernels, 'weight_decay': 2 * a.l2}, {'params': others, 'weight_decay': 0}], a.lr, eps=1e-7)

def accuracy(split):
    idx = np.where(usage == split)[0]; model.eval(); ok = 0
    with torch.no_grad():
        for s in range(0, len(idx), 512): ok += int((model(norm(idx[s:s + 512])).argmax(1).numpy() == y[idx[s:s + 512]]).sum())
    model.train(); return ok / len(idx)

history = []; t0 = time.perf_counter(); train_s = 0.0
for e in range(a.epochs):
    order = rng.permutation(tr); loss_sum = acc_sum = 0.0; te = time.perf_counter()
    for s in range(0, len(order), a.batch):
        b = order[s:s + a.batch]; xb = norm(b)
        if a.flip:
            f = torch.from_numpy(rng.random(len(b)) < 0.5); xb[f] = xb[f].flip(-1)
        yb = torch.from_numpy(y[b]); opt.zero_grad(); out = model(xb)
        loss = nn.functional.cross_entropy(out, yb); loss.backward(); opt.step()
        loss_sum += loss.item() * len(b); acc_sum += (out.argmax(1) == yb).sum().item()
    train_s += time.perf_counter() - te
    history.append(dict(epoch=e + 1, loss=loss_sum / len(order), accuracy=acc_sum / len(order), valAccuracy=accuracy('PublicTest')))
print(json.dumps(dict(
    peer=f'pytorch-{torch.__version__}-cpu', threads=torch.get_num_threads(), model=a.model, recipe=vars(a),
    trainRows=int(len(tr)), epochs=a.epochs, history=history,
    publicTest=history[-1]['valAccuracy'], privateTest=accuracy('PrivateTest'),
    trainImgPerS=len(tr) * a.epochs / train_s, wallSeconds=time.perf_counter() - t0, loadSeconds=t_load)), flush=True)
