// Convolutions and matrix products through oneDNN (the library PyTorch's CPU convolutions use), on
// tensors in place: NHWC activations and tfjs' [fh,fw,ci,co] filters are described to oneDNN as they
// lie in memory, weights are reordered into oneDNN's blocked layout per call (they change every step).
// Each convolution direction runs in one of three ways (its "plan", see choose_plan): on the NHWC tensors
// directly, in oneDNN's blocked layout (nChw8c on AVX2) with the activations reordered in and out through
// scratch buffers shared by all primitives of the thread, or as oneDNN's im2col + GEMM on NHWC. The plan
// depends only on the shape, the oneDNN ISA and FER_NATIVE_CONV / setConvPlan, never on timings, so a run
// takes the same path (and gets the same bits) every time.
// Primitives are cached per JS thread (thread_local), so worker_threads never share mutable state.
#include <atomic>
#include <cstdlib>
#include <strings.h>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include "common.h"

namespace fer {

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace {

thread_local int g_threads = 1;

engine& eng() {
  thread_local engine e(engine::kind::cpu, 0);
  return e;
}
stream& strm() {
  thread_local stream s(eng());
  return s;
}

/** A cached primitive with its user-side and internal memories. */
/**
 * An activation as the caller holds it (NHWC, `user`) and, where the primitive wants another layout, its twin in
 * that layout (`internal`, in scratch slot `slot`) with the reorder between them (user -> internal for an input,
 * internal -> user for an output).
 */
struct Twin {
  memory user, internal;
  reorder r;
  bool on = false;
  int slot = 0;
};

struct Entry {
  primitive prim;
  std::vector<reorder> reorders;   // per-call weight reorders (user <-> internal), may be empty
  memory a, b, c, bias, wInternal;   // user memories get their handle set per call
  Twin ta, tb, tc;                   // activations: a and b inputs, c output (conv only; off = used in place)
  std::string impl;
};

using Key = std::vector<int>;
std::map<Key, std::unique_ptr<Entry>>& cache() {
  thread_local std::map<Key, std::unique_ptr<Entry>> c;
  return c;
}

struct Geometry {
  memory::dims src, wei, dst, strides, dil, pl, pr;
};

Geometry geometry(const ConvDims& d) {
  return {{d.B, d.Ci, d.H, d.W}, {d.Co, d.Ci, d.fh, d.fw}, {d.B, d.Co, d.Ho, d.Wo}, {d.sh, d.sw}, {d.dh - 1, d.dw - 1}, {d.pt, d.pl}, {d.pb, d.pr}};
}

Key conv_key(int kind, const ConvDims& d, int extra) {
  return {kind, d.B, d.H, d.W, d.Ci, d.Ho, d.Wo, d.Co, d.fh, d.fw, d.sh, d.sw, d.dh, d.dw, d.pt, d.pb, d.pl, d.pr, extra};
}

// --- Plans: which layout and algorithm each convolution direction runs with ---

enum PlanMode { PLAN_AUTO = 0, PLAN_NHWC, PLAN_BLOCKED, PLAN_GEMM };
const char* const kPlanNames[] = {"auto", "nhwc", "blocked", "gemm"};

int plan_from_name(const char* v) {
  if (!v || !*v) return PLAN_AUTO;
  for (int i = 0; i < 4; i++)
    if (strcasecmp(v, kPlanNames[i]) == 0) return i;
  return -1;
}

/** FER_NATIVE_CONV at load; an unknown value is refused by the JS loader (_addon.ts) before this runs. */
std::atomic<int> g_plan_mode{[] {
  const int m = plan_from_name(std::getenv("FER_NATIVE_CONV"));
  return m < 0 ? PLAN_AUTO : m;
}()};

struct Plan {
  bool blocked = false;  // activations in oneDNN's own layout (tag::any), reordered in and out
  bool gemm = false;     // oneDNN's im2col + GEMM implementation on NHWC
};

/**
 * The plan of one convolution direction (kind 0 forward, 1 backward-data, 2 backward-weights).
 * auto, on AVX2 (what oneDNN runs on most machines), from scripts/conv-plans.cc on the paper layers at batch 128,
 * reorders included (oneDNN 2.6.3, 2-core AMD EPYC, 2026-12-08, quiet; ms at 1 / 2 threads, NHWC -> the plan):
 *  - forward in the blocked layout on images of 12x12 or less with 16+ channels: deep conv3 328 -> 279 / 239 -> 139,
 *    conv4 323 -> 293 / 159 -> 145; larger images stay NHWC (shallow conv2 133 / 72 NHWC against 142 / 105 blocked,
 *    deep conv2 318 / 158 against 331 / 167), and so does the one-channel first layer;
 *  - backward-data blocked on images larger than 12x12 with 16+ channels (shallow conv2 185 -> 142 / 103 -> 72, deep
 *    conv2 368 -> 360 / 191 -> 165), GEMM below 8 input channels (deep conv1 74 -> 22 / 45 -> 17), NHWC otherwise
 *    (deep conv3 279 / 124 NHWC against 317 / 127 blocked);
 *  - backward-weights as GEMM for 64+ input channels on images of 16x16 or less (deep conv3 452 -> 279 / 243 -> 142,
 *    conv4 565 -> 446 / 236 -> 217), NHWC otherwise.
 * Other ISAs (AVX-512: brgconv, not measured here) keep NHWC everywhere.
 */
Plan choose_plan(int kind, const ConvDims& d) {
  Plan p;
  switch (g_plan_mode.load()) {
    case PLAN_NHWC: return p;
    case PLAN_BLOCKED: p.blocked = true; return p;
    case PLAN_GEMM: p.gemm = true; return p;
    default: break;
  }
  if (get_effective_cpu_isa() != cpu_isa::avx2) return p;
  const bool channels8 = d.Ci % 8 == 0 && d.Co % 8 == 0;
  if (kind == 0) {
    p.blocked = channels8 && d.Ci >= 16 && d.H * d.W <= 144;
  } else if (kind == 1) {
    if (d.Ci < 8) p.gemm = true;
    else p.blocked = channels8 && d.Ci >= 16 && d.H * d.W > 144;
  } else {
    p.gemm = d.Ci >= 64 && d.Ho * d.Wo <= 256;
  }
  return p;
}

/**
 * Scratch buffers of the calling thread for activations in the blocked layout: slot 0 for an input, 1 for the
 * other input or the output. One pair serves every primitive (calls run one at a time), grown to the largest use.
 */
struct Scratch {
  void* p[2] = {nullptr, nullptr};
  size_t n[2] = {0, 0};
  ~Scratch() { release(); }
  void release() {
    for (int i = 0; i < 2; i++) {
      std::free(p[i]);
      p[i] = nullptr;
      n[i] = 0;
    }
  }
  void* get(int slot, size_t bytes) {
    if (bytes > n[slot]) {
      std::free(p[slot]);
      p[slot] = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!p[slot]) throw std::bad_alloc();
      n[slot] = bytes;
    }
    return p[slot];
  }
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

Twin twin(const memory::desc& userMd, const memory::desc& want, bool input, int slot) {
  Twin t;
  t.user = memory(userMd, eng(), nullptr);
  t.slot = slot;
  if (want != userMd) {
    t.on = true;
    t.internal = memory(want, eng(), nullptr);
    t.r = input ? reorder(t.user, t.internal) : reorder(t.internal, t.user);
  }
  return t;
}

/** Points the twin at the caller's data (and its internal copy at scratch); reorders an input in. Returns what the primitive reads or writes. */
memory bind(Twin& t, const float* data, bool input) {
  t.user.set_data_handle(const_cast<float*>(data));
  if (!t.on) return t.user;
  t.internal.set_data_handle(scratch().get(t.slot, t.internal.get_desc().get_size()));
  if (input) t.r.execute(strm(), t.user, t.internal);
  return t.internal;
}

void flush_out(Twin& t) {
  if (t.on) t.r.execute(strm(), t.internal, t.user);
}

/**
 * Moves pd to oneDNN's GEMM implementation; false (pd back at its first choice) where there is none.
 * NOTE: oneDNN 2.6's primitive cache makes next_impl() hand back the cached first implementation again, so the
 * cache is off while we walk the list (we cache our primitives ourselves).
 */
template <typename PD>
bool to_gemm(PD& pd, const PD& first) {
  const int cap = get_primitive_cache_capacity();
  set_primitive_cache_capacity(0);
  bool found = false;
  try {
    while (pd.next_impl()) {
      if (std::strstr(pd.impl_info_str(), "gemm")) {
        found = true;
        break;
      }
    }
  } catch (...) {
  }
  set_primitive_cache_capacity(cap);
  if (!found) pd = first;
  return found;
}

memory::desc act_md(const memory::dims& dims, bool blocked) { return memory::desc(dims, dt::f32, blocked ? tag::any : tag::nhwc); }

convolution_forward::primitive_desc fwd_hint(const Geometry& g, bool blocked) {
  convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct, act_md(g.src, blocked),
                               memory::desc(g.wei, dt::f32, tag::any), act_md(g.dst, blocked), g.strides, g.dil, g.pl, g.pr);
  return convolution_forward::primitive_desc(fd, eng());
}

void prepare() { omp_set_num_threads(g_threads); }

}  // namespace

