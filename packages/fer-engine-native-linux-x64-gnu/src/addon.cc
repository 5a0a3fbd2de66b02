// Node-API glue of the @fer/engine native kernels. Every kernel is synchronous and works in place on
// Float32Array views of the tfjs-backend-wasm heap (no copies): the JS side passes views of the inputs
// and of outputs it has already allocated. Sizes are checked here, so a wrong call throws a JS Error
// instead of writing out of bounds. Node-API version 8: one binary serves every Node version.
#define NAPI_VERSION 8
#include <node_api.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>
#include "common.h"

namespace fer {
std::vector<std::pair<std::string, std::string>> cached_impls();
}

namespace {

struct ArgError {
  std::string msg;
};

#define NAPI_OK(call)                                   \
  do {                                                  \
    if ((call) != napi_ok) throw ArgError{"N-API call failed: " #call}; \
  } while (0)

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];
  std::string fn;
  Args(napi_env e, napi_callback_info info, const char* name) : env(e), fn(name) {
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  }
  [[noreturn]] void fail(size_t i, const std::string& what) const {
    throw ArgError{fn + ": argument " + std::to_string(i) + " " + what};
  }
  bool isNull(size_t i) const {
    if (i >= argc) return true;
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    return t == napi_null || t == napi_undefined;
  }
  /** String argument `i` (up to 31 bytes: the names the setters take); "" when it is missing or not a string. */
  std::string name(size_t i) const {
    char buf[32];
    size_t len = 0;
    if (i >= argc || napi_get_value_string_utf8(env, argv[i], buf, sizeof buf, &len) != napi_ok) return "";
    return std::string(buf, len);
  }
  /** The data of typed array argument `i` if it is of type `want` (its length in `len`), else nullptr. */
  void* typed(size_t i, napi_typedarray_type want, size_t* len) const {
    bool is = false;
    napi_is_typedarray(env, argv[i], &is);
    if (!is) return nullptr;
    napi_typedarray_type type;
    void* data;
    NAPI_OK(napi_get_typedarray_info(env, argv[i], &type, len, &data, nullptr, nullptr));
    return type == want ? data : nullptr;
  }
  /** A Float32Array argument (or nullptr when optional and null); `n` gets its length. */
  float* f32(size_t i, size_t* n, bool optional = false) const {
    if (isNull(i)) {
      if (optional) {
        if (n) *n = 0;
        return nullptr;
      }
      fail(i, "is missing; expected a Float32Array");
    }
    size_t len = 0;
    void* data = typed(i, napi_float32_array, &len);
    if (!data) fail(i, "is not a Float32Array");
    if (n) *n = len;
    return static_cast<float*>(data);
  }
  float* f32Len(size_t i, size_t need, bool optional = false) const {
    size_t n;
    float* p = f32(i, &n, optional);
    if (p && n < need) fail(i, "has " + std::to_string(n) + " elements; expected at least " + std::to_string(need));
    return p;
  }
  std::vector<int> ints(size_t i, size_t count) const {
    size_t len = 0;
    void* data = typed(i, napi_int32_array, &len);
    if (!data || len < count) fail(i, "must be an Int32Array of " + std::to_string(count) + " dimensions");
    const int* p = static_cast<int*>(data);
    for (size_t k = 0; k < count; k++)
      if (p[k] < 0) fail(i, "has a negative dimension at index " + std::to_string(k));
    return std::vector<int>(p, p + count);
  }
  /** Channel count argument `i` for an NHWC input of `n` floats: at least 1 and dividing n. */
  size_t channels(size_t i, size_t n) const {
    const size_t C = size_t(num(i));
    if (C < 1 || n % C) fail(i, "channels must divide the input size");
    return C;
  }
  /** The dropout generator's state argument: a Float64Array [c, s0, s1, s2], advanced in place. */
  double* aleaState(size_t i) const {
    size_t len = 0;
    void* data = typed(i, napi_float64_array, &len);
    if (!data || len < 4) fail(i, "must be a Float64Array [c, s0, s1, s2]");
    return static_cast<double*>(data);
  }
  /** Dropout's keep probability argument, in (0, 1]. */
  float keepProb(size_t i) const {
    const double keep = num(i);
    if (!(keep > 0 && keep <= 1)) fail(i, "keepProb must be in (0, 1]");
    return float(keep);
  }
  double num(size_t i) const {
    double v;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) fail(i, "is not a number");
    return v;
  }
  int i32(size_t i) const { return static_cast<int>(num(i)); }
  bool flag(size_t i) const {
    bool v = false;
    if (i >= argc) return false;
    if (napi_get_value_bool(env, argv[i], &v) != napi_ok) return num(i) != 0;
    return v;
  }
};

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

