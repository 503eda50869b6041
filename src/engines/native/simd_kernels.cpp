// The native engine's SIMD kernels, written once with Highway (libhwy-dev) and compiled for
// AVX-512, AVX2 and the baseline (foreach_target); the best one this CPU runs is chosen once at
// start-up (never on the audio thread). Highway's Exp (1 ULP) and Tanh (4 ULP) keep the
// activations exact to float precision. kernels.hpp calls these when LEGATO_NATIVE_SIMD is set.

#if defined(__x86_64__) || defined(_M_X64)
// AVX-512 and AVX2 beside the baseline the compiler targets; other targets add nothing here.
#define HWY_TARGETS (HWY_AVX3 | HWY_AVX2 | HWY_STATIC_TARGET)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engines/native/simd_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <cstddef>

HWY_BEFORE_NAMESPACE();
namespace legato::native::HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

// Rows [r, rows) in chunks of Lanes(d), `Unroll` chunks at a time, each chunk's sum split over
// `Split` accumulators (columns c, c + Split, ...) so that at least four independent FMA chains
// hide the FMA latency; all stay in registers across every column. Returns the first row not
// done.
template <std::size_t Unroll, std::size_t Split, class D>
HWY_INLINE std::size_t MatVecRows(D d, const float* HWY_RESTRICT w, std::size_t stride,
                                  const float* HWY_RESTRICT x, const float* HWY_RESTRICT b,
                                  float* HWY_RESTRICT y, std::size_t r, std::size_t rows,
                                  std::size_t cols, bool accumulate) {
    const std::size_t N = hn::Lanes(d);
    using V = hn::Vec<D>;
    for (; r + Unroll * N <= rows; r += Unroll * N) {
        V acc[Unroll][Split];
        for (std::size_t u = 0; u < Unroll; ++u) {
            acc[u][0] = accumulate     ? hn::LoadU(d, y + r + u * N)
                        : b != nullptr ? hn::LoadU(d, b + r + u * N)
                                       : hn::Zero(d);
            for (std::size_t s = 1; s < Split; ++s)
                acc[u][s] = hn::Zero(d);
        }
        std::size_t c = 0;
        for (; c + Split <= cols; c += Split)
            for (std::size_t s = 0; s < Split; ++s) {
                const V xc = hn::Set(d, x[c + s]);
                const float* column = w + (c + s) * stride + r;
                for (std::size_t u = 0; u < Unroll; ++u)
                    acc[u][s] = hn::MulAdd(hn::LoadU(d, column + u * N), xc, acc[u][s]);
            }
        for (; c < cols; ++c) {
            const V xc = hn::Set(d, x[c]);
            const float* column = w + c * stride + r;
            for (std::size_t u = 0; u < Unroll; ++u)
                acc[u][0] = hn::MulAdd(hn::LoadU(d, column + u * N), xc, acc[u][0]);
        }
        for (std::size_t u = 0; u < Unroll; ++u) {
            for (std::size_t s = 1; s < Split; ++s)
                acc[u][0] = hn::Add(acc[u][0], acc[u][s]);
            hn::StoreU(acc[u][0], d, y + r + u * N);
        }
    }
    return r;
}

