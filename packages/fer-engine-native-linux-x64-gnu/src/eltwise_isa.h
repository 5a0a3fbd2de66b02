// The inner loops of the hot element-wise kernels, compiled once per instruction set: eltwise.cc includes this
// file three times, each time inside its own namespace (isa_sse2, isa_avx2, isa_avx512) and, for the last two,
// under `#pragma GCC target(...)`, and picks one table at load (see kernel_isa in eltwise.cc).
// NOTE: no include guard, on purpose. Everything here is internal (static) and calls only compiler builtins and
// intrinsics, never an inline function of a library header: such a function compiled under the AVX-512 pragma
// could be merged by the linker with its baseline copy, and run on a CPU without AVX-512.
// The float operations are the scalar code's, in the same order (vector IEEE add, mul, div and sqrt round each
// lane exactly as the scalar instruction does; -ffp-contract=off: no FMA contraction): the results are the same
// bits whatever the table. Sums in double keep their per-column order.

// FER_ISA_VEC_BYTES: the vector width the explicit vector code (dropout) uses; FER_ISA_DROP_LANES: alea streams per thread.
typedef double vd __attribute__((vector_size(FER_ISA_VEC_BYTES)));
typedef float vfh __attribute__((vector_size(FER_ISA_VEC_BYTES / 2)));
typedef int vih __attribute__((vector_size(FER_ISA_VEC_BYTES / 2)));
constexpr int kD = FER_ISA_VEC_BYTES / 8;  // doubles (alea lanes) per vector

typedef float vf __attribute__((vector_size(FER_ISA_VEC_BYTES)));
constexpr int kF = FER_ISA_VEC_BYTES / 4;  // floats per vector

/** tfjs' Adam step, element i; vector (kF lanes, explicit: GCC 12 does not vectorize this loop itself) or scalar. */
static void adam(size_t lo, size_t hi, const AdamArgs& p) {
  const float beta1 = p.beta1, oneMinusBeta1 = p.oneMinusBeta1, beta2 = p.beta2, oneMinusBeta2 = p.oneMinusBeta2;
  const float oneMinusAccBeta1 = p.oneMinusAccBeta1, oneMinusAccBeta2 = p.oneMinusAccBeta2, eps = p.eps, negLr = p.negLr;
  size_t i = lo;
  for (; i + kF <= hi; i += kF) {
    vf gi, mi, vi, wi;
    __builtin_memcpy(&gi, p.g + i, sizeof gi);
    __builtin_memcpy(&mi, p.m + i, sizeof mi);
    __builtin_memcpy(&vi, p.v + i, sizeof vi);
    __builtin_memcpy(&wi, p.w + i, sizeof wi);
    const vf nm = mi * beta1 + gi * oneMinusBeta1;
    const vf nv = vi * beta2 + (gi * gi) * oneMinusBeta2;
    const vf bm = nm / oneMinusAccBeta1;
    const vf bv = nv / oneMinusAccBeta2;
    const vf nw = (bm / (vf(FER_ISA_SQRT_PS(bv)) + eps)) * negLr + wi;
    __builtin_memcpy(p.w2 + i, &nw, sizeof nw);
    __builtin_memcpy(p.m2 + i, &nm, sizeof nm);
    __builtin_memcpy(p.v2 + i, &nv, sizeof nv);
  }
  for (; i < hi; i++) {
    const float gi = p.g[i];
    const float nm = p.m[i] * beta1 + gi * oneMinusBeta1;
    const float nv = p.v[i] * beta2 + (gi * gi) * oneMinusBeta2;
    const float bm = nm / oneMinusAccBeta1;
    const float bv = nv / oneMinusAccBeta2;
    p.w2[i] = (bm / (__builtin_sqrtf(bv) + eps)) * negLr + p.w[i];
    p.m2[i] = nm;
    p.v2[i] = nv;
  }
}

static void relu_grad(const float* dy, const float* x, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = v != v ? v : (v > 0.f ? 1.f : 0.f);
    out[i] = dy[i] * s;
  }
}

static void relu(const float* x, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    out[i] = v != v ? v : (v > 0.f ? v : 0.f);
  }
}

/** a[c] += x[r stride + c] (in double) for each of `rows` rows in order, c < n. */
static void add_rows(const float* x, size_t stride, size_t rows, double* a, size_t n) {
  for (size_t r = 0; r < rows; r++, x += stride)
    for (size_t c = 0; c < n; c++) a[c] += x[c];
}

/** a[c] += (x[c] - mu[c])^2 per row, the square in float as tfjs' Square of Sub, the sum in double. */
static void add_sqdiff_rows(const float* x, size_t stride, size_t rows, const float* mu, double* a, size_t n) {
  for (size_t r = 0; r < rows; r++, x += stride)
    for (size_t c = 0; c < n; c++) {
      const float d = x[c] - mu[c];
      a[c] += d * d;
    }
}

/** a[c] += dy[c] * (x[c] - mean[c]) per row, in double (the float product is exact in double). */
static void add_dyxm_rows(const float* g, const float* x, size_t stride, size_t rows, const float* mean, double* a, size_t n) {
  for (size_t r = 0; r < rows; r++, g += stride, x += stride)
    for (size_t c = 0; c < n; c++) a[c] += double(g[c]) * double(x[c] - mean[c]);
}

/** Rows [lo, hi) of y = (x - mu) * mul + add over C channels. */
static void bn_rows(const float* x, float* out, size_t lo, size_t hi, size_t C, const float* pu, const float* pm, const float* pa) {
  for (size_t r = lo; r < hi; r++) {
    const float* xr = x + r * C;
    float* o = out + r * C;
    for (size_t c = 0; c < C; c++) o[c] = (xr[c] - pu[c]) * pm[c] + pa[c];
  }
}

