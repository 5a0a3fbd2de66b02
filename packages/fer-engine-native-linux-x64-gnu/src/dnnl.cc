// Convolutions and matrix products through oneDNN (the library PyTorch's CPU convolutions use), on
// tensors in place: NHWC activations and tfjs' [fh,fw,ci,co] filters are described to oneDNN as they
// lie in memory, weights are reordered into oneDNN's blocked layout per call (they change every step).
// Primitives are cached per JS thread (thread_local), so worker_threads never share mutable state.
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
struct Entry {
  primitive prim;
  std::vector<reorder> reorders;   // per-call weight reorders (user <-> internal), may be empty
  memory a, b, c, bias, wInternal;   // user memories get their handle set per call
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

convolution_forward::primitive_desc fwd_hint(const Geometry& g) {
  convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct, memory::desc(g.src, dt::f32, tag::nhwc),
                               memory::desc(g.wei, dt::f32, tag::any), memory::desc(g.dst, dt::f32, tag::nhwc), g.strides, g.dil, g.pl, g.pr);
  return convolution_forward::primitive_desc(fd, eng());
}

void prepare() { omp_set_num_threads(g_threads); }

}  // namespace

int threads() { return g_threads; }
void set_threads(int n) { g_threads = n < 1 ? 1 : n; }
void clear_caches() { cache().clear(); }

void conv_forward(const ConvDims& d, const float* x, const float* w, const float* bias, float* y, int act) {
  prepare();
  auto& slot = cache()[conv_key(0, d, (bias ? 2 : 0) + act)];
  if (!slot) {
    const Geometry g = geometry(d);
    auto e = std::make_unique<Entry>();
    memory::desc src(g.src, dt::f32, tag::nhwc), dst(g.dst, dt::f32, tag::nhwc), weiAny(g.wei, dt::f32, tag::any), weiUser(g.wei, dt::f32, tag::hwio);
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
    e->prim = convolution_forward(pd);
    e->impl = pd.impl_info_str();
    e->a = memory(src, eng(), nullptr);
    e->b = memory(weiUser, eng(), nullptr);
    e->c = memory(dst, eng(), nullptr);
    if (bias) e->bias = memory(biasMd, eng(), nullptr);
    if (pd.weights_desc() != weiUser) {
      e->wInternal = memory(pd.weights_desc(), eng());
      e->reorders.push_back(reorder(e->b, e->wInternal));
    }
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.a.set_data_handle(const_cast<float*>(x));
  e.b.set_data_handle(const_cast<float*>(w));
  e.c.set_data_handle(y);
  if (!e.reorders.empty()) e.reorders[0].execute(strm(), e.b, e.wInternal);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.reorders.empty() ? e.b : e.wInternal}, {DNNL_ARG_DST, e.c}};
  if (bias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args[DNNL_ARG_BIAS] = e.bias;
  }
  e.prim.execute(strm(), args);
  strm().wait();
}

void conv_backward_data(const ConvDims& d, const float* dy, const float* w, float* dx) {
  prepare();
  auto& slot = cache()[conv_key(1, d, 0)];
  if (!slot) {
    const Geometry g = geometry(d);
    auto e = std::make_unique<Entry>();
    memory::desc src(g.src, dt::f32, tag::nhwc), dst(g.dst, dt::f32, tag::nhwc), weiAny(g.wei, dt::f32, tag::any), weiUser(g.wei, dt::f32, tag::hwio);
    convolution_backward_data::desc bd(algorithm::convolution_direct, src, weiAny, dst, g.strides, g.dil, g.pl, g.pr);
    convolution_backward_data::primitive_desc pd(bd, eng(), fwd_hint(g));
    e->prim = convolution_backward_data(pd);
    e->impl = pd.impl_info_str();
    e->a = memory(dst, eng(), nullptr);  // diff_dst
    e->b = memory(weiUser, eng(), nullptr);
    e->c = memory(src, eng(), nullptr);  // diff_src
    if (pd.weights_desc() != weiUser) {
      e->wInternal = memory(pd.weights_desc(), eng());
      e->reorders.push_back(reorder(e->b, e->wInternal));
    }
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.a.set_data_handle(const_cast<float*>(dy));
  e.b.set_data_handle(const_cast<float*>(w));
  e.c.set_data_handle(dx);
  if (!e.reorders.empty()) e.reorders[0].execute(strm(), e.b, e.wInternal);
  e.prim.execute(strm(), {{DNNL_ARG_DIFF_DST, e.a}, {DNNL_ARG_WEIGHTS, e.reorders.empty() ? e.b : e.wInternal}, {DNNL_ARG_DIFF_SRC, e.c}});
  strm().wait();
}

void conv_backward_weights(const ConvDims& d, const float* x, const float* dy, float* dw) {
  prepare();
  auto& slot = cache()[conv_key(2, d, 0)];
  if (!slot) {
    const Geometry g = geometry(d);
    auto e = std::make_unique<Entry>();
    memory::desc src(g.src, dt::f32, tag::nhwc), dst(g.dst, dt::f32, tag::nhwc), weiAny(g.wei, dt::f32, tag::any), weiUser(g.wei, dt::f32, tag::hwio);
    convolution_backward_weights::desc wd(algorithm::convolution_direct, src, weiAny, dst, g.strides, g.dil, g.pl, g.pr);
    convolution_backward_weights::primitive_desc pd(wd, eng(), fwd_hint(g));
    e->prim = convolution_backward_weights(pd);
    e->impl = pd.impl_info_str();
    e->a = memory(src, eng(), nullptr);
    e->b = memory(dst, eng(), nullptr);  // diff_dst
    e->c = memory(weiUser, eng(), nullptr);
    if (pd.diff_weights_desc() != weiUser) {
      e->wInternal = memory(pd.diff_weights_desc(), eng());
      e->reorders.push_back(reorder(e->wInternal, e->c));
    }
    slot = std::move(e);
  }
  Entry& e = *slot;
  e.a.set_data_handle(const_cast<float*>(x));
  e.b.set_data_handle(const_cast<float*>(dy));
  e.c.set_data_handle(dw);
  e.prim.execute(strm(), {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_DIFF_DST, e.b}, {DNNL_ARG_DIFF_WEIGHTS, e.reorders.empty() ? e.c : e.wInternal}});
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
