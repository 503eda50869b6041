#pragma once
// The native engine's arithmetic: matrix-vector products and activations on contiguous float
// arrays. Written so that compilers vectorize them without reassociating sums (weights are
// stored column by column: every output accumulates its terms in the same order as the scalar
// formula, so results do not depend on the vector width). Real-time safe.

#include <cmath>
#include <cstddef>
#include <new>
#include <vector>

#include "legato/nonblocking.hpp"

namespace legato::native {

/// Allocates on 64-byte boundaries: a weight column or state vector then starts on a cache
/// line, so whole-vector loads never straddle two (with malloc's 16-byte alignment they did
/// at random, and the same model ran up to 1.5x slower from one load to the next).
template <class T>
struct CacheAligned {
    using value_type = T;
    static constexpr std::align_val_t alignment{64};
    CacheAligned() noexcept = default;
    template <class U>
    CacheAligned(const CacheAligned<U>&) noexcept {}  // NOLINT: rebinding, as allocators do
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, alignment); }
    template <class U>
    bool operator==(const CacheAligned<U>&) const noexcept {
        return true;
    }
};

/// The native engine's weights and state: float vectors on cache-line boundaries.
using Floats = std::vector<float, CacheAligned<float>>;

/// [any thread] y[r] = b[r] + sum_c w[c * rows + r] * x[c] for r < rows (w column-major,
/// `rows` x `cols`); b may be null (no bias). y must not alias x. Real-time safe.
void matvec(const float* w, const float* x, const float* b, float* y, std::size_t rows,
            std::size_t cols) noexcept LEGATO_NONBLOCKING;

/// [any thread] y[r] += sum_c w[c * rows + r] * x[c] (as matvec, accumulating into y).
void matvec_add(const float* w, const float* x, float* y, std::size_t rows,
                std::size_t cols) noexcept LEGATO_NONBLOCKING;

/// [any thread] matvec (or matvec_add, with `accumulate`) for `channels` independent vectors
/// at once, reading the weights once for all: x_k = x + k * x_stride, y_k = y + k * y_stride.
/// Each y_k is bit for bit what matvec gives for x_k alone, so a batch of channels sounds
/// exactly like each channel run by itself. No y_k may alias any x_k. Real-time safe.
void matvec_channels(const float* w, const float* x, std::size_t x_stride, const float* b, float* y,
                     std::size_t y_stride, std::size_t rows, std::size_t cols, std::size_t channels,
                     bool accumulate = false) noexcept LEGATO_NONBLOCKING;

/// [any thread] The same product over `frames` frames at once (frame-major, as audio streams
/// are laid out): y[f * y_stride + r] = (accumulate ? y[f * y_stride + r] : 0)
///   + sum_c w[c * rows + r] * x[f * x_stride + c].
/// Several frames share each weight load and run as independent chains, which is what makes a
/// convolution over a block fast where one frame's short product is latency-bound. How an
/// output's terms are summed does not depend on `frames`, so a stream gives the same bits for
/// any split into calls. `bias_after` (rows values, or null) is added to each frame's sum last,
/// as NAM adds its biases. y must not alias x. Real-time safe.
void matmul(const float* w, std::size_t rows, std::size_t cols, const float* x,
            std::size_t x_stride, float* y, std::size_t y_stride, std::size_t frames,
            bool accumulate, const float* bias_after = nullptr) noexcept LEGATO_NONBLOCKING;

/// Columns of a product gathered from elsewhere: frame f's `cols` values start at x + f * stride.
/// A convolution over a block reads each tap as one such block (a stretch of its history ring)
/// and its input mixin as another, so a frame's taps need no gathering copy.
struct ColumnBlock {
    const float* x = nullptr;
    std::size_t cols = 0;
    std::size_t stride = 0;
};
/// How many blocks a caller gathers for one matmul_blocks call (on its stack). More columns
/// continue in a further call with `accumulate`: each output is one FMA chain over its columns
/// in order, so the continued sum has the bits of a single pass.
inline constexpr std::size_t kMaxColumnBlocks = 16;

/// [any thread] matmul with X's columns gathered from `count` blocks, W's columns in block
/// order (W is rows x sum of the blocks' cols, column-major). One pass: every output stays in
/// registers across all blocks, instead of one call (a store and a reload) per block. The same
/// properties as matmul: the sums do not depend on `frames`, and a single block gives matmul's
/// bits. y must not alias any block. Real-time safe.
void matmul_blocks(const float* w, std::size_t rows, const ColumnBlock* blocks, std::size_t count,
                   float* y, std::size_t y_stride, std::size_t frames, bool accumulate,
                   const float* bias_after = nullptr) noexcept LEGATO_NONBLOCKING;

