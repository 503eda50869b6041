// The native engine's SIMD kernels, written once with Highway (libhwy-dev) and compiled for
// AVX-512, AVX2 and the baseline (foreach_target); the best one this CPU runs is chosen once at
// start-up (never on the audio thread). Highway's exp reduction and polynomial (1 ULP) keep
// the activations exact to float precision. kernels.hpp calls these when LEGATO_NATIVE_SIMD is set.

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
#include <cstdint>
#include <type_traits>
#include <utility>

#include "engines/native/kernels.hpp"

HWY_BEFORE_NAMESPACE();
namespace legato::native::HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

// mul * x + add, fused where the target has it: Highway 1.0.3's WebAssembly MulAdd is a
// multiply and an add, while relaxed SIMD (-mrelaxed-simd) has one instruction for it.
template <class V>
HWY_INLINE V Fma(V mul, V x, V add) {
#if HWY_TARGET == HWY_WASM && defined(__wasm_relaxed_simd__)
    if constexpr (sizeof(hn::TFromV<V>) == 4)
        return V{wasm_f32x4_relaxed_madd(mul.raw, x.raw, add.raw)};
#endif
    return hn::MulAdd(mul, x, add);
}

// Keeps v in a register: GCC folds a load into every FMA that uses it (a memory operand each),
// so a weight shared by two channels was loaded twice, and loads are what bound these products
// (about one 64-byte load per cycle here: two channels then cost twice one). An empty asm
// statement that "changes" v; no instruction.
template <class V>
HWY_INLINE void KeepInRegister(V& v) {
#if defined(__GNUC__) && HWY_ARCH_X86 && HWY_TARGET <= HWY_SSSE3  // raw is one register
    asm("" : "+v"(v.raw));
#else
    (void)v;
#endif
}

// Rows [r, rows) in chunks of Lanes(d), `Unroll` chunks at a time, each chunk's sum split over
// `Split` accumulators (columns c, c + Split, ...) so that at least four independent FMA chains
// hide the FMA latency; all stay in registers across every column. `Channels` vectors x (at
// x_stride apart) share each weight load, each into its own y (y_stride apart): a channel's
// terms are summed in the same order whatever `Channels` is. Returns the first row not done.
template <std::size_t Unroll, std::size_t Split, std::size_t Channels = 1, class D>
HWY_INLINE std::size_t MatVecRows(D d, const float* HWY_RESTRICT w, std::size_t stride,
                                  const float* HWY_RESTRICT x, const float* HWY_RESTRICT b,
                                  float* HWY_RESTRICT y, std::size_t r, std::size_t rows,
                                  std::size_t cols, bool accumulate, std::size_t x_stride = 0,
                                  std::size_t y_stride = 0) {
    const std::size_t N = hn::Lanes(d);
    using V = hn::Vec<D>;
    for (; r + Unroll * N <= rows; r += Unroll * N) {
        V acc[Channels][Unroll][Split];
        for (std::size_t k = 0; k < Channels; ++k)
            for (std::size_t u = 0; u < Unroll; ++u) {
                acc[k][u][0] = accumulate     ? hn::LoadU(d, y + k * y_stride + r + u * N)
                               : b != nullptr ? hn::LoadU(d, b + r + u * N)
                                              : hn::Zero(d);
                for (std::size_t s = 1; s < Split; ++s)
                    acc[k][u][s] = hn::Zero(d);
            }
        std::size_t c = 0;
        for (; c + Split <= cols; c += Split)
            for (std::size_t s = 0; s < Split; ++s) {
                const float* column = w + (c + s) * stride + r;
                V xc[Channels];
                for (std::size_t k = 0; k < Channels; ++k)
                    xc[k] = hn::Set(d, x[k * x_stride + c + s]);
                for (std::size_t u = 0; u < Unroll; ++u) {
                    V weight = hn::LoadU(d, column + u * N);
                    if constexpr (Channels > 1)
                        KeepInRegister(weight);
                    for (std::size_t k = 0; k < Channels; ++k)
                        acc[k][u][s] = Fma(weight, xc[k], acc[k][u][s]);
                }
            }
        for (; c < cols; ++c) {
            const float* column = w + c * stride + r;
            for (std::size_t u = 0; u < Unroll; ++u) {
                V weight = hn::LoadU(d, column + u * N);
                if constexpr (Channels > 1)
                    KeepInRegister(weight);
                for (std::size_t k = 0; k < Channels; ++k)
                    acc[k][u][0] = Fma(weight, hn::Set(d, x[k * x_stride + c]), acc[k][u][0]);
            }
        }
        for (std::size_t k = 0; k < Channels; ++k)
            for (std::size_t u = 0; u < Unroll; ++u) {
                for (std::size_t s = 1; s < Split; ++s)
                    acc[k][u][0] = hn::Add(acc[k][u][0], acc[k][u][s]);
                hn::StoreU(acc[k][u][0], d, y + k * y_stride + r + u * N);
            }
    }
    return r;
}

