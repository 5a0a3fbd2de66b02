// Memory-bound kernels of a training step (batch norm, its gradient chain, pooling, optimizer updates),
// each one pass over memory on the calling thread's OpenMP team. Element-wise results are computed with
// the same float32 operations, in the same order, as tfjs-backend-cpu and -wasm (built with
// -ffp-contract=off: no fused multiply-add), so they are bit-identical, signed zeros included; NaN follows
// tfjs-backend-cpu (tfjs-backend-wasm's Relu6 and Maximum drop NaN). Reductions accumulate in double.
#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>
#include <omp.h>
#include "common.h"

namespace fer {

namespace {

// Below this many elements a kernel runs on one thread: waking a team costs more than it saves.
constexpr size_t kParallelMin = 1 << 15;

inline int team(size_t n) { return n >= kParallelMin ? threads() : 1; }

template <typename F>
inline void for_range(size_t n, F f) {
  const int nt = team(n);
  if (nt <= 1) {
    f(size_t(0), n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const size_t t = size_t(omp_get_thread_num()), k = size_t(omp_get_num_threads());
    // 16-float aligned chunks keep each thread's stores on their own cache lines.
    const size_t chunk = ((n + k - 1) / k + 15) & ~size_t(15);
    const size_t lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
    if (lo < hi) f(lo, hi);
  }
}

/** f(rlo, rhi) over row bands; the team size follows the total element count. */
template <typename F>
inline void for_rows(size_t rows, size_t rowlen, F f) {
  const int nt = rows > 1 ? team(rows * rowlen) : 1;
  if (nt <= 1) {
    f(size_t(0), rows);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const size_t t = size_t(omp_get_thread_num()), k = size_t(omp_get_num_threads());
    const size_t per = (rows + k - 1) / k;
    const size_t lo = std::min(rows, t * per), hi = std::min(rows, lo + per);
    if (lo < hi) f(lo, hi);
  }
}

template <typename Op>
inline void bin_loop(const float* a, size_t na, const float* b, size_t nb, float* out, Op op) {
  const size_t n = na > nb ? na : nb;
  if (na == nb) {
    for_range(n, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; i++) out[i] = op(a[i], b[i]);
    });
  } else if (nb == 1) {
    const float s = b[0];
    for_range(n, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; i++) out[i] = op(a[i], s);
    });
  } else if (na == 1) {
    const float s = a[0];
    for_range(n, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; i++) out[i] = op(s, b[i]);
    });
  } else if (nb < na) {  // b is a row repeated over a's leading axes
    for_rows(na / nb, nb, [&](size_t rlo, size_t rhi) {
      for (size_t r = rlo; r < rhi; r++) {
        const float* ar = a + r * nb;
        float* o = out + r * nb;
        for (size_t j = 0; j < nb; j++) o[j] = op(ar[j], b[j]);
      }
    });
  } else {  // a is the row
    for_rows(nb / na, na, [&](size_t rlo, size_t rhi) {
      for (size_t r = rlo; r < rhi; r++) {
        const float* br = b + r * na;
        float* o = out + r * na;
        for (size_t j = 0; j < na; j++) o[j] = op(a[j], br[j]);
      }
    });
  }
}

}  // namespace

void binary(int op, const float* a, size_t na, const float* b, size_t nb, float* out) {
  switch (op) {
    case BIN_ADD: return bin_loop(a, na, b, nb, out, [](float x, float y) { return x + y; });
    case BIN_SUB: return bin_loop(a, na, b, nb, out, [](float x, float y) { return x - y; });
    case BIN_MUL: return bin_loop(a, na, b, nb, out, [](float x, float y) { return x * y; });
    case BIN_DIV: return bin_loop(a, na, b, nb, out, [](float x, float y) { return x / y; });
    case BIN_SQDIFF: return bin_loop(a, na, b, nb, out, [](float x, float y) { float d = x - y; return d * d; });
    // NOTE: as JavaScript's Math.max / Math.min (tfjs-backend-cpu): NaN wins, and max(+0, -0) = +0, min(+0, -0) = -0.
    case BIN_MAX: return bin_loop(a, na, b, nb, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? std::numeric_limits<float>::quiet_NaN() : (x > y || (x == y && !std::signbit(x)) ? x : y); });
    case BIN_MIN: return bin_loop(a, na, b, nb, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? std::numeric_limits<float>::quiet_NaN() : (x < y || (x == y && std::signbit(x)) ? x : y); });
  }
}