int threads() { return g_threads; }
void set_threads(int n) { g_threads = n < 1 ? 1 : n; }
void clear_caches() {
  cache().clear();
  scratch().release();
}

const char* conv_plan() { return kPlanNames[g_plan_mode]; }

const char* set_conv_plan(const char* name) {
  const int m = plan_from_name(name);
  if (m < 0) return nullptr;
  // NOTE: the plan is process-wide; this clears the calling thread's cached convolutions, built for the old plan (a
  // worker thread's keep theirs until its clearCaches()).
  if (g_plan_mode.exchange(m) != m) cache().clear();
  return kPlanNames[m];
}

void conv_forward(const ConvDims& d, const float* x, const float* w, const float* bias, float* y, int act) {
  prepare();
  auto& slot = cache()[conv_key(0, d, (bias ? 2 : 0) + act)];
  if (!slot) {
    const Geometry g = geometry(d);
    const Plan plan = choose_plan(0, d);
    auto e = std::make_unique<Entry>();
    memory::desc srcU(g.src, dt::f32, tag::nhwc), dstU(g.dst, dt::f32, tag::nhwc), weiAny(g.wei, dt::f32, tag::any), weiUser(g.wei, dt::f32, tag::hwio);
    memory::desc src = act_md(g.src, plan.blocked), dst = act_md(g.dst, plan.blocked);
    memory::desc biasMd({d.Co}, dt::f32, tag::a);
    auto fd = bias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src, weiAny, biasMd, dst, g.strides, g.dil, g.pl, g.pr)
                   : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src, weiAny, dst, g.strides, g.dil, g.pl, g.pr);
    primitive_attr attr;
    if (act == ACT_RELU) {
      post_ops po;
      po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    convolution_forward::primitive_desc pd(fd, attr, eng());
    if (plan.gemm) to_gemm(pd, convolution_forward::primitive_desc(fd, attr, eng()));
    e->prim = convolution_forward(pd);
    e->impl = std::string(pd.impl_info_str()) + (pd.src_desc() != srcU ? " blocked" : "");
    e->ta = twin(srcU, pd.src_desc(), true, 0);
    e->tc = twin(dstU, pd.dst_desc(), false, 1);
    e->b = memory(weiUser, eng(), nullptr);
    if (bias) e->bias = memory(biasMd, eng(), nullptr);
    if (pd.weights_desc() != weiUser) {
      e->wInternal = memory(pd.weights_desc(), eng());
      e->reorders.push_back(reorder(e->b, e->wInternal));
    }
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.b.set_data_handle(const_cast<float*>(w));
  if (!e.reorders.empty()) e.reorders[0].execute(strm(), e.b, e.wInternal);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, bind(e.ta, x, true)}, {DNNL_ARG_WEIGHTS, e.reorders.empty() ? e.b : e.wInternal}, {DNNL_ARG_DST, bind(e.tc, y, false)}};
  if (bias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args[DNNL_ARG_BIAS] = e.bias;
  }
  e.prim.execute(strm(), args);
  flush_out(e.tc);
  strm().wait();
}