template <typename F>
napi_value guard(napi_env env, F f) {
  try {
    return f();
  } catch (const ArgError& e) {
    napi_throw_type_error(env, "E_NATIVE_ARGS", e.msg.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "E_NATIVE_KERNEL", e.what());
  } catch (...) {
    napi_throw_error(env, "E_NATIVE_KERNEL", "unknown native error");
  }
  return nullptr;
}

size_t prod(std::initializer_list<int> v) {
  size_t p = 1;
  for (int x : v) p *= size_t(x);
  return p;
}

fer::ConvDims convDims(const Args& a, size_t i) {
  auto v = a.ints(i, 17);
  fer::ConvDims d{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
  if (d.sh < 1 || d.sw < 1 || d.dh < 1 || d.dw < 1) a.fail(i, "has a stride or dilation below 1");
  return d;
}

fer::PoolDims poolDims(const Args& a, size_t i) {
  auto v = a.ints(i, 12);
  fer::PoolDims d{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  if (d.sh < 1 || d.sw < 1) a.fail(i, "has a stride below 1");
  return d;
}

// --- Kernels ---

napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "convForward");
    auto d = convDims(a, 4);
    const float* x = a.f32Len(0, prod({d.B, d.H, d.W, d.Ci}));
    const float* w = a.f32Len(1, prod({d.fh, d.fw, d.Ci, d.Co}));
    const float* b = a.f32Len(2, size_t(d.Co), true);
    float* y = a.f32Len(3, prod({d.B, d.Ho, d.Wo, d.Co}));
    fer::conv_forward(d, x, w, b, y, a.i32(5));
    return undefined(env);
  });
}

napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "convBackwardData");
    auto d = convDims(a, 3);
    const float* dy = a.f32Len(0, prod({d.B, d.Ho, d.Wo, d.Co}));
    const float* w = a.f32Len(1, prod({d.fh, d.fw, d.Ci, d.Co}));
    float* dx = a.f32Len(2, prod({d.B, d.H, d.W, d.Ci}));
    fer::conv_backward_data(d, dy, w, dx);
    return undefined(env);
  });
}

napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "convBackwardWeights");
    auto d = convDims(a, 3);
    const float* x = a.f32Len(0, prod({d.B, d.H, d.W, d.Ci}));
    const float* dy = a.f32Len(1, prod({d.B, d.Ho, d.Wo, d.Co}));
    float* dw = a.f32Len(2, prod({d.fh, d.fw, d.Ci, d.Co}));
    fer::conv_backward_weights(d, x, dy, dw);
    return undefined(env);
  });
}

napi_value MatMul(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "matmul");
    const int M = a.i32(4), N = a.i32(5), K = a.i32(6);
    if (M < 1 || N < 1 || K < 1) a.fail(4, "M, N, K must be positive");
    const float* A = a.f32Len(0, size_t(M) * K);
    const float* B = a.f32Len(1, size_t(K) * N);
    const float* bias = a.f32Len(2, size_t(N), true);
    float* C = a.f32Len(3, size_t(M) * N);
    fer::matmul(M, N, K, a.flag(7), a.flag(8), A, B, bias, C, a.i32(9));
    return undefined(env);
  });
}