void unary(int op, const float* x, float* out, size_t n, float alpha) {
  auto run = [&](auto f) {
    for_range(n, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; i++) out[i] = f(x[i]);
    });
  };
  switch (op) {
    // NOTE: -0 gives +0, as tfjs-backend-cpu (Math.max(0, x)) and tfjs-backend-wasm do.
    case UN_RELU: return run([](float v) { return std::isnan(v) ? v : (v > 0.f ? v : 0.f); });
    case UN_RELU6: return run([](float v) { return std::isnan(v) ? v : (v > 0.f ? (v > 6.f ? 6.f : v) : 0.f); });
    case UN_SQRT: return run([](float v) { return std::sqrt(v); });
    case UN_SQUARE: return run([](float v) { return v * v; });
    case UN_RSQRT: return run([](float v) { return 1.f / std::sqrt(v); });
    case UN_NEG: return run([](float v) { return -v; });
    case UN_EXP: return run([](float v) { return std::exp(v); });
    case UN_LOG: return run([](float v) { return std::log(v); });
    case UN_ABS: return run([](float v) { return std::fabs(v); });
    case UN_STEP:
      // Explicit loop with alpha in a local: a captured alpha may alias `out`, which blocks vectorization.
      return for_range(n, [&](size_t lo, size_t hi) {
        const float al = alpha;
        for (size_t i = lo; i < hi; i++) {
          const float v = x[i];
          const float r = v > 0.f ? 1.f : al;
          out[i] = v != v ? v : r;
        }
      });
    case UN_SIGMOID: return run([](float v) { return 1.f / (1.f + std::exp(-v)); });
    case UN_RECIPROCAL: return run([](float v) { return 1.f / v; });
  }
}

void reduce_leading(const float* x, float* out, size_t rows, size_t cols, bool mean) {
  const int nt = team(rows * cols);
  // Each thread sums a band of rows into its own double row; the bands are added in thread order.
  std::vector<double> acc(size_t(nt) * cols, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const size_t t = size_t(omp_get_thread_num()), k = size_t(omp_get_num_threads());
    const size_t per = (rows + k - 1) / k;
    const size_t lo = std::min(rows, t * per), hi = std::min(rows, lo + per);
    double* a = acc.data() + t * cols;
    for (size_t r = lo; r < hi; r++) {
      const float* xr = x + r * cols;
      for (size_t c = 0; c < cols; c++) a[c] += xr[c];
    }
  }
  const double scale = mean ? 1.0 / double(rows) : 1.0;
  for (size_t c = 0; c < cols; c++) {
    double s = 0;
    for (int t = 0; t < nt; t++) s += acc[size_t(t) * cols + c];
    out[c] = float(s * scale);
  }
}

void batch_norm(const float* x, const float* mean, size_t nmean, const float* var, size_t nvar, const float* offset, size_t noff,
                const float* scale, size_t nscale, float* out, size_t n, size_t C, float eps) {
  // Per channel: out = (x - mean) * (scale / sqrt(var + eps)) + offset, as tfjs-backend-wasm's batchnorm.
  std::vector<float> mul(C), add(C), mu(C);
  for (size_t c = 0; c < C; c++) {
    const float m = mean[nmean == 1 ? 0 : c];
    const float v = var[nvar == 1 ? 0 : c];
    const float s = scale ? scale[nscale == 1 ? 0 : c] : 1.f;
    const float o = offset ? offset[noff == 1 ? 0 : c] : 0.f;
    mul[c] = s / std::sqrt(v + eps);
    add[c] = o;
    mu[c] = m;
  }
  const size_t rows = n / C;
  const float *pm = mul.data(), *pa = add.data(), *pu = mu.data();
  for_rows(rows, C, [&](size_t rlo, size_t rhi) {
    for (size_t r = rlo; r < rhi; r++) {
      const float* xr = x + r * C;
      float* o = out + r * C;
      for (size_t c = 0; c < C; c++) o[c] = (xr[c] - pu[c]) * pm[c] + pa[c];
    }
  });
}

