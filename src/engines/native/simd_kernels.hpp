#pragma once
// The SIMD kernels behind kernels.hpp (simd_kernels.cpp, Highway), when built with them.

#include <cstddef>

#include "legato/nonblocking.hpp"

namespace legato::native {

/// [any thread] y = (accumulate ? y : b or 0) + W x over `rows` rows; column c of W starts at
/// w + c * stride. Real-time safe.
void simd_matvec(const float* w, std::size_t stride, const float* x, const float* b, float* y,
                 std::size_t rows, std::size_t cols, bool accumulate) noexcept LEGATO_NONBLOCKING;
/// [any thread] In place, within 4 ULP of std::tanh (Highway's Tanh).
void simd_tanh(float* x, std::size_t n) noexcept LEGATO_NONBLOCKING;
/// [any thread] In place, 1 / (1 + exp(-x)) with Highway's Exp (1 ULP).
void simd_sigmoid(float* x, std::size_t n) noexcept LEGATO_NONBLOCKING;

}  // namespace legato::native