napi_value Binary(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "binary");
    size_t na, nb, no;
    const float* A = a.f32(1, &na);
    const float* B = a.f32(2, &nb);
    float* O = a.f32(3, &no);
    const size_t n = na > nb ? na : nb;
    if (na == 0 || nb == 0 || (na > nb ? na % nb : nb % na) != 0) a.fail(2, "does not broadcast: sizes " + std::to_string(na) + " and " + std::to_string(nb));
    if (no < n) a.fail(3, "is smaller than the result");
    fer::binary(a.i32(0), A, na, B, nb, O);
    return undefined(env);
  });
}

napi_value Unary(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "unary");
    size_t n, no;
    const float* X = a.f32(1, &n);
    float* O = a.f32(2, &no);
    if (no < n) a.fail(2, "is smaller than the input");
    fer::unary(a.i32(0), X, O, n, float(a.argc > 3 ? a.num(3) : 0.0));
    return undefined(env);
  });
}

napi_value ReluGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "reluGrad");
    size_t n;
    const float* dy = a.f32(0, &n);
    const float* x = a.f32Len(1, n);
    float* out = a.f32Len(2, n);
    fer::relu_grad(dy, x, out, n);
    return undefined(env);
  });
}

napi_value ReduceLeading(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "reduceLeading");
    const double rows = a.num(2), cols = a.num(3);
    if (rows < 1 || cols < 1) a.fail(2, "rows and cols must be positive");
    const float* X = a.f32Len(0, size_t(rows) * size_t(cols));
    float* O = a.f32Len(1, size_t(cols));
    fer::reduce_leading(X, O, size_t(rows), size_t(cols), a.flag(4));
    return undefined(env);
  });
}

napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "batchNorm");
    size_t n, nm, nv, no, ns, nout;
    const float* X = a.f32(0, &n);
    const float* mean = a.f32(1, &nm);
    const float* var = a.f32(2, &nv);
    const float* off = a.f32(3, &no, true);
    const float* sc = a.f32(4, &ns, true);
    float* O = a.f32(5, &nout);
    const size_t C = a.channels(6, n);
    const float* ps[] = {mean, var, off, sc};
    const size_t ks[] = {nm, nv, no, ns};
    for (size_t i = 0; i < 4; i++)
      if (ps[i] && ks[i] != 1 && ks[i] != C) a.fail(i + 1, "must have 1 or " + std::to_string(C) + " elements");
    if (nout < n) a.fail(5, "is smaller than the input");
    fer::batch_norm(X, mean, nm, var, nv, off, no, sc, ns, O, n, C, float(a.num(7)));
    return undefined(env);
  });
}

napi_value BatchNormGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "batchNormGrad");
    size_t n;
    const float* X = a.f32(0, &n);
    const size_t C = a.channels(10, n);
    const float* mean = a.f32Len(1, C);
    const float* var = a.f32Len(2, C);
    const float* sc = a.f32Len(3, C, true);
    const float* dy = a.f32Len(4, n);
    float* dx = a.f32Len(5, n);
    float* outs[4];
    for (size_t i = 0; i < 4; i++) outs[i] = a.f32Len(6 + i, C);
    fer::batch_norm_grad(X, mean, var, sc, dy, dx, outs[0], outs[1], outs[2], outs[3], n, C, float(a.num(11)));
    return undefined(env);
  });
}

napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "batchNormTrain");
    size_t n;
    const float* X = a.f32(0, &n);
    const size_t C = a.channels(6, n);
    const float* sc = a.f32Len(1, C, true);
    const float* off = a.f32Len(2, C, true);
    float* Y = a.f32Len(3, n);
    float* mean = a.f32Len(4, C);
    float* var = a.f32Len(5, C);
    fer::batch_norm_train(X, sc, off, Y, mean, var, n, C, float(a.num(7)));
    return undefined(env);
  });
}

