// Shared declarations of the @fer/engine native kernels: thread count, a parallel-for that never
// busy-waits longer than OpenMP's wait policy allows, and the float32 views the N-API glue hands in.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fer {

/** Threads the kernels may use on the calling thread (set per JS thread: main or worker). */
int threads();
void set_threads(int n);

// --- oneDNN convolutions and matmul (dnnl.cc) ---
struct ConvDims {
  int B, H, W, Ci, Ho, Wo, Co, fh, fw, sh, sw, dh, dw, pt, pb, pl, pr;
};
enum Act { ACT_LINEAR = 0, ACT_RELU = 1 };
void conv_forward(const ConvDims& d, const float* x, const float* w, const float* bias, float* y, int act);
void conv_backward_data(const ConvDims& d, const float* dy, const float* w, float* dx);
void conv_backward_weights(const ConvDims& d, const float* x, const float* dy, float* dw);
/** c[M,N] = op(a) . op(b) (+ bias[N]) (relu); a is [M,K] or [K,M] (ta), b is [K,N] or [N,K] (tb). */
void matmul(int M, int N, int K, bool ta, bool tb, const float* a, const float* b, const float* bias, float* c, int act);
const char* dnnl_version_string();
const char* dnnl_isa_string();
void clear_caches();
/** How convolutions run: "auto" (per shape, see dnnl.cc's choose_plan), "nhwc", "blocked" or "gemm" (forced, for tests
 *  and A/B measurements); from FER_NATIVE_CONV at load. set_conv_plan returns the name set, null for an unknown one. */
const char* conv_plan();
const char* set_conv_plan(const char* name);

// --- memory-bound kernels (eltwise.cc) ---
/** The instruction set the hot element-wise loops run with: "sse2", "avx2" or "avx512" (chosen at load: the CPU's
 *  best, capped by ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA as oneDNN caps itself, and by FER_NATIVE_ISA). */
const char* kernel_isa();
/** The best level (0 sse2, 1 avx2, 2 avx512) this CPU allows under ONEDNN_MAX_CPU_ISA; kernel_isa_name(level) names it. */
int kernel_isa_max();
const char* kernel_isa_name(int level);
/** Switch to "sse2", "avx2", "avx512" or "auto" (the best), capped as at load; returns the one chosen, null for an unknown name. */
const char* set_kernel_isa(const char* name);
enum BinOp { BIN_ADD = 0, BIN_SUB, BIN_MUL, BIN_DIV, BIN_SQDIFF, BIN_MAX, BIN_MIN };
/** out[i] = a[ia] op b[ib]; a has na elements, b nb; the smaller one repeats (row broadcast) when na != nb. */
void binary(int op, const float* a, size_t na, const float* b, size_t nb, float* out);
enum UnOp { UN_RELU = 0, UN_SQRT, UN_SQUARE, UN_RSQRT, UN_NEG, UN_EXP, UN_LOG, UN_ABS, UN_STEP, UN_RELU6, UN_SIGMOID, UN_RECIPROCAL };
void unary(int op, const float* x, float* out, size_t n, float alpha);
/** tfjs' Relu gradient dy * step(x), bit for bit, in one pass. */
void relu_grad(const float* dy, const float* x, float* out, size_t n);
/** out[c] = sum (or mean) over r of x[r*cols + c]. */
void reduce_leading(const float* x, float* out, size_t rows, size_t cols, bool mean);
/** out = (x - mean) * scale / sqrt(var + eps) + offset, per channel (last axis, C; params of size C or 1). */
void batch_norm(const float* x, const float* mean, size_t nmean, const float* var, size_t nvar, const float* offset, size_t noff,
                const float* scale, size_t nscale, float* out, size_t n, size_t C, float eps);
/** The FusedBatchNorm gradient for per-channel (size C) mean, variance and scale (scale may be null = 1). */
void batch_norm_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float* dx, float* dmean,
                     float* dvar, float* dscale, float* doffset, size_t n, size_t C, float eps);
/** Training batch norm over the last axis: mean, variance (biased, as tfjs moments) and y, in three passes. */
void batch_norm_train(const float* x, const float* scale, const float* offset, float* y, float* mean, float* var, size_t n, size_t C, float eps);
/** Its gradient through the batch's moments: dx, d_scale, d_offset (scale may be null = 1). */
void batch_norm_train_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float* dx, float* dscale,
                           float* doffset, size_t n, size_t C, float eps);
struct PoolDims {
  int B, H, W, C, Ho, Wo, fh, fw, sh, sw, pt, pl;
};
void max_pool(const PoolDims& d, const float* x, float* y);
void max_pool_grad(const PoolDims& d, const float* x, const float* dy, float* dx);
/** tfjs AdamOptimizer's update, operation for operation in float32. */
void adam(size_t n, const float* w, const float* g, const float* m, const float* v, float* w2, float* m2, float* v2, float lr,
          float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float oneMinusAccBeta1, float oneMinusAccBeta2, float eps);
/** tfjs dropout's multiplier floor(u + keep) / keep, u drawn by alea from state {c, s0, s1, s2} (advanced in place). */
void dropout_mask(float* out, size_t n, double* state, float keepProb);
/** out = x * that multiplier (tfjs' mul(x, mask), bit for bit) without the mask in memory. */
void dropout_apply(const float* x, float* out, size_t n, double* state, float keepProb);
/** tfjs SGD (momentum 0) and MomentumOptimizer updates. */
void sgd(size_t n, const float* w, const float* g, float* w2, float negLr);
void momentum(size_t n, const float* w, const float* g, const float* acc, float* w2, float* acc2, float negLr, float mom, bool nesterov);

}  // namespace fer