// The rows MatVec's cascade below runs with Split 1: every 12 full vectors, then of the m < 12
// left one chunk of 10, 8, 6 or 4 (none when m < 4), which leaves 0 or 1.
inline std::size_t SingleChainRows(std::size_t rows, std::size_t N) {
    const std::size_t chunks = rows / N;
    const std::size_t m = chunks % 12;
    return (chunks - m + (m < 4 ? 0 : m - m % 2)) * N;
}

// The rows after the single-chain ones, and the single-output dot product: as MatVec does them.
template <std::size_t Channels>
HWY_INLINE void MatVecTail(const float* HWY_RESTRICT w, std::size_t stride,
                           const float* HWY_RESTRICT x, const float* HWY_RESTRICT b,
                           float* HWY_RESTRICT y, std::size_t r, std::size_t rows, std::size_t cols,
                           bool accumulate, std::size_t x_stride, std::size_t y_stride) {
    const hn::ScalableTag<float> full;
    r = MatVecRows<2, 2, Channels>(full, w, stride, x, b, y, r, rows, cols, accumulate, x_stride,
                                   y_stride);
    r = MatVecRows<1, 4, Channels>(full, w, stride, x, b, y, r, rows, cols, accumulate, x_stride,
                                   y_stride);
    r = MatVecRows<1, 4, Channels>(hn::CappedTag<float, 8>(), w, stride, x, b, y, r, rows, cols,
                                   accumulate, x_stride, y_stride);
    r = MatVecRows<1, 4, Channels>(hn::CappedTag<float, 4>(), w, stride, x, b, y, r, rows, cols,
                                   accumulate, x_stride, y_stride);
    for (std::size_t k = 0; k < Channels; ++k) {
        const float* xk = x + k * x_stride;
        float* yk = y + k * y_stride;
        if (rows == 1 && stride == 1 && cols >= 16) {
            // A single output (a model's last Dense to mono audio): its weights are contiguous,
            // so a vector dot product over the columns instead of one serial chain of `cols`
            // FMAs.
            const hn::ScalableTag<float> d;
            const std::size_t N = hn::Lanes(d);
            auto sum = hn::Zero(d);
            std::size_t c = 0;
            for (; c + N <= cols; c += N)
                sum = Fma(hn::LoadU(d, w + c), hn::LoadU(d, xk + c), sum);
            float acc = hn::GetLane(hn::SumOfLanes(d, sum));
            for (; c < cols; ++c)
                acc += w[c] * xk[c];
            yk[0] = (accumulate ? yk[0] : b != nullptr ? b[0] : 0.0f) + acc;
            continue;
        }
        for (std::size_t q = r; q < rows; ++q) {  // fewer than 4 rows left
            float acc = accumulate ? yk[q] : b != nullptr ? b[q] : 0.0f;
            for (std::size_t c = 0; c < cols; ++c)
                acc += w[c * stride + q] * xk[c];
            yk[q] = acc;
        }
    }
}

void MatVec(const float* HWY_RESTRICT w, std::size_t stride, const float* HWY_RESTRICT x,
            const float* HWY_RESTRICT b, float* HWY_RESTRICT y, std::size_t rows, std::size_t cols,
            bool accumulate) {
    const hn::ScalableTag<float> full;
    // Every row chunk of a small layer in one pass over the columns when they fit the
    // registers (LSTM-40's 160 gate rows: 10 AVX-512 vectors), so x is read once.
    std::size_t r = MatVecRows<12, 1>(full, w, stride, x, b, y, 0, rows, cols, accumulate);
    r = MatVecRows<10, 1>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<8, 1>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<6, 1>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    r = MatVecRows<4, 1>(full, w, stride, x, b, y, r, rows, cols, accumulate);
    MatVecTail<1>(w, stride, x, b, y, r, rows, cols, accumulate, 0, 0);
}