/** Rows [lo, hi) of dx = k (dy - ka - (x - mean) kb). */
static void bn_train_grad_rows(const float* x, const float* dy, float* dx, size_t lo, size_t hi, size_t C, const float* mean, const float* pk,
                               const float* pa, const float* pb) {
  for (size_t row = lo; row < hi; row++) {
    const float* xr = x + row * C;
    const float* g = dy + row * C;
    float* o = dx + row * C;
    for (size_t c = 0; c < C; c++) o[c] = pk[c] * (g[c] - pa[c] - (xr[c] - mean[c]) * pb[c]);
  }
}

/**
 * One band of 2x2/2 max-pool gradient windows: input rows r0, r1 (gradient rows q0, q1), Wo windows of C channels,
 * dy row dyr. Branch-free (masks, not short-circuit booleans) so that the channels vectorize; the same choice as
 * the scalar rule: the first of a, b, c, d (row-major) equal to the strict-'>' maximum, none if it is -inf or NaN.
 */
static void max_pool_grad_2x2(const float* __restrict r0, const float* __restrict r1, float* __restrict q0, float* __restrict q1,
                              const float* __restrict dyr, int Wo, size_t C) {
  const float ninf = -__builtin_inff();
  for (int ow = 0; ow < Wo; ow++) {
    const size_t o0 = size_t(2 * ow) * C, o1 = o0 + C;
    const float* g = dyr + size_t(ow) * C;
    for (size_t c = 0; c < C; c++) {
      const float a = r0[o0 + c], b = r0[o1 + c], cc = r1[o0 + c], dd = r1[o1 + c];
      float m = a > ninf ? a : ninf;
      m = b > m ? b : m;
      m = cc > m ? cc : m;
      m = dd > m ? dd : m;
      const float gv = 0.f + g[c];
      const int f = m > ninf;
      const int qa = f & (a == m), qb = f & (b == m), qc = f & (cc == m), qd = f & (dd == m);
      const int ea = qa, eb = qb & !qa, ec = qc & !qa & !qb, ed = qd & !qa & !qb & !qc;
      q0[o0 + c] = ea ? gv : 0.f;
      q0[o1 + c] = eb ? gv : 0.f;
      q1[o0 + c] = ec ? gv : 0.f;
      q1[o1 + c] = ed ? gv : 0.f;
    }
  }
}

#if FER_ISA_DROP_LANES
/**
 * FER_ISA_DROP_LANES alea streams at once, kD per vector: lane k draws for out[start[k] .. end[k]) from its state
 * st[4k .. 4k+4) (c, s0, s1, s2), len draws at most (the longest lane). Each step is the scalar one (alea_multiplier
 * in eltwise.cc), lane by lane: t = a s0 + c 2^-32 (both products and the sum are exact), c = trunc(t) (t is in
 * [0, 2^21): the same as double(int32_t(t))), s2 = t - c, then float(s2) + keep >= 1 ? 1 / keep : 0 in float32.
 * Blocks of J steps go through a small buffer, then out to each lane's contiguous range (times x when given).
 */
static void dropout_group(const double* st, const size_t* start, const size_t* end, size_t len, float* out, const float* x, float keepProb,
                          float inv) {
  constexpr int L = FER_ISA_DROP_LANES, G = L / kD, J = 16;
  vd c[G], s0[G], s1[G], s2[G];
  for (int g = 0; g < G; g++)
    for (int k = 0; k < kD; k++) {
      const double* sk = st + 4 * (g * kD + k);
      c[g][k] = sk[0];
      s0[g][k] = sk[1];
      s1[g][k] = sk[2];
      s2[g][k] = sk[3];
    }
  const vd A = vd{} + 2091639.0, E = vd{} + 2.3283064365386963e-10;
  const vfh keep = vfh{} + keepProb, one = vfh{} + 1.f, vinv = vfh{} + inv, zero = vfh{};
  alignas(64) float buf[J * L];
  for (size_t i = 0; i < len; i += J) {
    for (int j = 0; j < J; j++)
      for (int g = 0; g < G; g++) {
        const vd t = A * s0[g] + c[g] * E;
        s0[g] = s1[g];
        s1[g] = s2[g];
        c[g] = FER_ISA_TRUNC(t);
        s2[g] = t - c[g];
        const vfh u = __builtin_convertvector(s2[g], vfh) + keep;
        const vfh mm = u >= one ? vinv : zero;
        __builtin_memcpy(buf + j * L + g * kD, &mm, sizeof mm);
      }
    for (int k = 0; k < L; k++) {
      const size_t s = start[k] + i;
      if (s >= end[k]) continue;
      const size_t cnt = end[k] - s < size_t(J) ? end[k] - s : size_t(J);
      float* o = out + s;
      const float* col = buf + k;
      if (x) {
        const float* xs = x + s;
        for (size_t j = 0; j < cnt; j++) o[j] = xs[j] * col[j * L];
      } else {
        for (size_t j = 0; j < cnt; j++) o[j] = col[j * L];
      }
    }
  }
}
#endif

static const Kernels kKernels = {
    FER_ISA_NAME, &adam, &relu_grad, &relu, &add_rows, &add_sqdiff_rows, &add_dyxm_rows, &bn_rows, &bn_train_grad_rows, &max_pool_grad_2x2,
#if FER_ISA_DROP_LANES
    &dropout_group,
#else
    nullptr,
#endif
    FER_ISA_DROP_LANES,
};
