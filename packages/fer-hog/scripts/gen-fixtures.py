#!/usr/bin/python3
"""Extra scikit-image conformance cases for @fer/hog, beyond ../shared/fixtures/hog/skimage-0.19.3.json.

Run from the repository root with Debian's python3-skimage 0.19.3:

    /usr/bin/python3 packages/fer-hog/scripts/gen-fixtures.py

It writes packages/fer-hog/src/__fixtures__/extra-skimage-0.19.3.json with
- images: small synthetic images (seeded numpy RNG; no FER2013 pixels are stored here), uint8 or float32;
- cases: skimage.feature.hog(image, ..., feature_vector=True) for gaps in the shared fixture: odd sizes,
  partial cells in both directions, 1-pixel and whole-image cells, 1/7/13/180 orientations, extreme
  gradients, thin images, float32 input (with and without transform_sqrt);
- pictures: the `visualize=True` hog_image for a few images. Images named "shared:<name>" are read from
  the shared fixture (a real FER2013 face), so only skimage's output is stored, never the face.
"""
import json
import os
import sys

import numpy as np
import skimage
from skimage.feature import hog

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SHARED = os.path.join(ROOT, '..', 'shared', 'fixtures', 'hog', 'skimage-0.19.3.json')
OUT = os.path.join(ROOT, 'packages', 'fer-hog', 'src', '__fixtures__', 'extra-skimage-0.19.3.json')

assert skimage.__version__ == '0.19.3', skimage.__version__
rng = np.random.RandomState(20170620)


def P(o, ppc, cpb, norm, sqrt=False):
    return dict(orientations=o, pixels_per_cell=list(ppc), cells_per_block=list(cpb), block_norm=norm,
                transform_sqrt=sqrt)


images = {}


def r9(v):
    # 9 significant digits: exact for float32 values, < 1e-9 relative for float64 ones; keeps the file small.
    return float('%.9g' % v)


def add(name, arr):
    images[name] = arr
    return name


noise_u8 = lambda h, w: rng.randint(0, 256, size=(h, w)).astype(np.uint8)
yy, xx = np.mgrid[0:40, 0:40]
blob = (128 + 100 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.uint8)

add('noise-7x5', noise_u8(7, 5))
add('noise-13x29', noise_u8(13, 29))
add('noise-50x3', noise_u8(50, 3))
add('noise-1x16', noise_u8(1, 16))
add('noise-16x16', noise_u8(16, 16))
add('checker-0-255-24x24', ((np.indices((24, 24)).sum(axis=0) % 2) * 255).astype(np.uint8))
dot = np.zeros((17, 19), dtype=np.uint8); dot[8, 9] = 255
add('dot-17x19', dot)
add('diagonal-45-24x24', (np.add.outer(np.arange(24), np.arange(24)) * 5 % 256).astype(np.uint8))
add('antidiagonal-135-24x24', (np.subtract.outer(np.arange(24), np.arange(24)) * 5 % 256).astype(np.uint8))
add('blob-40x40', blob)
add('float32-blob-40x40', (blob / 255.0).astype(np.float32))
add('float32-noise-21x18', rng.uniform(0, 3, size=(21, 18)).astype(np.float32))

cases = []


def case(name, params):
    img = images[name]
    h = hog(img, orientations=params['orientations'], pixels_per_cell=tuple(params['pixels_per_cell']),
            cells_per_block=tuple(params['cells_per_block']), block_norm=params['block_norm'],
            transform_sqrt=params['transform_sqrt'], feature_vector=True)
    assert h.size > 0
    cases.append(dict(image=name, params=params, length=int(h.size), hog=[r9(v) for v in h.ravel()]))