void batch_norm_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float* dx, float* dmean,
                     float* dvar, float* dscale, float* doffset, size_t n, size_t C, float eps) {
  // tfjs-core's FusedBatchNorm gradient (mean/variance/scale of size C) in two passes instead of ~8:
  // r = rsqrt(var + eps); dx = dy * r * scale; d_offset = sum dy; d_scale = r * sum dy (x - mean);
  // d_mean = -r * scale * sum dy; d_var = -0.5 r^3 scale * sum dy (x - mean). Sums in double, per thread.
  const size_t rows = n / C;
  std::vector<float> r(C), s(C);
  for (size_t c = 0; c < C; c++) {
    r[c] = 1.f / std::sqrt(var[c] + eps);
    s[c] = scale ? scale[c] : 1.f;
  }
  const int nt = team(n);
  std::vector<double> acc(size_t(nt) * 2 * C, 0.0);
  const float *pr = r.data(), *ps = s.data();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const size_t t = size_t(omp_get_thread_num()), k = size_t(omp_get_num_threads());
    const size_t per = (rows + k - 1) / k;
    const size_t lo = std::min(rows, t * per), hi = std::min(rows, lo + per);
    double* sdy = acc.data() + t * 2 * C;
    double* sdyx = sdy + C;
    for (size_t row = lo; row < hi; row++) {
      const float* xr = x + row * C;
      const float* dyr = dy + row * C;
      float* dxr = dx + row * C;
      for (size_t c = 0; c < C; c++) {
        const float g = dyr[c];
        sdy[c] += g;
        sdyx[c] += double(g) * double(xr[c] - mean[c]);
        dxr[c] = (g * pr[c]) * ps[c];
      }
    }
  }
  for (size_t c = 0; c < C; c++) {
    double sdy = 0, sdyx = 0;
    for (int t = 0; t < nt; t++) {
      sdy += acc[size_t(t) * 2 * C + c];
      sdyx += acc[size_t(t) * 2 * C + C + c];
    }
    const double rc = r[c], sc = s[c];
    doffset[c] = float(sdy);
    dscale[c] = float(rc * sdyx);
    dmean[c] = float(-rc * sc * sdy);
    dvar[c] = float(-0.5 * rc * rc * rc * sc * sdyx);
  }
}

void max_pool(const PoolDims& d, const float* x, float* y) {
  const size_t C = size_t(d.C);
  const int nt = team(size_t(d.B) * d.Ho * d.Wo * C);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) collapse(2)
  for (int b = 0; b < d.B; b++) {
    for (int oh = 0; oh < d.Ho; oh++) {
      const int h0 = oh * d.sh - d.pt, hMin = std::max(0, h0), hMax = std::min(d.H, h0 + d.fh);
      for (int ow = 0; ow < d.Wo; ow++) {
        const int w0 = ow * d.sw - d.pl, wMin = std::max(0, w0), wMax = std::min(d.W, w0 + d.fw);
        float* yo = y + ((size_t(b) * d.Ho + oh) * d.Wo + ow) * C;
        for (size_t c = 0; c < C; c++) yo[c] = -std::numeric_limits<float>::infinity();
        for (int h = hMin; h < hMax; h++)
          for (int w = wMin; w < wMax; w++) {
            const float* xi = x + ((size_t(b) * d.H + h) * d.W + w) * C;
            for (size_t c = 0; c < C; c++) yo[c] = xi[c] > yo[c] || std::isnan(xi[c]) ? xi[c] : yo[c];
          }
      }
    }
  }
}