// MatVec for two vectors at once, each weight load feeding both: the same rows in the same
// Split as MatVec (SingleChainRows, then the same tail), so each result is bit for bit MatVec's.
void MatVec2(const float* HWY_RESTRICT w, std::size_t stride, const float* HWY_RESTRICT x,
             std::size_t x_stride, const float* HWY_RESTRICT b, float* HWY_RESTRICT y,
             std::size_t y_stride, std::size_t rows, std::size_t cols, bool accumulate) {
    const hn::ScalableTag<float> full;
    const std::size_t single = SingleChainRows(rows, hn::Lanes(full));
    // Two accumulators per row chunk: 20 + 2 broadcasts fit AVX-512's 32 registers, 12 + 2
    // AVX2's 16.
    constexpr std::size_t kWide = HWY_LANES(float) >= 16 ? 10 : 6;
    std::size_t r = MatVecRows<kWide, 1, 2>(full, w, stride, x, b, y, 0, single, cols, accumulate,
                                            x_stride, y_stride);
    r = MatVecRows<4, 1, 2>(full, w, stride, x, b, y, r, single, cols, accumulate, x_stride,
                            y_stride);
    r = MatVecRows<2, 1, 2>(full, w, stride, x, b, y, r, single, cols, accumulate, x_stride,
                            y_stride);
    r = MatVecRows<1, 1, 2>(full, w, stride, x, b, y, r, single, cols, accumulate, x_stride,
                            y_stride);
    MatVecTail<2>(w, stride, x, b, y, r, rows, cols, accumulate, x_stride, y_stride);
}

// One block's columns into a pass's accumulators: frame k's x is x[k * stride + c]. A stride
// known at compile time (kStride > 0) makes every frame a constant offset from one pointer;
// with a run-time stride each frame needs a pointer of its own, 16 are more than x86-64 has
// registers for, and the spilled ones cost a move per FMA on an FMA port (the 16-row pass ran
// at 63 % of FMA peak that way). The sums are the same either way.
template <std::size_t kStride, class D, class V, std::size_t Unroll, std::size_t Frames>
HWY_INLINE void MatMulColumns(D d, const float* HWY_RESTRICT wc, std::size_t rows,
                              const float* HWY_RESTRICT x, std::size_t cols, std::size_t stride,
                              V (&acc)[Unroll][Frames]) {
    const std::size_t N = hn::Lanes(d);
    const std::size_t s = kStride != 0 ? kStride : stride;
    for (std::size_t c = 0; c < cols; ++c) {
        V column[Unroll];
        for (std::size_t u = 0; u < Unroll; ++u)
            column[u] = hn::LoadU(d, wc + c * rows + u * N);
        for (std::size_t k = 0; k < Frames; ++k) {
            const V xc = hn::Set(d, x[k * s + c]);
            for (std::size_t u = 0; u < Unroll; ++u)
                acc[u][k] = Fma(column[u], xc, acc[u][k]);
        }
    }
}

// MatMulColumns at the first of kStrides that is `stride`, else at the run-time stride.
template <std::size_t... kStrides, class D, class V, std::size_t Unroll, std::size_t Frames>
HWY_INLINE void MatMulColumnsAt(std::index_sequence<kStrides...>, D d, const float* HWY_RESTRICT wc,
                                std::size_t rows, const float* HWY_RESTRICT x, std::size_t cols,
                                std::size_t stride, V (&acc)[Unroll][Frames]) {
    const bool done = ((stride == kStrides &&
                        (MatMulColumns<kStrides>(d, wc, rows, x, cols, stride, acc), true)) ||
                       ...);
    if (!done)
        MatMulColumns<0>(d, wc, rows, x, cols, stride, acc);
}

// Rows [r, r + Unroll * Lanes(d)) of Y = W X for frames [f, frames), X's columns gathered
// from `count` blocks (W's columns in block order), `Frames` frames at a time; returns the
// first frame not done. Each output is one FMA chain over its columns in order, in a register
// across every block: the frames are the independent chains that hide the FMA latency (one
// weight load feeds `Frames` FMAs), and since a frame's sum does not depend on how many frames
// share a pass, a stream gives the same bits however it is cut into calls. (Splitting each sum
// over several chains, as matvec does for a lone vector, costs more in zeroing and adding up
// than it gains here: 1.7x slower for 16 rows by 16 columns at 64 frames on AVX-512.)
template <std::size_t Unroll, std::size_t Frames, class D>
HWY_INLINE std::size_t MatMulRows(D d, const float* HWY_RESTRICT w, std::size_t rows,
                                  const ColumnBlock* HWY_RESTRICT blocks, std::size_t count,
                                  float* HWY_RESTRICT y, std::size_t y_stride, std::size_t r,
                                  std::size_t f, std::size_t frames, bool accumulate,
                                  const float* HWY_RESTRICT bias_after) {
    const std::size_t N = hn::Lanes(d);
    using V = hn::Vec<D>;
    for (; f + Frames <= frames; f += Frames) {
        V acc[Unroll][Frames];
        for (std::size_t u = 0; u < Unroll; ++u)
            for (std::size_t k = 0; k < Frames; ++k)
                acc[u][k] =
                    accumulate ? hn::LoadU(d, y + (f + k) * y_stride + r + u * N) : hn::Zero(d);
        const float* HWY_RESTRICT wc = w + r;  // the block's first column, at row r
        for (std::size_t b = 0; b < count; ++b) {
            const std::size_t cols = blocks[b].cols, stride = blocks[b].stride;
            const float* HWY_RESTRICT x = blocks[b].x + f * stride;
            if constexpr (Frames >= 8)  // the frame strides of NAM's channel counts, mono input
                MatMulColumnsAt(std::index_sequence<1, 2, 4, 8, 12, 16, 32>(), d, wc, rows, x, cols,
                                stride, acc);
            else
                MatMulColumns<0>(d, wc, rows, x, cols, stride, acc);
            wc += cols * rows;
        }
        for (std::size_t u = 0; u < Unroll; ++u)
            for (std::size_t k = 0; k < Frames; ++k) {
                V sum = acc[u][k];
                if (bias_after != nullptr)
                    sum = hn::Add(sum, hn::LoadU(d, bias_after + r + u * N));
                hn::StoreU(sum, d, y + (f + k) * y_stride + r + u * N);
            }
    }
    return f;
}

