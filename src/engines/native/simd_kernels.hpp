#pragma once
// The SIMD kernels behind kernels.hpp (simd_kernels.cpp, Highway), when built with them.

#include <cstddef>

#include "legato/nonblocking.hpp"

namespace legato::native {

/// [any thread] y = (accumulate ? y : b or 0) + W x over `rows` rows; column c of W starts at
/// w + c * stride. Real-time safe.
void simd_matvec(const float* w, std::size_t stride, const float* x, const float* b, float* y,
                 std::size_t rows, std::size_t cols, bool accumulate) noexcept LEGATO_NONBLOCKING;
/// [any thread] kernels.hpp matvec_channels, with a column stride as simd_matvec.
void simd_matvec_channels(const float* w, std::size_t stride, const float* x, std::size_t x_stride,
                          const float* b, float* y, std::size_t y_stride, std::size_t rows,
                          std::size_t cols, std::size_t channels,
                          bool accumulate) noexcept LEGATO_NONBLOCKING;
struct ColumnBlock;
/// [any thread] kernels.hpp matmul_blocks.
void simd_matmul_blocks(const float* w, std::size_t rows, const ColumnBlock* blocks,
                        std::size_t count, float* y, std::size_t y_stride, std::size_t frames,
                        bool accumulate, const float* bias_after) noexcept LEGATO_NONBLOCKING;
/// [any thread] kernels.hpp add.
void simd_add(float* y, const float* x, std::size_t n) noexcept LEGATO_NONBLOCKING;
/// [any thread] In place, within 4 ULP of the exact tanh (Highway's expm1 polynomial, a Newton
/// reciprocal).
void simd_tanh(float* x, std::size_t n) noexcept LEGATO_NONBLOCKING;
/// [any thread] In place, 1 / (1 + exp(-x)) within 3 ULP (Highway's exp polynomial, a Newton
/// reciprocal).
void simd_sigmoid(float* x, std::size_t n) noexcept LEGATO_NONBLOCKING;
/// [any thread] kernels.hpp lstm_update / gru_update.
void simd_lstm_update(const float* g, float* c, float* h,
                      std::size_t hidden) noexcept LEGATO_NONBLOCKING;
void simd_gru_update(const float* xg, const float* hg, float* h,
                     std::size_t hidden) noexcept LEGATO_NONBLOCKING;

}  // namespace legato::native