void MatVec(const float* HWY_RESTRICT w, std::size_t stride, const float* HWY_RESTRICT x,
            const float* HWY_RESTRICT b, float* HWY_RESTRICT y, std::size_t rows, std::size_t cols,
            bool accumulate) {
    const hn::ScalableTag<float> full;
    std::size_t r = MatVecRows<8, 1>(full, w, stride, x, b, y, 0, rows, cols, accumulate);
    r = MatVecRows<4, 1>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<2, 2>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<1, 4>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<1, 4>(hn::CappedTag<float, 8>(), w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<1, 4>(hn::CappedTag<float, 4>(), w, stride, x, b, y, r, rows, cols, accumulate);
    for (; r < rows; ++r) {  // fewer than 4 rows left
        float acc = accumulate ? y[r] : b != nullptr ? b[r] : 0.0f;
        for (std::size_t c = 0; c < cols; ++c)
            acc += w[c * stride + r] * x[c];
        y[r] = acc;
    }
}

// Applies `f` to x[0..n) in place; the last partial vector goes through an aligned buffer.
template <class F>
HWY_INLINE void Map(float* HWY_RESTRICT x, std::size_t n, F f) {
    const hn::ScalableTag<float> d;
    const std::size_t N = hn::Lanes(d);
    std::size_t i = 0;
    for (; i + N <= n; i += N)
        hn::StoreU(f(d, hn::LoadU(d, x + i)), d, x + i);
    if (i < n) {
        HWY_ALIGN float tail[64] = {};  // >= the widest vector of floats on any target
        for (std::size_t k = i; k < n; ++k)
            tail[k - i] = x[k];
        hn::Store(f(d, hn::Load(d, tail)), d, tail);
        for (std::size_t k = i; k < n; ++k)
            x[k] = tail[k - i];
    }
}

void TanhInPlace(float* HWY_RESTRICT x, std::size_t n) {
    Map(x, n, [](auto d, auto v) HWY_ATTR { return hn::Tanh(d, v); });
}

void SigmoidInPlace(float* HWY_RESTRICT x, std::size_t n) {
    Map(x, n, [](auto d, auto v) HWY_ATTR {
        const auto one = hn::Set(d, 1.0f);
        // exp(-x) within Exp's valid range; below -88 the result is 0 to float precision.
        const auto e = hn::Exp(d, hn::Min(hn::Neg(v), hn::Set(d, 88.0f)));
        return hn::Div(one, hn::Add(one, e));
    });
}

}  // namespace legato::native::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "engines/native/kernels.hpp"
#include "engines/native/simd_kernels.hpp"

namespace legato::native {

namespace {

struct Table {
    decltype(&HWY_STATIC_DISPATCH(MatVec)) matvec;
    decltype(&HWY_STATIC_DISPATCH(TanhInPlace)) tanh;
    decltype(&HWY_STATIC_DISPATCH(SigmoidInPlace)) sigmoid;
    const char* name;
};

// The widest target this CPU runs. Highway's own dispatch needs its library (libhwy); this
// needs only the compiler's CPU checks.
Table choose() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && (HWY_TARGETS & HWY_AVX3)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        return {&N_AVX3::MatVec, &N_AVX3::TanhInPlace, &N_AVX3::SigmoidInPlace, "AVX-512"};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return {&N_AVX2::MatVec, &N_AVX2::TanhInPlace, &N_AVX2::SigmoidInPlace, "AVX2"};
#endif
    return {&HWY_STATIC_DISPATCH(MatVec), &HWY_STATIC_DISPATCH(TanhInPlace),
            &HWY_STATIC_DISPATCH(SigmoidInPlace), hwy::TargetName(HWY_STATIC_TARGET)};
}

const Table table = choose();

}  // namespace

// Calls through the table chosen at start-up: plain arithmetic, no allocation or system call
// (clang cannot see through the pointer, hence the unverified brackets).
void simd_matvec(const float* w, std::size_t stride, const float* x, const float* b, float* y,
                 std::size_t rows, std::size_t cols, bool accumulate) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.matvec(w, stride, x, b, y, rows, cols, accumulate);
    LEGATO_UNVERIFIED_EFFECTS_END
}

void simd_tanh(float* x, std::size_t n) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.tanh(x, n);
    LEGATO_UNVERIFIED_EFFECTS_END
}

void simd_sigmoid(float* x, std::size_t n) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.sigmoid(x, n);
    LEGATO_UNVERIFIED_EFFECTS_END
}

const char* simd_target() noexcept {
    return table.name;
}

}  // namespace legato::native
#endif  // HWY_ONCE