// Rows [r, r + Unroll * Lanes(d)) for every frame: `Group` frames per pass, then 4, then one.
template <std::size_t Unroll, std::size_t Group, class D>
HWY_INLINE void MatMulAllFrames(D d, const float* HWY_RESTRICT w, std::size_t rows,
                                const ColumnBlock* HWY_RESTRICT blocks, std::size_t count,
                                float* HWY_RESTRICT y, std::size_t y_stride, std::size_t r,
                                std::size_t frames, bool accumulate,
                                const float* HWY_RESTRICT bias_after) {
    std::size_t f = MatMulRows<Unroll, Group>(d, w, rows, blocks, count, y, y_stride, r, 0, frames,
                                              accumulate, bias_after);
    if constexpr (Group > 4)
        f = MatMulRows<Unroll, 4>(d, w, rows, blocks, count, y, y_stride, r, f, frames, accumulate,
                                  bias_after);
    MatMulRows<Unroll, 1>(d, w, rows, blocks, count, y, y_stride, r, f, frames, accumulate,
                          bias_after);
}

void MatMulBlocks(const float* HWY_RESTRICT w, std::size_t rows,
                  const ColumnBlock* HWY_RESTRICT blocks, std::size_t count, float* HWY_RESTRICT y,
                  std::size_t y_stride, std::size_t frames, bool accumulate,
                  const float* HWY_RESTRICT bias_after) {
    // Accumulators per pass: 16 with 32 vector registers, 8 with 16 (measured best of 4 to 16
    // on AVX-512: 16 frames of 16 rows, 8 frames of 32 rows, 8 frames of 8 rows).
    constexpr std::size_t kAccumulators = HWY_LANES(float) >= 16 ? 16 : 8;
    const hn::ScalableTag<float> full;
    const hn::CappedTag<float, 8> eight;
    const hn::CappedTag<float, 4> four;
    const std::size_t N = hn::Lanes(full);
    std::size_t r = 0;
#if HWY_TARGET == HWY_WASM
    // 4-lane vectors: 16 rows (4 vectors) by 2 frames per pass, so that a broadcast of x feeds
    // 4 FMAs instead of 2 (A1-standard in the worklet 1263 -> 1210 ns per sample; 3 frames
    // 1225, 4 frames 1326: past 16 registers, V8 spills).
    for (; r + 4 * N <= rows; r += 4 * N)
        MatMulAllFrames<4, 2>(full, w, rows, blocks, count, y, y_stride, r, frames, accumulate,
                              bias_after);
#endif
    for (; r + 2 * N <= rows; r += 2 * N)
        MatMulAllFrames<2, kAccumulators / 2>(full, w, rows, blocks, count, y, y_stride, r, frames,
                                              accumulate, bias_after);
    for (; r + N <= rows; r += N)
        MatMulAllFrames<1, kAccumulators>(full, w, rows, blocks, count, y, y_stride, r, frames,
                                          accumulate, bias_after);
    for (; r + hn::Lanes(eight) <= rows; r += hn::Lanes(eight))
        MatMulAllFrames<1, kAccumulators / 2>(eight, w, rows, blocks, count, y, y_stride, r, frames,
                                              accumulate, bias_after);
    for (; r + hn::Lanes(four) <= rows; r += hn::Lanes(four))
        MatMulAllFrames<1, kAccumulators>(four, w, rows, blocks, count, y, y_stride, r, frames,
                                          accumulate, bias_after);
    // Fewer than 4 rows left: one-lane vectors, so that the FMAs are explicit (a scalar loop
    // is contracted into FMAs or not as the compiler sees fit, which changed the bits from one
    // call shape to another).
    const hn::CappedTag<float, 1> one;
    for (; r < rows; ++r)
        MatMulAllFrames<1, kAccumulators>(one, w, rows, blocks, count, y, y_stride, r, frames,
                                          accumulate, bias_after);
}

