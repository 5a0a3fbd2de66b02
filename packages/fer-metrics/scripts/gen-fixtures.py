#!/usr/bin/env python3
"""Generate the golden fixtures of @fer/metrics with scikit-learn and SciPy.

Run from the repository root:  /usr/bin/python3 packages/fer-metrics/scripts/gen-fixtures.py
Writes packages/fer-metrics/src/__fixtures__/sklearn-cases.json (committed as data).
Peers: Debian's python3-sklearn, python3-scipy, python3-numpy (any recent version; the
versions used are recorded in the JSON). Every case is seeded, so the output is reproducible.

Conventions matched by the TypeScript code (and recorded here so a reader can check them):
- labels are always range(numClasses): absent classes still get a row/column and count in
  macro averages, exactly as sklearn does with labels=range(K);
- precision/recall/F1 use zero_division=0 (a never-predicted class has precision 0, a class
  absent from `actual` has recall 0);
- the row-normalized confusion matrix uses 0 for a row with no samples
  (sklearn confusion_matrix(normalize='true') + nan_to_num);
- undefined values (Cohen's kappa when expected agreement is 1, a std of one value) are NaN,
  written to JSON as null.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

M32 = 0xFFFFFFFF


def mulberry32(seed):
    """Bit-exact port of the TypeScript mulberry32 (src/_rng.ts)."""
    a = seed & M32

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & M32
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0

    return nxt


def none_if_nan(x):
    x = float(x)
    return None if math.isnan(x) else x


def make_probs(rng, actual, k, strength, quantize=None):
    n = len(actual)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), actual] += strength
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if quantize:
        # multiples of 1/quantize, rows summing exactly to 1 (ties and zeros on purpose)
        q = np.floor(p * quantize)
        for i in range(n):
            q[i, int(np.argmax(p[i]))] += quantize - q[i].sum()
        p = q / quantize
    return p


def noisy(rng, actual, k, keep):
    pred = actual.copy()
    flip = rng.random(len(actual)) > keep
    pred[flip] = rng.integers(0, k, size=int(flip.sum()))
    return pred


def bootstrap(actual, predicted, k, iterations, seed, level):
    n = len(actual)
    r = mulberry32(seed)
    accs = []
    per = [[] for _ in range(k)]
    for _ in range(iterations):
        idx = np.array([math.floor(r() * n) for _ in range(n)], dtype=np.int64)
        a, p = actual[idx], predicted[idx]
        accs.append(float(np.mean(a == p)))
        for c in range(k):
            m = a == c
            if m.any():
                per[c].append(float(np.mean(p[m] == c)))
    alpha = (1 - level) / 2
    qs = [100 * alpha, 100 * (1 - alpha)]
    lo, hi = np.percentile(accs, qs)
    out = {"iterations": iterations, "seed": seed, "level": level,
           "accuracy": {"lo": float(lo), "hi": float(hi)}, "perClass": []}
    for c in range(k):
        if per[c]:
            clo, chi = np.percentile(per[c], qs)
            out["perClass"].append({"lo": float(clo), "hi": float(chi), "n": len(per[c])})
        else:
            out["perClass"].append({"lo": None, "hi": None, "n": 0})
    return out


def mcnemar_exact(actual, pa, pb):
    ca, cb = pa == actual, pb == actual
    b = int(np.sum(ca & ~cb))
    c = int(np.sum(~ca & cb))
    # statsmodels mcnemar(exact=True) == two-sided exact binomial test of b in b+c at 0.5
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "pValue": p}


def case(name, k, actual, predicted, probs, predicted_b, note):
    actual = np.asarray(actual, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    predicted_b = np.asarray(predicted_b, dtype=np.int64)
    labels = list(range(k))
    cm = confusion_matrix(actual, predicted, labels=labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
        kappa = cohen_kappa_score(actual, predicted, labels=labels)
    p, r, f, s = precision_recall_fscore_support(actual, predicted, labels=labels, zero_division=0)
    macro = precision_recall_fscore_support(actual, predicted, labels=labels, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(actual, predicted, labels=labels, average="weighted", zero_division=0)
    expected = {
        "counts": cm.tolist(),
        "normalized": norm.tolist(),
        "accuracy": float(accuracy_score(actual, predicted)),
        "perClass": [
            {"recall": float(r[i]), "precision": float(p[i]), "f1": float(f[i]), "support": int(s[i])}
            for i in range(k)
        ],
        "macro": {"precision": float(macro[0]), "recall": float(macro[1]), "f1": float(macro[2])},
        "weighted": {"precision": float(weighted[0]), "recall": float(weighted[1]), "f1": float(weighted[2])},
        "kappa": none_if_nan(kappa),
        "topK": {str(kk): float(top_k_accuracy_score(actual, probs, k=kk, labels=labels)) for kk in range(1, k)},
        "logLoss": float(log_loss(actual, probs, labels=labels)),
        "mcnemar": mcnemar_exact(actual, predicted, predicted_b),
    }
    if len(actual) >= 2:
        expected["bootstrap"] = bootstrap(actual, predicted, k, iterations=200, seed=7, level=0.95)
    return {
        "name": name, "note": note, "numClasses": k,
        "actual": actual.tolist(), "predicted": predicted.tolist(), "predictedB": predicted_b.tolist(),
        "probabilities": probs.tolist(), "expected": expected,
    }


def main():
    cases = []
    rng = np.random.default_rng(20170620)

    k = 7
    actual = rng.choice(k, size=300, p=[0.14, 0.02, 0.14, 0.25, 0.17, 0.11, 0.17])
    cases.append(case("fer-like-7", k, actual, noisy(rng, actual, k, 0.6), make_probs(rng, actual, k, 1.5),
                      noisy(rng, actual, k, 0.55), "FER2013-like class balance, 60% accurate"))

    k = 5
    actual = rng.integers(0, k, size=60)
    pred = noisy(rng, actual, k, 0.5)
    pred[pred == 3] = 4
    cases.append(case("never-predicted", k, actual, pred, make_probs(rng, actual, k, 1.0),
                      noisy(rng, actual, k, 0.5), "class 3 is never predicted: precision 0 (zero_division=0)"))

    actual = rng.integers(0, k, size=60)
    actual[actual == 1] = 2
    pred = noisy(rng, actual, k, 0.5)
    pred[:3] = 1
    cases.append(case("absent-class", k, actual, pred, make_probs(rng, actual, k, 1.0),
                      noisy(rng, actual, k, 0.5), "class 1 never occurs in actual but is predicted: recall 0"))

    actual = rng.integers(0, 3, size=40)
    pred = noisy(rng, actual, 3, 0.7)
    cases.append(case("missing-entirely", k, actual, pred, make_probs(rng, actual, k, 2.0),
                      noisy(rng, actual, 3, 0.7), "classes 3 and 4 neither occur nor are predicted"))

    k = 4
    actual = rng.integers(0, k, size=25)
    cases.append(case("perfect", k, actual, actual.copy(), make_probs(rng, actual, k, 6.0),
                      noisy(rng, actual, k, 0.8), "predicted == actual: kappa 1"))

    k = 3
    cases.append(case("single-sample", k, [2], [2], make_probs(rng, np.array([2]), k, 1.0), [0],
                      "one row: kappa undefined (NaN)"))

    k = 4
    actual = rng.integers(0, k, size=30)
    cases.append(case("constant-predictor", k, actual, np.full(30, 2), make_probs(rng, actual, k, 0.5),
                      noisy(rng, actual, k, 0.4), "always predicts class 2: kappa 0"))

    actual = np.full(12, 1)
    cases.append(case("one-class-perfect", k, actual, actual.copy(), make_probs(rng, actual, k, 3.0),
                      noisy(rng, actual, k, 0.5), "one class only, all right: kappa 0/0 = NaN"))

    k = 4
    actual = rng.integers(0, k, size=50)
    cases.append(case("ties-and-zeros", k, actual, noisy(rng, actual, k, 0.5),
                      make_probs(rng, actual, k, 0.8, quantize=4), noisy(rng, actual, k, 0.5),
                      "probabilities in quarters: ties in top-k and zero probabilities in log loss"))

    k = 7
    actual = rng.choice(k, size=600, p=[0.14, 0.02, 0.14, 0.25, 0.17, 0.11, 0.17])
    cases.append(case("hybrid-vs-raw", k, actual, noisy(rng, actual, k, 0.65), make_probs(rng, actual, k, 2.0),
                      noisy(rng, actual, k, 0.6), "two similar models on 600 rows (McNemar)"))

    seeds = []
    for vals in ([0.6, 0.62, 0.65], [0.5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0.7, 0.7],
                 rng.normal(0.65, 0.01, size=5).tolist()):
        a = np.asarray(vals, dtype=np.float64)
        n = len(a)
        mean = float(a.mean())
        if n >= 2:
            std = float(a.std(ddof=1))
            half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
            ci = [mean - half, mean + half]
        else:
            std, ci = None, [None, None]
        seeds.append({"values": [float(v) for v in vals], "mean": mean, "std": std, "ci95": ci, "n": n})

    rngcheck = mulberry32(42)
    out = {
        "generator": "packages/fer-metrics/scripts/gen-fixtures.py",
        "versions": {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "mulberry32Seed42": [rngcheck() for _ in range(5)],
        "cases": cases,
        "seeds": seeds,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "src", "__fixtures__", "sklearn-cases.json")
    with open(path, "w") as fh:
        json.dump(out, fh, allow_nan=False)
        fh.write("\n")
    print(f"wrote {os.path.normpath(path)}: {len(cases)} cases, {len(seeds)} seed sets")


if __name__ == "__main__":
    main()