case('noise-7x5', P(9, (3, 2), (1, 2), 'L2-Hys'))
case('noise-7x5', P(7, (1, 1), (1, 1), 'L1'))
case('noise-7x5', P(13, (7, 5), (1, 1), 'L2'))             # one cell = whole image
case('noise-13x29', P(9, (4, 5), (2, 3), 'L2-Hys'))         # partial cells on both axes
case('noise-13x29', P(1, (3, 3), (2, 2), 'L1-sqrt'))
case('noise-13x29', P(180, (6, 6), (1, 2), 'L2'))
case('noise-50x3', P(9, (8, 3), (2, 1), 'L2-Hys'))
case('noise-1x16', P(9, (1, 4), (1, 2), 'L2-Hys'))        # one row: no row gradient
case('noise-16x16', P(9, (2, 2), (3, 3), 'L2-Hys', True))
case('noise-16x16', P(8, (4, 4), (4, 4), 'L1', True))
case('checker-0-255-24x24', P(9, (8, 8), (2, 2), 'L2-Hys'))
case('checker-0-255-24x24', P(8, (3, 3), (2, 2), 'L1'))
case('dot-17x19', P(9, (4, 4), (2, 2), 'L2-Hys'))
case('dot-17x19', P(12, (5, 3), (1, 1), 'L1-sqrt'))
case('diagonal-45-24x24', P(8, (4, 4), (2, 2), 'L2-Hys'))   # 45 degrees on a bin edge
case('diagonal-45-24x24', P(4, (6, 6), (1, 1), 'L1'))
case('antidiagonal-135-24x24', P(8, (4, 4), (2, 2), 'L2-Hys'))
case('antidiagonal-135-24x24', P(4, (6, 6), (1, 1), 'L1'))
case('blob-40x40', P(7, (5, 5), (2, 2), 'L2-Hys'))          # 180/7*7 != 180
case('blob-40x40', P(9, (8, 8), (2, 2), 'L2-Hys', True))
case('float32-blob-40x40', P(9, (8, 8), (2, 2), 'L2-Hys'))
case('float32-blob-40x40', P(9, (4, 4), (3, 3), 'L2', True))
case('float32-noise-21x18', P(11, (5, 4), (2, 2), 'L1-sqrt'))
case('float32-noise-21x18', P(9, (3, 3), (2, 2), 'L2-Hys', True))

pictures = []


def picture(name, params, img):
    _, himg = hog(img, orientations=params['orientations'], pixels_per_cell=tuple(params['pixels_per_cell']),
                  cells_per_block=tuple(params['cells_per_block']), block_norm=params['block_norm'],
                  transform_sqrt=params['transform_sqrt'], visualize=True)
    pictures.append(dict(image=name, params=params, height=int(himg.shape[0]), width=int(himg.shape[1]),
                         hog_image=[r9(v) for v in himg.ravel()]))


with open(SHARED) as f:
    shared = {im['name']: im for im in json.load(f)['images']}
face = shared['fer2013-row0-Training']
face_arr = np.array(face['pixels'], dtype=np.uint8).reshape(face['height'], face['width'])
picture('shared:fer2013-row0-Training', P(9, (8, 8), (2, 2), 'L2-Hys'), face_arr)
picture('shared:fer2013-row0-Training', P(12, (6, 6), (2, 2), 'L1'), face_arr)
picture('blob-40x40', P(9, (8, 8), (3, 3), 'L2-Hys'), images['blob-40x40'])
picture('noise-13x29', P(8, (4, 5), (2, 2), 'L2-Hys'), images['noise-13x29'])
picture('float32-blob-40x40', P(9, (10, 7), (1, 1), 'L2-Hys'), images['float32-blob-40x40'])
# Tiny cells: radius = min(cell) // 2 - 1 is 0 (dots) or -1 (numpy's negative indices wrap around).
picture('noise-13x29', P(5, (2, 2), (1, 1), 'L2-Hys'), images['noise-13x29'])
picture('noise-13x29', P(5, (3, 2), (1, 1), 'L2-Hys'), images['noise-13x29'])
picture('noise-13x29', P(5, (1, 3), (1, 1), 'L2-Hys'), images['noise-13x29'])

out = dict(
    generator=f'scikit-image {skimage.__version__} skimage.feature.hog via packages/fer-hog/scripts/gen-fixtures.py '
              f'(numpy {np.__version__}, python {sys.version.split()[0]}); feature_vector=True; '
              'images with dtype float32 were passed as float32 arrays',
    images=[dict(name=k, height=int(v.shape[0]), width=int(v.shape[1]), dtype=str(v.dtype),
                 pixels=[r9(x) if v.dtype == np.float32 else int(x) for x in v.ravel()])
            for k, v in images.items()],
    cases=cases,
    pictures=pictures,
)
with open(OUT, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(f'wrote {OUT}: {len(images)} images, {len(cases)} cases, {len(pictures)} pictures, '
      f'{os.path.getsize(OUT)} bytes')