void Add(float* HWY_RESTRICT y, const float* HWY_RESTRICT x, std::size_t n) {
    const hn::ScalableTag<float> d;
    const std::size_t N = hn::Lanes(d);
    std::size_t i = 0;
    for (; i + N <= n; i += N)
        hn::StoreU(hn::Add(hn::LoadU(d, y + i), hn::LoadU(d, x + i)), d, y + i);
    for (; i < n; ++i)
        y[i] += x[i];
}

// Applies `f` (in place on an array of vectors, as Sigmoid) to x[0..n) in place: kMapVectors
// vectors at a time, so that their chains overlap (see Sigmoid), then one at a time; the last
// partial vector goes through an aligned buffer.
constexpr std::size_t kMapVectors = 4;

template <class F>
HWY_INLINE void Map(float* HWY_RESTRICT x, std::size_t n, F f) {
    const hn::ScalableTag<float> d;
    using V = hn::Vec<decltype(d)>;
    const std::size_t N = hn::Lanes(d);
    std::size_t i = 0;
    for (; i + kMapVectors * N <= n; i += kMapVectors * N) {
        V v[kMapVectors];
        for (std::size_t k = 0; k < kMapVectors; ++k)
            v[k] = hn::LoadU(d, x + i + k * N);
        f(d, v);
        for (std::size_t k = 0; k < kMapVectors; ++k)
            hn::StoreU(v[k], d, x + i + k * N);
    }
    for (; i + N <= n; i += N) {
        V v[1] = {hn::LoadU(d, x + i)};
        f(d, v);
        hn::StoreU(v[0], d, x + i);
    }
    if (i < n) {
        HWY_ALIGN float tail[64] = {};  // >= the widest vector of floats on any target
        for (std::size_t k = i; k < n; ++k)
            tail[k - i] = x[k];
        V v[1] = {hn::Load(d, tail)};
        f(d, v);
        hn::Store(v[0], d, tail);
        for (std::size_t k = i; k < n; ++k)
            x[k] = tail[k - i];
    }
}

// 1 / v for v >= 1: the hardware estimate (12 or 14 bits) and one Newton step, within 1 ULP
// of the quotient; a vector division costs several times more and bounds the cell updates.
template <class D, class V>
HWY_INLINE V Reciprocal(D d, V v) {
    const V r = hn::ApproximateReciprocal(v);
    return hn::Mul(r, hn::NegMulAdd(v, r, hn::Set(d, 2.0f)));
}

// exp and expm1 with Highway's reduction and polynomial (its impl::ExpImpl, 1 ULP), restricted
// to the ranges the activations feed them, where 2^q is one normal float (or 0 at the very
// bottom, where 1 + e is 1 all the same): one scaling by 2^q instead of two half-steps, none
// of the range checks, and q rounded by adding 1.5 * 2^23, which leaves round(x / ln 2) in
// the low mantissa bits of the sum: 2 instructions where ConvertTo's guard against overflow
// (which these ranges cannot reach) takes 7. q rounds to nearest even where Highway's rounds
// half away from zero; either keeps |x - q ln 2| <= ln(2) / 2, so the accuracy is the same.
//
// Each takes K vectors and does every step for all K before the next step, so that K
// independent dependency chains sit side by side in the instruction stream: an activation is
// a chain of about 20 dependent instructions, and the scheduler only overlaps the chains it
// can see at once (about 4 when they come one after the other, too few to keep both vector
// ports busy).
template <std::size_t K, class D, class V>
HWY_INLINE void ReduceExp(D d, V (&x)[K], V (&scale)[K]) {  // x becomes x - q ln 2
    const V magic = hn::Set(d, 12582912.0f);                // 1.5 * 2^23
    const hn::RebindToSigned<D> di;
    V q[K];
    for (std::size_t k = 0; k < K; ++k) {
        const V shifted = hn::MulAdd(x[k], hn::Set(d, 1.442695040888963407359924681f), magic);
        // 2^q: q + 127 in the exponent field; the sum's higher bits shift out.
        scale[k] = hn::BitCast(
            d, hn::ShiftLeft<23>(hn::Add(hn::BitCast(di, shifted), hn::Set(di, int32_t{127}))));
        q[k] = hn::Sub(shifted, magic);  // round(x / ln 2), exactly
    }
    // x - q ln 2 in two steps (Cody and Waite), ln 2 split as Highway splits it.
    for (std::size_t k = 0; k < K; ++k)
        x[k] = hn::MulAdd(q[k], hn::Set(d, -0.693145751953125f), x[k]);
    for (std::size_t k = 0; k < K; ++k)
        x[k] = hn::MulAdd(q[k], hn::Set(d, -1.428606765330187045e-6f), x[k]);
}

