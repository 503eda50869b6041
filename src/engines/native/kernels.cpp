#include "kernels.hpp"

#include <algorithm>

#if LEGATO_NATIVE_SIMD
#include "simd_kernels.hpp"
#endif

namespace legato::native {

void matvec(const float* w, const float* x, const float* b, float* y, std::size_t rows,
            std::size_t cols) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_matvec(w, rows, x, b, y, rows, cols, false);
#else
    // Column by column: every output accumulates in the same order as the formula, so the
    // compiler vectorizes over rows without reassociating sums.
    if (b != nullptr)
        std::copy(b, b + rows, y);
    else
        std::fill(y, y + rows, 0.0f);
    matvec_add(w, x, y, rows, cols);
#endif
}

void matvec_add(const float* w, const float* x, float* y, std::size_t rows,
                std::size_t cols) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_matvec(w, rows, x, nullptr, y, rows, cols, true);
#else
    for (std::size_t c = 0; c < cols; ++c) {
        const float xc = x[c];
        const float* column = w + c * rows;
        for (std::size_t r = 0; r < rows; ++r)
            y[r] += column[r] * xc;
    }
#endif
}

void matvec_channels(const float* w, const float* x, std::size_t x_stride, const float* b, float* y,
                     std::size_t y_stride, std::size_t rows, std::size_t cols, std::size_t channels,
                     bool accumulate) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_matvec_channels(w, rows, x, x_stride, b, y, y_stride, rows, cols, channels, accumulate);
#else
    for (std::size_t k = 0; k < channels; ++k) {
        if (accumulate)
            matvec_add(w, x + k * x_stride, y + k * y_stride, rows, cols);
        else
            matvec(w, x + k * x_stride, b, y + k * y_stride, rows, cols);
    }
#endif
}

void matmul(const float* w, std::size_t rows, std::size_t cols, const float* x,
            std::size_t x_stride, float* y, std::size_t y_stride, std::size_t frames,
            bool accumulate, const float* bias_after) noexcept LEGATO_NONBLOCKING {
    const ColumnBlock block{x, cols, x_stride};
    matmul_blocks(w, rows, &block, 1, y, y_stride, frames, accumulate, bias_after);
}

void matmul_blocks(const float* w, std::size_t rows, const ColumnBlock* blocks, std::size_t count,
                   float* y, std::size_t y_stride, std::size_t frames, bool accumulate,
                   const float* bias_after) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_matmul_blocks(w, rows, blocks, count, y, y_stride, frames, accumulate, bias_after);
#else
    for (std::size_t f = 0; f < frames; ++f) {
        float* out = y + f * y_stride;
        if (!accumulate)
            std::fill(out, out + rows, 0.0f);
        const float* wb = w;
        for (std::size_t b = 0; b < count; ++b) {
            matvec_add(wb, blocks[b].x + f * blocks[b].stride, out, rows, blocks[b].cols);
            wb += blocks[b].cols * rows;
        }
        if (bias_after != nullptr)
            for (std::size_t r = 0; r < rows; ++r)
                out[r] += bias_after[r];
    }
#endif
}

void add(float* y, const float* x, std::size_t n) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_add(y, x, n);
#else
    for (std::size_t i = 0; i < n; ++i)
        y[i] += x[i];
#endif
}

void activate(Activation a, float* x, std::size_t n, float alpha) noexcept LEGATO_NONBLOCKING {
    switch (a) {
        case Activation::linear:
            return;
        case Activation::tanh:
#if LEGATO_NATIVE_SIMD
            simd_tanh(x, n);
#else
            for (std::size_t i = 0; i < n; ++i)
                x[i] = std::tanh(x[i]);
#endif
            return;
        case Activation::sigmoid:
#if LEGATO_NATIVE_SIMD
            simd_sigmoid(x, n);
#else
            for (std::size_t i = 0; i < n; ++i)
                x[i] = sigmoid(x[i]);
#endif
            return;
        case Activation::relu:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = std::max(x[i], 0.0f);
            return;
        case Activation::leaky_relu:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
            return;
        case Activation::elu:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = x[i] < 0.0f ? alpha * (std::exp(x[i]) - 1.0f) : x[i];
            return;
        case Activation::hard_tanh:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = std::clamp(x[i], -1.0f, 1.0f);
            return;
        case Activation::fast_tanh:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = fast_tanh(x[i]);
            return;
        case Activation::softmax: {
            if (n == 0)
                return;
            const float top = *std::max_element(x, x + n);
            float sum = 0.0f;
            for (std::size_t i = 0; i < n; ++i) {
                x[i] = std::exp(x[i] - top);
                sum += x[i];
            }
            for (std::size_t i = 0; i < n; ++i)
                x[i] /= sum;
            return;
        }
    }
}

void lstm_update(const float* g, float* c, float* h,
                 std::size_t hidden) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_lstm_update(g, c, h, hidden);
#else
    for (std::size_t j = 0; j < hidden; ++j) {
        const float in_gate = sigmoid(g[j]);
        const float forget_gate = sigmoid(g[hidden + j]);
        const float cell_gate = std::tanh(g[2 * hidden + j]);
        const float out_gate = sigmoid(g[3 * hidden + j]);
        c[j] = forget_gate * c[j] + in_gate * cell_gate;
        h[j] = out_gate * std::tanh(c[j]);
    }
#endif
}

void gru_update(const float* xg, const float* hg, float* h,
                std::size_t hidden) noexcept LEGATO_NONBLOCKING {
#if LEGATO_NATIVE_SIMD
    simd_gru_update(xg, hg, h, hidden);
#else
    for (std::size_t j = 0; j < hidden; ++j) {
        const float update = sigmoid(xg[j] + hg[j]);
        const float reset = sigmoid(xg[hidden + j] + hg[hidden + j]);
        const float candidate = std::tanh(xg[2 * hidden + j] + reset * hg[2 * hidden + j]);
        h[j] = update * h[j] + (1.0f - update) * candidate;
    }
#endif
}

void lstm_update_channels(const float* g, std::size_t g_stride, float* c, std::size_t c_stride,
                          float* h, std::size_t h_stride, std::size_t hidden,
                          std::size_t channels) noexcept LEGATO_NONBLOCKING {
    // One channel after the other: a channel's chunks already give the SIMD activations enough
    // independent chains (interleaving two channels' chunks measured no faster).
    for (std::size_t k = 0; k < channels; ++k)
        lstm_update(g + k * g_stride, c + k * c_stride, h + k * h_stride, hidden);
}

void gru_update_channels(const float* xg, const float* hg, std::size_t gate_stride, float* h,
                         std::size_t h_stride, std::size_t hidden,
                         std::size_t channels) noexcept LEGATO_NONBLOCKING {
    for (std::size_t k = 0; k < channels; ++k)
        gru_update(xg + k * gate_stride, hg + k * gate_stride, h + k * h_stride, hidden);
}

#if !LEGATO_NATIVE_SIMD
const char* simd_target() noexcept {
    return "scalar";
}
#endif

}  // namespace legato::native