napi_value BatchNormTrainGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "batchNormTrainGrad");
    size_t n;
    const float* X = a.f32(0, &n);
    const size_t C = a.channels(8, n);
    const float* mean = a.f32Len(1, C);
    const float* var = a.f32Len(2, C);
    const float* sc = a.f32Len(3, C, true);
    const float* dy = a.f32Len(4, n);
    float* dx = a.f32Len(5, n);
    float* dsc = a.f32Len(6, C);
    float* doff = a.f32Len(7, C);
    fer::batch_norm_train_grad(X, mean, var, sc, dy, dx, dsc, doff, n, C, float(a.num(9)));
    return undefined(env);
  });
}

napi_value MaxPool(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "maxPool");
    auto d = poolDims(a, 2);
    const float* X = a.f32Len(0, prod({d.B, d.H, d.W, d.C}));
    float* Y = a.f32Len(1, prod({d.B, d.Ho, d.Wo, d.C}));
    fer::max_pool(d, X, Y);
    return undefined(env);
  });
}

napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "maxPoolGrad");
    auto d = poolDims(a, 3);
    const float* X = a.f32Len(0, prod({d.B, d.H, d.W, d.C}));
    const float* DY = a.f32Len(1, prod({d.B, d.Ho, d.Wo, d.C}));
    float* DX = a.f32Len(2, prod({d.B, d.H, d.W, d.C}));
    fer::max_pool_grad(d, X, DY, DX);
    return undefined(env);
  });
}

napi_value Adam(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "adam");
    size_t n;
    const float* w = a.f32(0, &n);
    const float* g = a.f32Len(1, n);
    const float* m = a.f32Len(2, n);
    const float* v = a.f32Len(3, n);
    float* w2 = a.f32Len(4, n);
    float* m2 = a.f32Len(5, n);
    float* v2 = a.f32Len(6, n);
    const float* p = a.f32Len(7, 9);  // lr, beta1, 1-beta1, beta2, 1-beta2, 1-accBeta1, 1-accBeta2, eps (float32, as tfjs)
    fer::adam(n, w, g, m, v, w2, m2, v2, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
    return undefined(env);
  });
}

napi_value DropoutMask(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "dropoutMask");
    size_t n;
    float* out = a.f32(0, &n);
    double* state = a.aleaState(1);
    const float keep = a.keepProb(2);
    fer::dropout_mask(out, n, state, keep);
    return undefined(env);
  });
}

napi_value DropoutApply(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "dropoutApply");
    size_t n;
    const float* x = a.f32(0, &n);
    float* out = a.f32Len(1, n);
    double* state = a.aleaState(2);
    const float keep = a.keepProb(3);
    fer::dropout_apply(x, out, n, state, keep);
    return undefined(env);
  });
}

napi_value Sgd(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "sgd");
    size_t n;
    const float* w = a.f32(0, &n);
    const float* g = a.f32Len(1, n);
    float* w2 = a.f32Len(2, n);
    fer::sgd(n, w, g, w2, float(a.num(3)));
    return undefined(env);
  });
}

napi_value Momentum(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "momentum");
    size_t n;
    const float* w = a.f32(0, &n);
    const float* g = a.f32Len(1, n);
    const float* acc = a.f32Len(2, n);
    float* w2 = a.f32Len(3, n);
    float* acc2 = a.f32Len(4, n);
    fer::momentum(n, w, g, acc, w2, acc2, float(a.num(5)), float(a.num(6)), a.flag(7));
    return undefined(env);
  });
}

// --- Control ---

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "setThreads");
    const int n = a.i32(0);
    if (n < 1) a.fail(0, "must be a positive integer");
    fer::set_threads(n);
    return undefined(env);
  });
}

napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

/** setKernelIsa('sse2' | 'avx2' | 'avx512' | 'auto'): the element-wise kernels' instruction set (for tests and A/B
 *  measurements), capped by the CPU and ONEDNN_MAX_CPU_ISA; returns the one chosen. */