template <std::size_t K, class D, class V>
HWY_INLINE void ExpUpTo88(D d, V (&x)[K]) {  // exp(x) for x in [-88, 88], in place
    hn::impl::ExpImpl<float> impl;
    V scale[K];
    ReduceExp(d, x, scale);
    for (std::size_t k = 0; k < K; ++k)
        x[k] = impl.ExpPoly(d, x[k]);
    for (std::size_t k = 0; k < K; ++k)
        x[k] = hn::Mul(hn::Add(x[k], hn::Set(d, 1.0f)), scale[k]);
}

template <std::size_t K, class D, class V>
HWY_INLINE void Expm1UpTo36(D d, V (&x)[K]) {  // expm1(x) for x in [0, 36], in place
    hn::impl::ExpImpl<float> impl;
    const V one = hn::Set(d, 1.0f);
    V scale[K], y[K];
    for (std::size_t k = 0; k < K; ++k)
        y[k] = x[k];
    ReduceExp(d, y, scale);
    for (std::size_t k = 0; k < K; ++k)
        y[k] = impl.ExpPoly(d, y[k]);
    // Below ln(2) / 2, q is 0 and the polynomial is expm1 itself (no cancellation).
    for (std::size_t k = 0; k < K; ++k)
        x[k] = hn::IfThenElse(hn::Lt(x[k], hn::Set(d, 0.346573590279972654708616f)), y[k],
                              hn::MulSub(hn::Add(y[k], one), scale[k], one));
}

// In place, K vectors.
template <std::size_t K, class D, class V>
HWY_INLINE void Sigmoid(D d, V (&v)[K]) {
    // exp(-x) within [-88, 88]: beyond, 1 / (1 + e) is 1 or 0 to float precision all the same.
    for (std::size_t k = 0; k < K; ++k)
        v[k] = hn::Max(hn::Min(hn::Neg(v[k]), hn::Set(d, 88.0f)), hn::Set(d, -88.0f));
    ExpUpTo88(d, v);
    for (std::size_t k = 0; k < K; ++k)
        v[k] = Reciprocal(d, hn::Add(hn::Set(d, 1.0f), v[k]));
}

// tanh |x| = e / (e + 2) with e = expm1(2 |x|) (Highway's formula; expm1 keeps small |x|
// exact), the quotient by Reciprocal; |x| clamped at 18 (tanh is 1 in float long before)
// so that expm1 cannot overflow. In place, K vectors.
template <std::size_t K, class D, class V>
HWY_INLINE void TanhExact(D d, V (&x)[K]) {
    V sign[K];
    for (std::size_t k = 0; k < K; ++k) {
        sign[k] = hn::And(hn::SignBit(d), x[k]);
        x[k] = hn::Mul(hn::Min(hn::Xor(x[k], sign[k]), hn::Set(d, 18.0f)), hn::Set(d, 2.0f));
    }
    Expm1UpTo36(d, x);
    for (std::size_t k = 0; k < K; ++k)
        x[k] = hn::Xor(hn::Mul(x[k], Reciprocal(d, hn::Add(x[k], hn::Set(d, 2.0f)))), sign[k]);
}

// The cell updates run over the hidden units in whole vectors: the gate blocks and the state
// are readable past `hidden` (kernel_pad), and the last partial vector is stored masked.
// `Chunks` vectors of hidden units (from j) at a time, each activation over all their gates
// at once (see Sigmoid): as many as stay in registers natively, 3 with 32 vector registers
// and 2 with 16. WebAssembly's 4-lane vectors need more chunks for the same work, and V8's
// spills cost less than the lost overlap: measured best of 2 to 10 for LSTM-40 and GRU-40 in
// the worklet (LSTM 5: 706 ns per sample against 2: 804; GRU 10: 540 against 2: 619).
constexpr std::size_t kLstmChunks = HWY_TARGET == HWY_WASM ? 5 : HWY_LANES(float) >= 16 ? 3 : 2;
constexpr std::size_t kGruChunks = HWY_TARGET == HWY_WASM ? 10 : HWY_LANES(float) >= 16 ? 3 : 2;