/// [any thread] y[i] += x[i] for i < n. Real-time safe.
void add(float* y, const float* x, std::size_t n) noexcept LEGATO_NONBLOCKING;

/// The activations the importers know, by the words the formats use.
enum class Activation {
    linear,
    tanh,
    sigmoid,
    relu,
    leaky_relu,  ///< alpha: the slope below 0
    elu,         ///< alpha: the scale below 0
    softmax,     ///< over the whole vector
    hard_tanh,
    fast_tanh,  ///< NAM's optional approximation (not exact: docs/engines.md)
};

/// [any thread] The exact logistic function (std::exp; saturates without overflow).
inline float sigmoid(float x) noexcept LEGATO_NONBLOCKING {
    return 1.0f / (1.0f + std::exp(-x));
}

/// [any thread] NAM's fast tanh approximation (a rational function; used only when a model or
/// the user asks for it).
inline float fast_tanh(float x) noexcept LEGATO_NONBLOCKING {
    const float ax = std::fabs(x);
    const float x2 = x * x;
    return x *
           (2.45550750702956f + 2.45550750702956f * ax +
            (0.893229853513558f + 0.821226666969744f * ax) * x2) /
           (2.44506634652299f +
            (2.44506634652299f + x2) * std::fabs(x + 0.814642734961073f * x * ax));
}

/// [any thread] Applies `a` to x[0..n) in place; `alpha` as the enum says. tanh and sigmoid
/// are exact to float precision (SIMD: within 4 and 3 ULP of the exact values; tests/native/
/// kernels_test.cpp measures them).
void activate(Activation a, float* x, std::size_t n,
              float alpha = 0.0f) noexcept LEGATO_NONBLOCKING;

/// Floats every buffer handed to lstm_update / gru_update stays readable past its used part
/// (whole-vector loads), and the row padding of gate matrices (padded_rows()).
inline constexpr std::size_t kernel_pad = 16;

/// [any thread] `rows` rounded up to a multiple of kernel_pad: gate matrices stored with this
/// many rows (the extra ones zero) run in whole vectors.
constexpr std::size_t padded_rows(std::size_t rows) noexcept {
    return (rows + kernel_pad - 1) / kernel_pad * kernel_pad;
}

/// [any thread] The LSTM cell update from the gate pre-activations g (input, forget, cell,
/// output; `hidden` each, back to back): c = sigmoid(f) c + sigmoid(i) tanh(g),
/// h = sigmoid(o) tanh(c), exact activations. Writes c[0..hidden) and h[0..hidden) only; g, c
/// and h must be readable kernel_pad floats past their used part. Real-time safe.
void lstm_update(const float* g, float* c, float* h,
                 std::size_t hidden) noexcept LEGATO_NONBLOCKING;

/// [any thread] The GRU update with the reset gate after the recurrent product (Keras
/// reset_after, PyTorch): xg and hg are the input- and state-side pre-activations with their
/// biases (update, reset, candidate; `hidden` each). z = sigmoid(xz + hz), r = sigmoid(xr + hr),
/// n = tanh(xn + r hn), h = z h + (1 - z) n, in place. Same readability rule as lstm_update.
void gru_update(const float* xg, const float* hg, float* h,
                std::size_t hidden) noexcept LEGATO_NONBLOCKING;

/// [any thread] lstm_update for `channels` cells (channel k's blocks at g + k * g_stride,
/// c + k * c_stride, h + k * h_stride); each channel's result is bit for bit lstm_update's.
/// Real-time safe.
void lstm_update_channels(const float* g, std::size_t g_stride, float* c, std::size_t c_stride,
                          float* h, std::size_t h_stride, std::size_t hidden,
                          std::size_t channels) noexcept LEGATO_NONBLOCKING;

/// [any thread] gru_update for `channels` cells, as lstm_update_channels (xg and hg
/// blocks `gate_stride` apart, h blocks `h_stride`).
void gru_update_channels(const float* xg, const float* hg, std::size_t gate_stride, float* h,
                         std::size_t h_stride, std::size_t hidden,
                         std::size_t channels) noexcept LEGATO_NONBLOCKING;

/// [any thread] The SIMD target the kernels run: "AVX-512", "AVX2", a Highway baseline name,
/// or "scalar" (built without Highway).
const char* simd_target() noexcept;

}  // namespace legato::native
