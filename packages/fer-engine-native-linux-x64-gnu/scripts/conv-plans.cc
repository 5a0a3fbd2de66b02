// The measurement behind dnnl.cc's choose_plan: every direction of the paper networks' convolutions (batch 128,
// 'same', stride 1) in each plan (oneDNN's direct kernel on NHWC, the direct kernel in oneDNN's blocked layout with
// the activations reordered in and out, and im2col + GEMM on NHWC or blocked), reorders included, best of 5 calls
// after one warm-up. One JSON line per layer, direction and plan; pause other work first.
//   g++ -O2 -std=c++17 scripts/conv-plans.cc -ldnnl -fopenmp -o /tmp/conv-plans
//   OMP_WAIT_POLICY=PASSIVE /tmp/conv-plans 1   # threads (default 1)
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static engine eng(engine::kind::cpu, 0);
static stream strm(eng);

struct Layer {
  const char* name;
  int B, H, W, Ci, Co, k;
};

static double now_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/** Moves pd to its GEMM implementation (the primitive cache off: oneDNN 2.6's cache defeats next_impl). */
template <typename PD>
static bool to_gemm(PD& pd) {
  const int cap = get_primitive_cache_capacity();
  set_primitive_cache_capacity(0);
  bool found = false;
  while (!found && pd.next_impl()) found = std::strstr(pd.impl_info_str(), "gemm") != nullptr;
  set_primitive_cache_capacity(cap);
  return found;
}

/** Milliseconds of one call of direction `dir` (0 forward, 1 backward-data, 2 backward-weights); impl gets the name. */
static double measure(const Layer& l, int dir, bool blocked, bool gemm, std::string& impl) {
  const int p = l.k / 2;
  memory::dims src{l.B, l.Ci, l.H, l.W}, wei{l.Co, l.Ci, l.k, l.k}, dst{l.B, l.Co, l.H, l.W}, st{1, 1}, dil{0, 0}, pad{p, p};
  memory::desc srcU(src, dt::f32, tag::nhwc), dstU(dst, dt::f32, tag::nhwc), weiU(wei, dt::f32, tag::hwio), weiA(wei, dt::f32, tag::any);
  memory::desc srcA(src, dt::f32, blocked ? tag::any : tag::nhwc), dstA(dst, dt::f32, blocked ? tag::any : tag::nhwc);
  memory xs(srcU, eng), ys(dstU, eng), ws(weiU, eng);
  for (memory* m : {&xs, &ys, &ws}) {
    float* f = static_cast<float*>(m->get_data_handle());
    const size_t n = m->get_desc().get_size() / sizeof(float);
    for (size_t i = 0; i < n; i++) f[i] = float((i * 2654435761u) % 1000) / 1000.f - 0.5f;
  }
  convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct, srcA, weiA, dstA, st, dil, pad, pad);
  convolution_forward::primitive_desc fpd(fd, eng);
  std::vector<std::pair<primitive, std::unordered_map<int, memory>>> seq;
  auto in = [&](memory& user, const memory::desc& want) -> memory {
    if (want == user.get_desc()) return user;
    memory m(want, eng);
    seq.push_back({reorder(user, m), {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, m}}});
    return m;
  };
  auto out = [&](memory& user, const memory::desc& have) -> memory { return have == user.get_desc() ? user : memory(have, eng); };
  auto back = [&](memory& internal, memory& user) {
    if (internal.get_desc() != user.get_desc()) seq.push_back({reorder(internal, user), {{DNNL_ARG_FROM, internal}, {DNNL_ARG_TO, user}}});
  };
  if (dir == 0) {
    if (gemm && !to_gemm(fpd)) return -1;
    memory x = in(xs, fpd.src_desc()), w = in(ws, fpd.weights_desc()), y = out(ys, fpd.dst_desc());
    seq.push_back({convolution_forward(fpd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}}});
    back(y, ys);
    impl = fpd.impl_info_str();
  } else if (dir == 1) {
    convolution_backward_data::desc bd(algorithm::convolution_direct, srcA, weiA, dstA, st, dil, pad, pad);
    convolution_backward_data::primitive_desc pd(bd, eng, fpd);
    if (gemm && !to_gemm(pd)) return -1;
    memory dy = in(ys, pd.diff_dst_desc()), w = in(ws, pd.weights_desc()), dx = out(xs, pd.diff_src_desc());
    seq.push_back({convolution_backward_data(pd), {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}}});
    back(dx, xs);
    impl = pd.impl_info_str();
  } else {
    convolution_backward_weights::desc wd(algorithm::convolution_direct, srcA, weiA, dstA, st, dil, pad, pad);
    convolution_backward_weights::primitive_desc pd(wd, eng, fpd);
    if (gemm && !to_gemm(pd)) return -1;
    memory x = in(xs, pd.src_desc()), dy = in(ys, pd.diff_dst_desc()), dw = out(ws, pd.diff_weights_desc());
    seq.push_back({convolution_backward_weights(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}}});
    back(dw, ws);
    impl = pd.impl_info_str();
  }
  auto run = [&] {
    for (auto& [prim, args] : seq) prim.execute(strm, args);
    strm.wait();
  };
  run();
  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    const double t = now_ms();
    run();
    best = std::min(best, now_ms() - t);
  }
  return best;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  omp_set_num_threads(threads);
  const Layer layers[] = {{"shallow.conv1", 128, 48, 48, 1, 32, 3},  {"shallow.conv2", 128, 48, 48, 32, 64, 3}, {"deep.conv1", 128, 48, 48, 1, 64, 3},
                          {"deep.conv2", 128, 24, 24, 64, 128, 5}, {"deep.conv3", 128, 12, 12, 128, 512, 3}, {"deep.conv4", 128, 6, 6, 512, 512, 3}};
  const char* dirs[] = {"forward", "backward-data", "backward-weights"};
  const struct { const char* name; bool blocked, gemm; } plans[] = {{"nhwc", false, false}, {"blocked", true, false}, {"gemm", false, true}, {"blocked-gemm", true, true}};
  for (const Layer& l : layers)
    for (int d = 0; d < 3; d++)
      for (const auto& p : plans) {
        std::string impl;
        const double ms = measure(l, d, p.blocked, p.gemm, impl);
        if (ms < 0) continue;
        std::printf("{\"layer\":\"%s\",\"op\":\"%s\",\"plan\":\"%s\",\"impl\":\"%s\",\"threads\":%d,\"ms\":%.1f}\n", l.name, dirs[d], p.name, impl.c_str(), threads, ms);
        std::fflush(stdout);
      }
}