// Chunks of hidden units from j: groups of Chunks, then of 2, then single ones.
template <std::size_t Chunks, class D, class F>
HWY_INLINE void ForChunks(D d, std::size_t hidden, F f) {
    const std::size_t N = hn::Lanes(d);
    std::size_t j = 0;
    for (; j + (Chunks - 1) * N < hidden; j += Chunks * N)
        f(std::integral_constant<std::size_t, Chunks>(), j);
    if constexpr (Chunks > 2)
        for (; j + N < hidden; j += 2 * N)
            f(std::integral_constant<std::size_t, 2>(), j);
    for (; j < hidden; j += N)
        f(std::integral_constant<std::size_t, 1>(), j);
}

template <class D, class V>
HWY_INLINE void StoreHidden(D d, V v, float* HWY_RESTRICT to, std::size_t j, std::size_t hidden) {
    if (j + hn::Lanes(d) <= hidden)
        hn::StoreU(v, d, to + j);
    else
        hn::BlendedStore(v, hn::FirstN(d, hidden - j), d, to + j);
}

template <std::size_t Chunks, class D>
HWY_INLINE void LstmChunks(D d, const float* HWY_RESTRICT g, float* HWY_RESTRICT c,
                           float* HWY_RESTRICT h, std::size_t j, std::size_t hidden) {
    const std::size_t N = hn::Lanes(d);
    using V = hn::Vec<D>;
    V gates[3 * Chunks], cell[Chunks];  // in, forget and output gates; then the cells
    for (std::size_t q = 0; q < Chunks; ++q) {
        const float* at = g + j + q * N;
        gates[q] = hn::LoadU(d, at);
        gates[Chunks + q] = hn::LoadU(d, at + hidden);
        cell[q] = hn::LoadU(d, at + 2 * hidden);
        gates[2 * Chunks + q] = hn::LoadU(d, at + 3 * hidden);
    }
    Sigmoid(d, gates);
    TanhExact(d, cell);
    for (std::size_t q = 0; q < Chunks; ++q) {
        cell[q] = Fma(gates[Chunks + q], hn::LoadU(d, c + j + q * N), hn::Mul(gates[q], cell[q]));
        StoreHidden(d, cell[q], c, j + q * N, hidden);
    }
    TanhExact(d, cell);
    for (std::size_t q = 0; q < Chunks; ++q)
        StoreHidden(d, hn::Mul(gates[2 * Chunks + q], cell[q]), h, j + q * N, hidden);
}

void LstmUpdate(const float* HWY_RESTRICT g, float* HWY_RESTRICT c, float* HWY_RESTRICT h,
                std::size_t hidden) {
    const hn::ScalableTag<float> d;
    ForChunks<kLstmChunks>(d, hidden, [&](auto chunks, std::size_t j) HWY_ATTR {
        LstmChunks<decltype(chunks)::value>(d, g, c, h, j, hidden);
    });
}

template <std::size_t Chunks, class D>
HWY_INLINE void GruChunks(D d, const float* HWY_RESTRICT xg, const float* HWY_RESTRICT hg,
                          float* HWY_RESTRICT h, std::size_t j, std::size_t hidden) {
    const std::size_t N = hn::Lanes(d);
    using V = hn::Vec<D>;
    V gates[2 * Chunks], candidate[Chunks];  // update and reset gates; then the candidates
    for (std::size_t q = 0; q < Chunks; ++q) {
        const std::size_t at = j + q * N;
        gates[q] = hn::Add(hn::LoadU(d, xg + at), hn::LoadU(d, hg + at));
        gates[Chunks + q] = hn::Add(hn::LoadU(d, xg + hidden + at), hn::LoadU(d, hg + hidden + at));
    }
    Sigmoid(d, gates);
    // reset_after: the reset gate scales the recurrent product, bias included.
    for (std::size_t q = 0; q < Chunks; ++q) {
        const std::size_t at = j + q * N;
        candidate[q] = Fma(gates[Chunks + q], hn::LoadU(d, hg + 2 * hidden + at),
                           hn::LoadU(d, xg + 2 * hidden + at));
    }
    TanhExact(d, candidate);
    const V one = hn::Set(d, 1.0f);
    for (std::size_t q = 0; q < Chunks; ++q) {
        const std::size_t at = j + q * N;
        const V update = gates[q];
        StoreHidden(d,
                    Fma(update, hn::LoadU(d, h + at), hn::Mul(hn::Sub(one, update), candidate[q])),
                    h, at, hidden);
    }
}