napi_value SetKernelIsa(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "setKernelIsa");
    const std::string name = a.name(0);
    const char* chosen = fer::set_kernel_isa(name.c_str());
    if (!chosen) a.fail(0, "is '" + name + "'; expected 'sse2', 'avx2', 'avx512' or 'auto'");
    return str(env, chosen);
  });
}

/** setConvPlan('auto' | 'nhwc' | 'blocked' | 'gemm'): how convolutions run (for tests and A/B measurements); returns it. */
napi_value SetConvPlan(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "setConvPlan");
    const std::string name = a.name(0);
    const char* chosen = name.empty() ? nullptr : fer::set_conv_plan(name.c_str());
    if (!chosen) a.fail(0, "is '" + name + "'; expected 'auto', 'nhwc', 'blocked' or 'gemm'");
    return str(env, chosen);
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guard(env, [&] {
    napi_value o, n;
    NAPI_OK(napi_create_object(env, &o));
    NAPI_OK(napi_set_named_property(env, o, "dnnl", str(env, fer::dnnl_version_string())));
    NAPI_OK(napi_set_named_property(env, o, "isa", str(env, fer::dnnl_isa_string())));
    NAPI_OK(napi_set_named_property(env, o, "kernelIsa", str(env, fer::kernel_isa())));
    napi_value isas;
    const int top = fer::kernel_isa_max();
    NAPI_OK(napi_create_array_with_length(env, size_t(top + 1), &isas));
    for (int l = 0; l <= top; l++) NAPI_OK(napi_set_element(env, isas, uint32_t(l), str(env, fer::kernel_isa_name(l))));
    NAPI_OK(napi_set_named_property(env, o, "kernelIsas", isas));
    NAPI_OK(napi_set_named_property(env, o, "convPlan", str(env, fer::conv_plan())));
    NAPI_OK(napi_create_int32(env, fer::threads(), &n));
    NAPI_OK(napi_set_named_property(env, o, "threads", n));
    const char* wp = std::getenv("OMP_WAIT_POLICY");
    NAPI_OK(napi_set_named_property(env, o, "ompWaitPolicy", str(env, wp ? wp : "")));
    napi_value impls;
    auto list = fer::cached_impls();
    NAPI_OK(napi_create_object(env, &impls));
    for (auto& [k, v] : list) NAPI_OK(napi_set_named_property(env, impls, k.c_str(), str(env, v)));
    NAPI_OK(napi_set_named_property(env, o, "primitives", impls));
    return o;
  });
}

napi_value ClearCaches(napi_env env, napi_callback_info) {
  return guard(env, [&] {
    fer::clear_caches();
    return undefined(env);
  });
}

}  // namespace

NAPI_MODULE_INIT() {
  const std::pair<const char*, napi_callback> fns[] = {
      {"convForward", ConvForward}, {"convBackwardData", ConvBackwardData}, {"convBackwardWeights", ConvBackwardWeights},
      {"matmul", MatMul}, {"binary", Binary}, {"unary", Unary}, {"reduceLeading", ReduceLeading}, {"reluGrad", ReluGrad}, {"batchNorm", BatchNorm}, {"batchNormGrad", BatchNormGrad},
      {"batchNormTrain", BatchNormTrain}, {"batchNormTrainGrad", BatchNormTrainGrad},
      {"maxPool", MaxPool}, {"maxPoolGrad", MaxPoolGrad}, {"adam", Adam}, {"dropoutMask", DropoutMask}, {"dropoutApply", DropoutApply}, {"sgd", Sgd}, {"momentum", Momentum},
      {"setThreads", SetThreads}, {"setKernelIsa", SetKernelIsa}, {"setConvPlan", SetConvPlan}, {"info", Info}, {"clearCaches", ClearCaches},
  };
  for (auto& [name, cb] : fns) {
    napi_value f;
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &f) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, name, f) != napi_ok) return nullptr;
  }
  return exports;
}