void max_pool_grad(const PoolDims& d, const float* x, const float* dy, float* dx) {
  // The first maximum of each window (row-major, strict '>') receives dy, as tfjs-backend-cpu. Threads
  // split the batch, so overlapping windows never write the same dx element from two threads.
  const size_t C = size_t(d.C);
  const size_t img = size_t(d.H) * d.W * C;
  const int nt = team(size_t(d.B) * img);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<float> maxv(C);
    std::vector<long> idx(C);
#pragma omp for schedule(static)
    for (int b = 0; b < d.B; b++) {
      std::memset(dx + size_t(b) * img, 0, img * sizeof(float));
      for (int oh = 0; oh < d.Ho; oh++) {
        const int h0 = oh * d.sh - d.pt, hMin = std::max(0, h0), hMax = std::min(d.H, h0 + d.fh);
        for (int ow = 0; ow < d.Wo; ow++) {
          const int w0 = ow * d.sw - d.pl, wMin = std::max(0, w0), wMax = std::min(d.W, w0 + d.fw);
          for (size_t c = 0; c < C; c++) {
            maxv[c] = -std::numeric_limits<float>::infinity();
            idx[c] = -1;
          }
          for (int h = hMin; h < hMax; h++)
            for (int w = wMin; w < wMax; w++) {
              const size_t o = ((size_t(b) * d.H + h) * d.W + w) * C;
              const float* xi = x + o;
              for (size_t c = 0; c < C; c++)
                if (xi[c] > maxv[c]) {
                  maxv[c] = xi[c];
                  idx[c] = long(o + c);
                }
            }
          const float* dyo = dy + ((size_t(b) * d.Ho + oh) * d.Wo + ow) * C;
          for (size_t c = 0; c < C; c++)
            if (idx[c] >= 0) dx[idx[c]] += dyo[c];
        }
      }
    }
  }
}

void adam(size_t n, const float* w, const float* g, const float* m, const float* v, float* w2, float* m2, float* v2, float lr,
          float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float oneMinusAccBeta1, float oneMinusAccBeta2, float eps) {
  const float negLr = -lr;
  for_range(n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      const float gi = g[i];
      const float nm = m[i] * beta1 + gi * oneMinusBeta1;
      const float nv = v[i] * beta2 + (gi * gi) * oneMinusBeta2;
      const float bm = nm / oneMinusAccBeta1;
      const float bv = nv / oneMinusAccBeta2;
      w2[i] = (bm / (std::sqrt(bv) + eps)) * negLr + w[i];
      m2[i] = nm;
      v2[i] = nv;
    }
  });
}

void dropout_mask(float* out, size_t n, double* state, float keepProb) {
  // seedrandom's alea generator (Baagoe), as tf.randomUniform draws it, then tfjs' dropout multiplier
  // floor(u + keep) / keep in float32. Serial: each value depends on the previous state.
  double c = state[0], s0 = state[1], s1 = state[2], s2 = state[3];
  for (size_t i = 0; i < n; i++) {
    const double t = 2091639.0 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    c = double(int32_t(t));
    s2 = t - c;
    const float u = float(s2);
    out[i] = std::floor(u + keepProb) / keepProb;
  }
  state[0] = c;
  state[1] = s0;
  state[2] = s1;
  state[3] = s2;
}

void sgd(size_t n, const float* w, const float* g, float* w2, float negLr) {
  for_range(n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) w2[i] = negLr * g[i] + w[i];
  });
}

void momentum(size_t n, const float* w, const float* g, const float* acc, float* w2, float* acc2, float negLr, float mom, bool nesterov) {
  for_range(n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      const float na = mom * acc[i] + g[i];
      w2[i] = nesterov ? negLr * (g[i] + na * mom) + w[i] : negLr * na + w[i];
      acc2[i] = na;
    }
  });
}

}  // namespace fer