void GruUpdate(const float* HWY_RESTRICT xg, const float* HWY_RESTRICT hg, float* HWY_RESTRICT h,
               std::size_t hidden) {
    const hn::ScalableTag<float> d;
    ForChunks<kGruChunks>(d, hidden, [&](auto chunks, std::size_t j) HWY_ATTR {
        GruChunks<decltype(chunks)::value>(d, xg, hg, h, j, hidden);
    });
}

void TanhInPlace(float* HWY_RESTRICT x, std::size_t n) {
    Map(x, n, [](auto d, auto& v) HWY_ATTR { TanhExact(d, v); });
}

void SigmoidInPlace(float* HWY_RESTRICT x, std::size_t n) {
    Map(x, n, [](auto d, auto& v) HWY_ATTR { Sigmoid(d, v); });
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
    decltype(&HWY_STATIC_DISPATCH(MatVec2)) matvec2;
    decltype(&HWY_STATIC_DISPATCH(MatMulBlocks)) matmul_blocks;
    decltype(&HWY_STATIC_DISPATCH(Add)) add;
    decltype(&HWY_STATIC_DISPATCH(TanhInPlace)) tanh;
    decltype(&HWY_STATIC_DISPATCH(SigmoidInPlace)) sigmoid;
    decltype(&HWY_STATIC_DISPATCH(LstmUpdate)) lstm_update;
    decltype(&HWY_STATIC_DISPATCH(GruUpdate)) gru_update;
    const char* name;
};

// The widest target this CPU runs. Highway's own dispatch needs its library (libhwy); this
// needs only the compiler's CPU checks.
Table choose() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && (HWY_TARGETS & HWY_AVX3)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        return {&N_AVX3::MatVec,     &N_AVX3::MatVec2,     &N_AVX3::MatMulBlocks,
                &N_AVX3::Add,        &N_AVX3::TanhInPlace, &N_AVX3::SigmoidInPlace,
                &N_AVX3::LstmUpdate, &N_AVX3::GruUpdate,   "AVX-512"};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return {&N_AVX2::MatVec,     &N_AVX2::MatVec2,     &N_AVX2::MatMulBlocks,
                &N_AVX2::Add,        &N_AVX2::TanhInPlace, &N_AVX2::SigmoidInPlace,
                &N_AVX2::LstmUpdate, &N_AVX2::GruUpdate,   "AVX2"};
#endif
    return {&HWY_STATIC_DISPATCH(MatVec),       &HWY_STATIC_DISPATCH(MatVec2),
            &HWY_STATIC_DISPATCH(MatMulBlocks), &HWY_STATIC_DISPATCH(Add),
            &HWY_STATIC_DISPATCH(TanhInPlace),  &HWY_STATIC_DISPATCH(SigmoidInPlace),
            &HWY_STATIC_DISPATCH(LstmUpdate),   &HWY_STATIC_DISPATCH(GruUpdate),
            hwy::TargetName(HWY_STATIC_TARGET)};
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

void simd_matvec_channels(const float* w, std::size_t stride, const float* x, std::size_t x_stride,
                          const float* b, float* y, std::size_t y_stride, std::size_t rows,
                          std::size_t cols, std::size_t channels,
                          bool accumulate) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    std::size_t k = 0;
    for (; k + 2 <= channels; k += 2)
        table.matvec2(w, stride, x + k * x_stride, x_stride, b, y + k * y_stride, y_stride, rows,
                      cols, accumulate);
    if (k < channels)
        table.matvec(w, stride, x + k * x_stride, b, y + k * y_stride, rows, cols, accumulate);
    LEGATO_UNVERIFIED_EFFECTS_END
}

void simd_matmul_blocks(const float* w, std::size_t rows, const ColumnBlock* blocks,
                        std::size_t count, float* y, std::size_t y_stride, std::size_t frames,
                        bool accumulate, const float* bias_after) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.matmul_blocks(w, rows, blocks, count, y, y_stride, frames, accumulate, bias_after);
    LEGATO_UNVERIFIED_EFFECTS_END
}

void simd_add(float* y, const float* x, std::size_t n) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.add(y, x, n);
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

void simd_lstm_update(const float* g, float* c, float* h,
                      std::size_t hidden) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.lstm_update(g, c, h, hidden);
    LEGATO_UNVERIFIED_EFFECTS_END
}

void simd_gru_update(const float* xg, const float* hg, float* h,
                     std::size_t hidden) noexcept LEGATO_NONBLOCKING {
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    table.gru_update(xg, hg, h, hidden);
    LEGATO_UNVERIFIED_EFFECTS_END
}

const char* simd_target() noexcept {
    return table.name;
}

}  // namespace legato::native
#endif  // HWY_ONCE