void conv_backward_data(const ConvDims& d, const float* dy, const float* w, float* dx) {
  prepare();
  auto& slot = cache()[conv_key(1, d, 0)];
  if (!slot) {
    const Geometry g = geometry(d);
    const Plan plan = choose_plan(1, d);
    auto e = std::make_unique<Entry>();
    memory::desc srcU(g.src, dt::f32, tag::nhwc), dstU(g.dst, dt::f32, tag::nhwc), weiAny(g.wei, dt::f32, tag::any), weiUser(g.wei, dt::f32, tag::hwio);
    memory::desc src = act_md(g.src, plan.blocked), dst = act_md(g.dst, plan.blocked);
    convolution_backward_data::desc bd(algorithm::convolution_direct, src, weiAny, dst, g.strides, g.dil, g.pl, g.pr);
    const auto hint = fwd_hint(g, plan.blocked);
    convolution_backward_data::primitive_desc pd(bd, eng(), hint);
    if (plan.gemm) to_gemm(pd, convolution_backward_data::primitive_desc(bd, eng(), hint));
    e->prim = convolution_backward_data(pd);
    e->impl = std::string(pd.impl_info_str()) + (pd.diff_src_desc() != srcU ? " blocked" : "");
    e->ta = twin(dstU, pd.diff_dst_desc(), true, 0);
    e->tc = twin(srcU, pd.diff_src_desc(), false, 1);
    e->b = memory(weiUser, eng(), nullptr);
    if (pd.weights_desc() != weiUser) {
      e->wInternal = memory(pd.weights_desc(), eng());
      e->reorders.push_back(reorder(e->b, e->wInternal));
    }
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.b.set_data_handle(const_cast<float*>(w));
  if (!e.reorders.empty()) e.reorders[0].execute(strm(), e.b, e.wInternal);
  e.prim.execute(strm(), {{DNNL_ARG_DIFF_DST, bind(e.ta, dy, true)}, {DNNL_ARG_WEIGHTS, e.reorders.empty() ? e.b : e.wInternal}, {DNNL_ARG_DIFF_SRC, bind(e.tc, dx, false)}});
  flush_out(e.tc);
  strm().wait();
}

void conv_backward_weights(const ConvDims& d, const float* x, const float* dy, float* dw) {
  prepare();
  auto& slot = cache()[conv_key(2, d, 0)];
  if (!slot) {
    const Geometry g = geometry(d);
    const Plan plan = choose_plan(2, d);
    auto e = std::make_unique<Entry>();
    memory::desc srcU(g.src, dt::f32, tag::nhwc), dstU(g.dst, dt::f32, tag::nhwc), weiAny(g.wei, dt::f32, tag::any), weiUser(g.wei, dt::f32, tag::hwio);
    memory::desc src = act_md(g.src, plan.blocked), dst = act_md(g.dst, plan.blocked);
    convolution_backward_weights::desc wd(algorithm::convolution_direct, src, weiAny, dst, g.strides, g.dil, g.pl, g.pr);
    const auto hint = fwd_hint(g, plan.blocked);
    convolution_backward_weights::primitive_desc pd(wd, eng(), hint);
    if (plan.gemm) to_gemm(pd, convolution_backward_weights::primitive_desc(wd, eng(), hint));
    e->prim = convolution_backward_weights(pd);
    e->impl = std::string(pd.impl_info_str()) + (pd.src_desc() != srcU ? " blocked" : "");
    e->ta = twin(srcU, pd.src_desc(), true, 0);
    e->tb = twin(dstU, pd.diff_dst_desc(), true, 1);
    e->c = memory(weiUser, eng(), nullptr);
    if (pd.diff_weights_desc() != weiUser) {
      e->wInternal = memory(pd.diff_weights_desc(), eng());
      e->reorders.push_back(reorder(e->wInternal, e->c));
    }
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.c.set_data_handle(dw);
  e.prim.execute(strm(), {{DNNL_ARG_SRC, bind(e.ta, x, true)}, {DNNL_ARG_DIFF_DST, bind(e.tb, dy, true)}, {DNNL_ARG_DIFF_WEIGHTS, e.reorders.empty() ? e.c : e.wInternal}});
  if (!e.reorders.empty()) e.reorders[0].execute(strm(), e.wInternal, e.c);
  strm().wait();
}

void matmul(int M, int N, int K, bool ta, bool tb, const float* a, const float* b, const float* bias, float* c, int act) {
  prepare();
  auto& slot = cache()[Key{3, M, N, K, ta, tb, bias != nullptr, act}];
  if (!slot) {
    auto e = std::make_unique<Entry>();
    memory::desc aMd({M, K}, dt::f32, ta ? memory::dims{1, M} : memory::dims{K, 1});
    memory::desc bMd({K, N}, dt::f32, tb ? memory::dims{1, K} : memory::dims{N, 1});
    memory::desc cMd({M, N}, dt::f32, memory::dims{N, 1});
    memory::desc biasMd({1, N}, dt::f32, memory::dims{N, 1});
    auto md = bias ? matmul::desc(aMd, bMd, biasMd, cMd) : matmul::desc(aMd, bMd, cMd);
    primitive_attr attr;
    if (act == ACT_RELU) {
      post_ops po;
      po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    matmul::primitive_desc pd(md, attr, eng());
    e->prim = dnnl::matmul(pd);
    e->impl = pd.impl_info_str();
    e->a = memory(aMd, eng(), nullptr);
    e->b = memory(bMd, eng(), nullptr);
    e->c = memory(cMd, eng(), nullptr);
    if (bias) e->bias = memory(biasMd, eng(), nullptr);
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.a.set_data_handle(const_cast<float*>(a));
  e.b.set_data_handle(const_cast<float*>(b));
  e.c.set_data_handle(c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.c}};
  if (bias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args[DNNL_ARG_BIAS] = e.bias;
  }
  e.prim.execute(strm(), args);
  strm().wait();
}

const char* dnnl_version_string() {
  static std::string s;
  if (s.empty()) {
    const dnnl_version_t* v = dnnl_version();
    s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }
  return s.c_str();
}

const char* dnnl_isa_string() {
  switch (get_effective_cpu_isa()) {
    case cpu_isa::sse41: return "sse41";
    case cpu_isa::avx: return "avx";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

/** The oneDNN implementation each cached primitive uses ("jit:avx2", "gemm:jit", ...), for describe(). */
std::vector<std::pair<std::string, std::string>> cached_impls() {
  std::vector<std::pair<std::string, std::string>> out;
  static const char* kinds[] = {"conv_fwd", "conv_bwd_data", "conv_bwd_weights", "matmul"};
  for (auto& [k, e] : cache()) {
    std::string name = kinds[k[0]];
    for (size_t i = 1; i < k.size(); i++) name += (i == 1 ? ":" : "x") + std::to_string(k[i]);
    out.emplace_back(name, e->impl);
  }
  return out;
}

}  // namespace fer
