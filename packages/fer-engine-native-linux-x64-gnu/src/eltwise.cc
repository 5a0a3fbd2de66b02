// Memory-bound kernels of a training step (batch norm, its gradient chain, pooling, optimizer updates),
// each one pass over memory on the calling thread's OpenMP team. Element-wise results are computed with
// the same float32 operations, in the same order, as tfjs-backend-cpu and -wasm (built with
// -ffp-contract=off: no fused multiply-add), so they are bit-identical, signed zeros included; NaN follows
// tfjs-backend-cpu (tfjs-backend-wasm's Relu6 and Maximum drop NaN). Reductions accumulate in double.
// The hot loops (eltwise_isa.h) are compiled three times, for SSE2 (the x86-64 baseline), AVX2+FMA and AVX-512
// (F, BW, DQ, VL), and one copy is chosen once at load from the CPU's features, capped by ONEDNN_MAX_CPU_ISA as
// oneDNN caps itself, or by FER_NATIVE_ISA (see kernel_isa below); every copy gives the same bits.
#include <cmath>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>
#include <immintrin.h>
#include <omp.h>
#include "common.h"

namespace fer {

namespace {

struct AdamArgs {
  const float *w, *g, *m, *v;
  float *w2, *m2, *v2;
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, oneMinusAccBeta1, oneMinusAccBeta2, eps, negLr;
};

/** One instruction set's copy of the hot loops (eltwise_isa.h). */
struct Kernels {
  const char* name;
  void (*adam)(size_t lo, size_t hi, const AdamArgs& p);
  void (*relu_grad)(const float* dy, const float* x, float* out, size_t n);
  void (*relu)(const float* x, float* out, size_t n);
  void (*add_rows)(const float* x, size_t stride, size_t rows, double* a, size_t n);
  void (*add_sqdiff_rows)(const float* x, size_t stride, size_t rows, const float* mu, double* a, size_t n);
  void (*add_dyxm_rows)(const float* g, const float* x, size_t stride, size_t rows, const float* mean, double* a, size_t n);
  void (*bn_rows)(const float* x, float* out, size_t lo, size_t hi, size_t C, const float* pu, const float* pm, const float* pa);
  void (*bn_train_grad_rows)(const float* x, const float* dy, float* dx, size_t lo, size_t hi, size_t C, const float* mean, const float* pk,
                             const float* pa, const float* pb);
  void (*max_pool_grad_2x2)(const float* r0, const float* r1, float* q0, float* q1, const float* dyr, int Wo, size_t C);
  /** Null: the scalar dropout loop (8 interleaved streams). */
  void (*dropout_group)(const double* st, const size_t* start, const size_t* end, size_t len, float* out, const float* x, float keepProb,
                        float inv);
  int drop_lanes;
};

namespace isa_sse2 {
#define FER_ISA_NAME "sse2"
#define FER_ISA_VEC_BYTES 16
#define FER_ISA_DROP_LANES 0
#define FER_ISA_SQRT_PS(v) _mm_sqrt_ps(v)
#include "eltwise_isa.h"
#undef FER_ISA_NAME
#undef FER_ISA_VEC_BYTES
#undef FER_ISA_DROP_LANES
#undef FER_ISA_SQRT_PS
}  // namespace isa_sse2

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace isa_avx2 {
#define FER_ISA_NAME "avx2"
#define FER_ISA_VEC_BYTES 32
#define FER_ISA_DROP_LANES 8
#define FER_ISA_SQRT_PS(v) _mm256_sqrt_ps(v)
#define FER_ISA_TRUNC(t) vd(_mm256_round_pd(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC))
#include "eltwise_isa.h"
#undef FER_ISA_NAME
#undef FER_ISA_VEC_BYTES
#undef FER_ISA_DROP_LANES
#undef FER_ISA_SQRT_PS
#undef FER_ISA_TRUNC
}  // namespace isa_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,prefer-vector-width=512")
namespace isa_avx512 {
#define FER_ISA_NAME "avx512"
#define FER_ISA_VEC_BYTES 64
#define FER_ISA_DROP_LANES 16
#define FER_ISA_SQRT_PS(v) _mm512_sqrt_ps(v)
#define FER_ISA_TRUNC(t) vd(_mm512_roundscale_pd(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC))
#include "eltwise_isa.h"
#undef FER_ISA_NAME
#undef FER_ISA_VEC_BYTES
#undef FER_ISA_DROP_LANES
#undef FER_ISA_SQRT_PS
#undef FER_ISA_TRUNC
}  // namespace isa_avx512
#pragma GCC pop_options

const Kernels* const kTables[] = {&isa_sse2::kKernels, &isa_avx2::kKernels, &isa_avx512::kKernels};
const char* const kIsaNames[] = {"sse2", "avx2", "avx512"};

std::string upper(const char* v);

/**
 * The best table this CPU runs: AVX-512 needs F, BW, DQ and VL; AVX2 also FMA (as oneDNN's avx2).
 * NOTE: the AVX-512 copy is opt-in (FER_NATIVE_ISA=avx512) until it has run on an AVX-512 machine: it was built
 * on one without AVX-512, so it has never been checked bit for bit against the others. An AVX-512 CPU runs the
 * AVX2 copy by default; native-isa.test.ts checks the AVX-512 one there when FER_NATIVE_ISA=avx512 is set.
 */
int cpu_isa_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return upper(std::getenv("FER_NATIVE_ISA")) == "AVX512" ? 2 : 1;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
  return 0;
}

std::string upper(const char* v) {
  std::string s(v ? v : "");
  for (auto& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

/** The cap oneDNN's ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) value puts on our tables; 2 (none) for ALL, DEFAULT, unset or unknown. */
int onednn_cap_level(const char* value) {
  const std::string v = upper(value);
  if (v.rfind("AVX512_CORE", 0) == 0) return 2;  // AVX512_CORE, _VNNI, _BF16, _AMX, _FP16
  if (v.rfind("AVX512_MIC", 0) == 0) return 1;   // Xeon Phi: AVX-512F without BW/DQ/VL
  if (v.rfind("AVX2", 0) == 0) return 1;         // AVX2, AVX2_VNNI
  if (v == "AVX" || v == "SSE41") return 0;
  return 2;  // ALL, DEFAULT, unset; oneDNN ignores a value it does not know, and so do we
}

/** FER_NATIVE_ISA's level: 0 sse2, 1 avx2, 2 avx512; 2 (none) for auto, unset or unknown. */
int request_level(const char* value) {
  const std::string v = upper(value);
  if (v == "SSE2") return 0;
  if (v == "AVX2") return 1;
  return 2;
}

/** The cap ONEDNN_MAX_CPU_ISA puts on our tables (the older DNNL_MAX_CPU_ISA where it is unset or empty, as oneDNN reads them). */
int onednn_env_cap_level() {
  const char* one = std::getenv("ONEDNN_MAX_CPU_ISA");
  return onednn_cap_level(one && *one ? one : std::getenv("DNNL_MAX_CPU_ISA"));
}

int env_cap_level() { return std::min(onednn_env_cap_level(), request_level(std::getenv("FER_NATIVE_ISA"))); }

std::atomic<const Kernels*> g_kernels{nullptr};

/** The table the kernels use, chosen at load (the first call). */
inline const Kernels& kern() {
  const Kernels* k = g_kernels.load(std::memory_order_acquire);
  if (!k) {
    k = kTables[std::min(cpu_isa_level(), env_cap_level())];
    g_kernels.store(k, std::memory_order_release);
  }
  return *k;
}

// Below this many elements a kernel runs on one thread. With OMP_WAIT_POLICY=PASSIVE (set by @fer/engine) the
// team sleeps between kernels and waking it costs ~50 us, i.e. a one-thread pass over ~250K floats: measured on
// 2 cores, an add of 131K floats took 0.02 ms on one thread and 0.08 ms on two, one of 2M 0.60 and 0.39 ms.
constexpr size_t kParallelMin = 1 << 18;
// Work is handed out in chunks of about this many elements, first come first served (schedule dynamic): on a
// shared machine a thread that the OS has descheduled no longer holds up a fixed half of the work.
constexpr size_t kChunk = 1 << 14;

inline int team(size_t n) { return n >= kParallelMin ? threads() : 1; }

template <typename F>
inline void for_range(size_t n, F f) {
  const int nt = team(n);
  if (nt <= 1) {
    f(size_t(0), n);
    return;
  }
  // kChunk is a multiple of 16 floats: each chunk's stores stay on their own cache lines.
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (long i = 0; i < chunks; i++) {
    const size_t lo = size_t(i) * kChunk;
    f(lo, std::min(n, lo + kChunk));
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
  const size_t per = std::max<size_t>(1, kChunk / std::max<size_t>(1, rowlen));
  const long chunks = long((rows + per - 1) / per);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (long i = 0; i < chunks; i++) {
    const size_t lo = size_t(i) * per;
    f(lo, std::min(rows, lo + per));
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
    case UN_RELU: {
      const Kernels& k = kern();
      return for_range(n, [&](size_t lo, size_t hi) { k.relu(x + lo, out + lo, hi - lo); });
    }
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

namespace {

/**
 * out[c] = scale * sum over rows r of the values rows(r0, r1, c0, c1, acc) adds, row by row for r0 <= r < r1, into
 * acc[0 .. c1-c0) (in double).
 * Fixed blocks of rows (at least kChunk elements, at most 64 blocks of sums, 64K doubles) are summed first, then the blocks' sums in
 * block order: the result does not depend on the thread count or on which thread took which block. Few rows of
 * many columns (one block) split the columns instead, each column summed in row order.
 */
template <typename Row>
void reduce_blocks(size_t rows, size_t cols, double scale, float* out, Row row) {
  const size_t n = rows * cols;
  // At most 64 blocks, and at most 64K doubles of block sums (wide rows go to the column split below).
  const size_t maxBlocks = std::min<size_t>(64, std::max<size_t>(1, (size_t(1) << 16) / cols));
  const size_t per = std::max({size_t(1), kChunk / cols, (rows + maxBlocks - 1) / maxBlocks});
  const size_t blocks = (rows + per - 1) / per;
  const int nt = team(n);
  if (blocks == 1) {
    // Wide column bands: each row is read in long contiguous runs (a band of 1024 columns hopped a page per row
    // and ran 4x slower on 128 x 36864). Each column is still summed in row order: the bands change nothing.
    const size_t colChunk = nt > 1 ? std::max<size_t>(1024, ((cols + 4 * size_t(nt) - 1) / (4 * size_t(nt)) + 15) & ~size_t(15)) : cols;
    const long chunks = long((cols + colChunk - 1) / colChunk);
#pragma omp parallel num_threads(nt) if (nt > 1 && chunks > 1)
    {
      std::vector<double> a(colChunk);
#pragma omp for schedule(dynamic, 1)
      for (long ch = 0; ch < chunks; ch++) {
        const size_t c0 = size_t(ch) * colChunk, c1 = std::min(cols, c0 + colChunk);
        std::fill(a.begin(), a.end(), 0.0);
        row(size_t(0), rows, c0, c1, a.data());
        for (size_t c = c0; c < c1; c++) out[c] = float(a[c - c0] * scale);
      }
    }
    return;
  }
  std::vector<double> acc(blocks * cols, 0.0);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
  for (long b = 0; b < long(blocks); b++) {
    const size_t lo = size_t(b) * per, hi = std::min(rows, lo + per);
    double* a = acc.data() + size_t(b) * cols;
    row(lo, hi, size_t(0), cols, a);
  }
  for (size_t c = 0; c < cols; c++) {
    double s = 0;
    for (size_t b = 0; b < blocks; b++) s += acc[b * cols + c];
    out[c] = float(s * scale);
  }
}

}  // namespace

void relu_grad(const float* dy, const float* x, float* out, size_t n) {
  // tfjs' Relu gradient mul(dy, step(x)) in one pass: step is 1 above 0, else 0, NaN stays NaN; the product
  // is the same float32 multiply (dy * 0 keeps dy's sign: -0 for a negative dy), so the bits are tfjs'.
  const Kernels& k = kern();
  for_range(n, [&](size_t lo, size_t hi) { k.relu_grad(dy + lo, x + lo, out + lo, hi - lo); });
}

void reduce_leading(const float* x, float* out, size_t rows, size_t cols, bool mean) {
  const Kernels& k = kern();
  reduce_blocks(rows, cols, mean ? 1.0 / double(rows) : 1.0, out, [&](size_t r0, size_t r1, size_t c0, size_t c1, double* a) {
    k.add_rows(x + r0 * cols + c0, cols, r1 - r0, a, c1 - c0);
  });
}

void batch_norm_train(const float* x, const float* scale, const float* offset, float* y, float* mean, float* var, size_t n, size_t C, float eps) {
  // tfjs' moments then FusedBatchNorm, as the native Mean, Sub, Square, Mean and FusedBatchNorm kernels compute
  // them (same float32 operations, same blocked double sums): bit-identical to that chain, in three passes.
  const size_t rows = n / C;
  reduce_leading(x, mean, rows, C, true);
  const float* mu = mean;
  const Kernels& k = kern();
  reduce_blocks(rows, C, 1.0 / double(rows), var, [&](size_t r0, size_t r1, size_t c0, size_t c1, double* a) {
    k.add_sqdiff_rows(x + r0 * C + c0, C, r1 - r0, mu + c0, a, c1 - c0);
  });
  batch_norm(x, mean, C, var, C, offset, C, scale, C, y, n, C, eps);
}

void batch_norm_train_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float* dx, float* dscale,
                           float* doffset, size_t n, size_t C, float eps) {
  // The gradient of y = (x - mean(x)) * scale / sqrt(var(x) + eps) + offset with the batch's own (biased) moments:
  // r = rsqrt(var + eps), xhat = (x - mean) r, d_offset = sum dy, d_scale = sum dy xhat,
  // dx = scale r (dy - d_offset / N - xhat d_scale / N). Two passes: the sums (blocked, in double), then dx.
  const size_t rows = n / C;
  std::vector<float> r(C), sums(2 * C);
  for (size_t c = 0; c < C; c++) r[c] = 1.f / std::sqrt(var[c] + eps);
  // Both sums in one pass: columns [0, C) of the reduction sum dy, columns [C, 2C) sum dy (x - mean).
  const Kernels& kr = kern();
  reduce_blocks(rows, 2 * C, 1.0, sums.data(), [&](size_t r0, size_t r1, size_t c0, size_t c1, double* a) {
    const float* xr = x + r0 * C;
    const float* g = dy + r0 * C;
    if (c0 < C) kr.add_rows(g + c0, C, r1 - r0, a, std::min(c1, C) - c0);
    const size_t d0 = std::max(c0, C);
    if (d0 < c1) kr.add_dyxm_rows(g + (d0 - C), xr + (d0 - C), C, r1 - r0, mean + (d0 - C), a + (d0 - c0), c1 - d0);
  });
  std::vector<float> k(C), kb(C), ka(C);
  for (size_t c = 0; c < C; c++) {
    const double rc = r[c], sc = scale ? scale[c] : 1.0;
    doffset[c] = sums[c];
    dscale[c] = float(rc * double(sums[C + c]));
    k[c] = float(sc * rc);                                         // dx = k (dy - ka - (x - mean) kb)
    ka[c] = float(double(sums[c]) / double(rows));
    kb[c] = float(rc * rc * double(sums[C + c]) / double(rows));
  }
  const float *pk = k.data(), *pa = ka.data(), *pb = kb.data();
  for_rows(rows, C, [&](size_t lo, size_t hi) { kr.bn_train_grad_rows(x, dy, dx, lo, hi, C, mean, pk, pa, pb); });
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
  const Kernels& k = kern();
  for_rows(rows, C, [&](size_t rlo, size_t rhi) { k.bn_rows(x, out, rlo, rhi, C, pu, pm, pa); });
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

namespace {

/**
 * max_pool_grad for windows that do not overlap and start at the origin (stride = window, no padding: every
 * 2x2/2 pool of the paper networks): each dx element belongs to at most one window, so it is written once
 * (no zero-fill pass, no scattered adds). Per window and channel, the first position (row-major) equal to the
 * strict-'>' maximum gets 0 + dy (as the general path's += into zeros: -0 becomes +0); a window whose values
 * are all -inf or NaN passes nothing, as the general path. Elements no window covers are zeroed.
 */
void max_pool_grad_tiled(const PoolDims& d, const float* x, const float* dy, float* dx) {
  const size_t C = size_t(d.C);
  const size_t rowLen = size_t(d.W) * C;
  const long units = long(d.B) * d.Ho;  // one unit: one image's band of fh input rows (plus the rows below the last window)
  const int nt = team(size_t(d.B) * d.H * rowLen);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<float> maxv(C);
    std::vector<unsigned char> taken(C);
#pragma omp for schedule(dynamic, 4)
    for (long u = 0; u < units; u++) {
      const int b = int(u / d.Ho), oh = int(u % d.Ho);
      const int h0 = oh * d.fh;
      const int hEnd = oh == d.Ho - 1 ? d.H : h0 + d.fh;
      const float* xb = x + size_t(b) * d.H * rowLen;
      float* dxb = dx + size_t(b) * d.H * rowLen;
      for (int h = h0 + d.fh; h < hEnd; h++) std::memset(dxb + size_t(h) * rowLen, 0, rowLen * sizeof(float));
      const size_t covered = size_t(d.Wo) * d.fw * C;
      for (int h = h0; h < h0 + d.fh; h++) std::memset(dxb + size_t(h) * rowLen + covered, 0, (rowLen - covered) * sizeof(float));
      if (d.fh == 2 && d.fw == 2) {
        // 2x2: the four candidates in registers, one pass, branch-free over the channels.
        const float* r0 = xb + size_t(h0) * rowLen;
        const float* r1 = r0 + rowLen;
        float* q0 = dxb + size_t(h0) * rowLen;
        float* q1 = q0 + rowLen;
        const float* dyr = dy + (size_t(b) * d.Ho + oh) * d.Wo * C;
        kern().max_pool_grad_2x2(r0, r1, q0, q1, dyr, d.Wo, C);
        continue;
      }
      for (int ow = 0; ow < d.Wo; ow++) {
        const int w0 = ow * d.fw;
        float* mv = maxv.data();
        unsigned char* tk = taken.data();
        for (size_t c = 0; c < C; c++) mv[c] = -std::numeric_limits<float>::infinity();
        for (int h = h0; h < h0 + d.fh; h++)
          for (int w = w0; w < w0 + d.fw; w++) {
            const float* xi = xb + size_t(h) * rowLen + size_t(w) * C;
            for (size_t c = 0; c < C; c++) mv[c] = xi[c] > mv[c] ? xi[c] : mv[c];
          }
        for (size_t c = 0; c < C; c++) tk[c] = !(mv[c] > -std::numeric_limits<float>::infinity());
        const float* dyo = dy + ((size_t(b) * d.Ho + oh) * d.Wo + ow) * C;
        for (int h = h0; h < h0 + d.fh; h++)
          for (int w = w0; w < w0 + d.fw; w++) {
            const size_t o = size_t(h) * rowLen + size_t(w) * C;
            const float* xi = xb + o;
            float* dxi = dxb + o;
            for (size_t c = 0; c < C; c++) {
              const bool sel = !tk[c] && xi[c] == mv[c];
              dxi[c] = sel ? 0.f + dyo[c] : 0.f;
              tk[c] |= sel;
            }
          }
      }
    }
  }
}

}  // namespace

void max_pool_grad(const PoolDims& d, const float* x, const float* dy, float* dx) {
  if (d.sh == d.fh && d.sw == d.fw && d.pt == 0 && d.pl == 0 && d.Ho * d.fh <= d.H && d.Wo * d.fw <= d.W && d.Ho > 0 && d.Wo > 0) {
    max_pool_grad_tiled(d, x, dy, dx);
    return;
  }
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
  // The outputs are new tensors, distinct from the inputs (eltwise_isa.h's adam takes them as __restrict).
  const AdamArgs p{w, g, m, v, w2, m2, v2, beta1, oneMinusBeta1, beta2, oneMinusBeta2, oneMinusAccBeta1, oneMinusAccBeta2, eps, -lr};
  const Kernels& k = kern();
  for_range(n, [&](size_t lo, size_t hi) { k.adam(lo, hi, p); });
}

namespace {

// alea (seedrandom's, Baagoe) is a lag-3 multiply-with-carry generator in disguise: with s = x / 2^32 its step is
// t = a x0 + c, x_new = t mod 2^32, c_new = floor(t / 2^32), a = 2091639 (exact in double). Such a generator is
// a multiplicative congruential one (Couture & L'Ecuyer 1997): Z = c + a (x0 + x1 2^32 + x2 2^64) steps as
// Z' = Z * 2^-32 mod m, m = a 2^96 - 1 (2^-32 = a 2^64 mod m), so the state k draws ahead is Z (a 2^64)^k mod m.
// That lets threads (and several interleaved streams per thread) start anywhere in the sequence: the mask is
// the serial one, bit for bit, whatever the thread count.
using u128 = unsigned __int128;
constexpr uint64_t kAleaA = 2091639;
constexpr u128 kAleaM = (u128(kAleaA) << 96) - 1;  // < 2^117
constexpr double kTwo32 = 4294967296.0;

inline u128 addmod(u128 x, u128 y) {
  x += y;  // < 2^118: no overflow
  return x >= kAleaM ? x - kAleaM : x;
}
u128 mulmod(u128 x, u128 y) {
  u128 r = 0;
  for (int bit = 116; bit >= 0; bit--) {
    r = addmod(r, r);
    if ((y >> bit) & 1) r = addmod(r, x);
  }
  return r;
}
u128 powmod(u128 b, uint64_t e) {
  u128 r = 1;
  for (; e; e >>= 1, b = mulmod(b, b))
    if (e & 1) r = mulmod(r, b);
  return r;
}
/** The state as Z, or false if it is not one alea can be in (s not multiples of 2^-32, carry out of range). */
bool alea_to_z(const double* st, u128* z) {
  u128 X = 0;
  for (int k = 2; k >= 0; k--) {
    const double v = st[1 + k] * kTwo32;
    if (!(v >= 0 && v < kTwo32) || v != std::floor(v)) return false;
    X = (X << 32) | u128(uint64_t(v));
  }
  const double c = st[0];
  if (!(c >= 0 && c < double(kAleaA)) || c != std::floor(c)) return false;
  *z = u128(uint64_t(c)) + u128(kAleaA) * X;
  return *z < kAleaM;
}
void z_to_alea(u128 z, double* st) {
  const u128 X = z / kAleaA;
  st[0] = double(uint64_t(z % kAleaA));
  for (int k = 0; k < 3; k++) st[1 + k] = double(uint64_t((X >> (32 * k)) & 0xffffffffu)) / kTwo32;
}

}  // namespace

namespace {

/**
 * One step of alea (c, s0, s1, s2 -> the next state, whose s2 is the uniform draw), then tfjs' dropout multiplier.
 * NOTE: always_inline: as a lambda or plain inline function GCC kept the lanes' state in memory, and
 * dropoutApply ran at half the speed (measured against the previous addon, both loaded in one process).
 */
[[gnu::always_inline]] inline float alea_multiplier(double& c, double& s0, double& s1, double& s2, float keepProb, float inv) {
  const double t = 2091639.0 * s0 + c * 2.3283064365386963e-10;
  s0 = s1;
  s1 = s2;
  c = double(int32_t(t));
  s2 = t - c;
  return float(s2) + keepProb >= 1.f ? inv : 0.f;
}

/** The mask (x null: out = multiplier) or x times it (out = x * multiplier, tfjs' mul(x, mask), bit for bit). */
template <bool Apply>
void dropout_fill(float* out, const float* x, size_t n, double* state, float keepProb) {
  // seedrandom's alea generator (Baagoe), as tf.randomUniform draws it, then tfjs' dropout multiplier
  // floor(u + keep) / keep in float32. Large masks: kLanes streams per thread, each jumped to its start.
  // NOTE: u + keep lies in [0, 2), so floor(u + keep) / keep is 1 / keep when u + keep >= 1, else 0 (+0: u >= 0):
  // the same float32 values without a floor call (no SSE4.1 rounding in the baseline x86-64 build).
  const float inv = 1.f / keepProb;
  // The scalar loop runs kLanes streams per thread; a vector table's dropout_group runs its drop_lanes.
  constexpr int kLanes = 8, kMaxLanes = 64;
  const Kernels& kk = kern();
  const int perThread = kk.dropout_group ? kk.drop_lanes : kLanes;
  u128 z0;
  const int nt = threads();
  if (n >= (size_t(1) << 16) && alea_to_z(state, &z0)) {
    const size_t lanes = size_t(perThread) * size_t(std::max(1, nt));
    // Lane length: whole cache lines, an odd number of them, so the lanes' streams (of out, and of x) start in
    // different cache sets; a power-of-two spacing put all 16 in one set and ran at half speed.
    size_t len = ((n + lanes - 1) / lanes + 15) & ~size_t(15);
    if ((len / 16) % 2 == 0) len += 16;
    const u128 jump = powmod(u128(kAleaA) << 64, len);
    std::vector<double> st(lanes * 4);
    u128 z = z0;
    for (size_t l = 0; l < lanes; l++, z = mulmod(z, jump)) z_to_alea(z, st.data() + 4 * l);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static, 1)
    for (long g = 0; g < long(lanes / perThread); g++) {
      if (kk.dropout_group) {
        size_t start[kMaxLanes], end[kMaxLanes];
        for (int k = 0; k < perThread; k++) {
          start[k] = std::min(n, (size_t(g) * perThread + k) * len);
          end[k] = std::min(n, start[k] + len);
        }
        kk.dropout_group(st.data() + 4 * size_t(g) * perThread, start, end, len, out, Apply ? x : nullptr, keepProb, inv);
        continue;
      }
      double c[kLanes], s0[kLanes], s1[kLanes], s2[kLanes];
      size_t start[kLanes], end[kLanes], common = len;
      for (int k = 0; k < kLanes; k++) {
        const double* sk = st.data() + 4 * (size_t(g) * kLanes + k);
        c[k] = sk[0], s0[k] = sk[1], s1[k] = sk[2], s2[k] = sk[3];
        start[k] = std::min(n, (size_t(g) * kLanes + k) * len);
        end[k] = std::min(n, start[k] + len);
        common = std::min(common, end[k] - start[k]);
      }
      for (size_t i = 0; i < common; i++)
        for (int k = 0; k < kLanes; k++) {
          const float m = alea_multiplier(c[k], s0[k], s1[k], s2[k], keepProb, inv);
          out[start[k] + i] = Apply ? x[start[k] + i] * m : m;
        }
      for (int k = 0; k < kLanes; k++)
        for (size_t i = start[k] + common; i < end[k]; i++) {
          const float m = alea_multiplier(c[k], s0[k], s1[k], s2[k], keepProb, inv);
          out[i] = Apply ? x[i] * m : m;
        }
    }
    z_to_alea(mulmod(z0, powmod(u128(kAleaA) << 64, n)), state);
    return;
  }
  double c = state[0], s0 = state[1], s1 = state[2], s2 = state[3];
  for (size_t i = 0; i < n; i++) {
    const float m = alea_multiplier(c, s0, s1, s2, keepProb, inv);
    out[i] = Apply ? x[i] * m : m;
  }
  state[0] = c;
  state[1] = s0;
  state[2] = s1;
  state[3] = s2;
}

}  // namespace

const char* kernel_isa() { return kern().name; }

int kernel_isa_max() { return std::min(cpu_isa_level(), onednn_env_cap_level()); }

const char* kernel_isa_name(int level) { return level >= 0 && level <= 2 ? kIsaNames[level] : nullptr; }

const char* set_kernel_isa(const char* name) {
  const std::string v = upper(name);
  int want;
  if (v == "AUTO") want = 2;
  else if (v == "AVX512") want = 2;
  else if (v == "AVX2") want = 1;
  else if (v == "SSE2") want = 0;
  else return nullptr;
  const Kernels* k = kTables[std::min(want, kernel_isa_max())];
  g_kernels.store(k, std::memory_order_release);
  return k->name;
}

void dropout_mask(float* out, size_t n, double* state, float keepProb) { dropout_fill<false>(out, nullptr, n, state, keepProb); }

void dropout_apply(const float* x, float* out, size_t n, double* state, float keepProb) { dropout_fill<true>(out, x, n, state, keepProb); }

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
