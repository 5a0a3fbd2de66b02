#!/usr/bin/env python3
"""Writes src/__fixtures__/subset-skimage-0.19.3.json: the part of the shared scikit-image fixture
(../shared/fixtures/hog/skimage-0.19.3.json, read-only, outside the repository) that the HOG conformance
test needs when the shared fixture is absent. Synthetic images only (no FER2013 face is copied): the noise
images under all six parameter sets, and the constant image (zero gradients) under the two that normalize
most differently. HOG values are rounded to 1e-7 (the test's tolerance is 1e-5). Keeps the file < 200 KB.

Run from packages/fer-hog: python3 scripts/subset-shared-fixture.py [path/to/skimage-0.19.3.json]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '../../../../shared/fixtures/hog/skimage-0.19.3.json')
OUT = os.path.join(HERE, '../src/__fixtures__/subset-skimage-0.19.3.json')
ALL_PARAMS = {'noise', 'odd-size-37x50-noise'}
CONSTANT_PPC = {(16, 16), (4, 4)}


def keep(case):
    if case['image'] in ALL_PARAMS:
        return True
    return case['image'] == 'constant-128' and tuple(case['params']['pixels_per_cell']) in CONSTANT_PPC


def rounded(v):
    r = round(v, 7)
    return 0 if r == 0 else r


shared = json.load(open(SRC))
cases = [dict(c, hog=[rounded(v) for v in c['hog']]) for c in shared['cases'] if keep(c)]
names = {c['image'] for c in cases}
out = {
    'generator': shared['generator'] + '; subset of the shared skimage-0.19.3.json by scripts/subset-shared-fixture.py (synthetic images only, HOG values rounded to 1e-7)',
    'images': [im for im in shared['images'] if im['name'] in names],
    'cases': cases,
}
with open(OUT, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
    f.write('\n')
print(f'{OUT}: {len(out["images"])} images, {len(cases)} cases, {os.path.getsize(OUT)} bytes')
