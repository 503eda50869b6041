// The native engine's arithmetic against double-precision references: the activations stay
// within a few ULP over the whole useful range (the "exact activations" claim of
// docs/engines.md), and the fused LSTM/GRU cell updates match the cell formulas at hidden sizes
// that end in partial vectors without writing past `hidden`.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engines/native/kernels.hpp"

namespace legato::test {
namespace {

using native::Activation;

// Distance in units in the last place between two finite floats of the same sign region.
std::int64_t ulp_distance(float a, float b) {
    auto ordered = [](float v) {
        std::int32_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        return bits < 0 ? static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::min()) - bits
                        : static_cast<std::int64_t>(bits);
    };
    return std::llabs(ordered(a) - ordered(b));
}

// Every 97th float from -30 to 30 (about 20 million values: all exponents, all mantissa bit
// patterns in turn), through the vector kernel in odd-sized calls so tails are covered too.
template <class Reference>
std::int64_t worst_ulp(Activation activation, Reference reference, float* worst_at) {
    std::vector<float> values;
    for (float x = 30.0f; x > 1e-30f; x = std::nextafter(x, 0.0f)) {
        std::uint32_t bits;
        std::memcpy(&bits, &x, sizeof bits);
        bits -= 96;
        std::memcpy(&x, &bits, sizeof bits);
        values.push_back(x);
        values.push_back(-x);
    }
    values.push_back(0.0f);
    std::vector<float> out = values;
    for (std::size_t at = 0; at < out.size(); at += 37)
        native::activate(activation, out.data() + at, std::min<std::size_t>(37, out.size() - at));
    std::int64_t worst = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto exact = static_cast<float>(reference(static_cast<double>(values[i])));
        const std::int64_t distance = ulp_distance(out[i], exact);
        if (distance > worst) {
            worst = distance;
            *worst_at = values[i];
        }
    }
    return worst;
}

TEST(NativeKernels, TanhIsWithinFourUlpOfTheExactValue) {
    float at = 0.0f;
    const std::int64_t worst = worst_ulp(
        Activation::tanh, [](double x) { return std::tanh(x); }, &at);
    std::cout << "tanh: worst " << worst << " ULP at " << at << " (" << native::simd_target()
              << ")\n";
    EXPECT_LE(worst, 4) << "at x = " << at;
}

TEST(NativeKernels, SigmoidIsWithinThreeUlpOfTheExactValue) {
    float at = 0.0f;
    const std::int64_t worst = worst_ulp(
        Activation::sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, &at);
    std::cout << "sigmoid: worst " << worst << " ULP at " << at << "\n";
    EXPECT_LE(worst, 3) << "at x = " << at;
}

double sigmoid(double x) {
    return 1.0 / (1.0 + std::exp(-x));
}

// Buffers with sentinels in their padding: the updates may read it, never write it.
constexpr float sentinel = 12345.0f;

std::vector<float> padded_random(std::mt19937& rng, std::size_t n, float scale) {
    std::uniform_real_distribution<float> value(-scale, scale);
    std::vector<float> v(n + native::kernel_pad, sentinel);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = value(rng);
    return v;
}

void expect_untouched_padding(const std::vector<float>& v, std::size_t used, const char* what) {
    for (std::size_t i = used; i < v.size(); ++i)
        ASSERT_EQ(v[i], sentinel) << what << "[" << i << "] written past the used " << used;
}

class CellUpdates : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CellUpdates, LstmMatchesTheCellFormula) {
    const std::size_t hidden = GetParam();
    std::mt19937 rng(static_cast<unsigned>(hidden));
    const auto gates = padded_random(rng, 4 * hidden, 6.0f);
    auto c = padded_random(rng, hidden, 2.0f);
    auto h = padded_random(rng, hidden, 1.0f);
    const auto c_before = c;
    native::lstm_update(gates.data(), c.data(), h.data(), hidden);
    for (std::size_t j = 0; j < hidden; ++j) {
        const double i = sigmoid(gates[j]), f = sigmoid(gates[hidden + j]);
        const double g = std::tanh(static_cast<double>(gates[2 * hidden + j]));
        const double o = sigmoid(gates[3 * hidden + j]);
        const double cell = f * c_before[j] + i * g;
        EXPECT_NEAR(c[j], cell, 1e-6 * (1.0 + std::fabs(cell))) << "c[" << j << "]";
        EXPECT_NEAR(h[j], o * std::tanh(cell), 1e-6) << "h[" << j << "]";
    }
    expect_untouched_padding(c, hidden, "c");
    expect_untouched_padding(h, hidden, "h");
}

TEST_P(CellUpdates, GruMatchesTheResetAfterFormula) {
    const std::size_t hidden = GetParam();
    std::mt19937 rng(static_cast<unsigned>(hidden) + 99u);
    const auto xg = padded_random(rng, 3 * hidden, 4.0f);
    const auto hg = padded_random(rng, 3 * hidden, 4.0f);
    auto h = padded_random(rng, hidden, 1.0f);
    const auto h_before = h;
    native::gru_update(xg.data(), hg.data(), h.data(), hidden);
    for (std::size_t j = 0; j < hidden; ++j) {
        const double z = sigmoid(static_cast<double>(xg[j]) + hg[j]);
        const double r = sigmoid(static_cast<double>(xg[hidden + j]) + hg[hidden + j]);
        const double n =
            std::tanh(static_cast<double>(xg[2 * hidden + j]) + r * hg[2 * hidden + j]);
        EXPECT_NEAR(h[j], z * h_before[j] + (1.0 - z) * n, 1e-6) << "h[" << j << "]";
    }
    expect_untouched_padding(h, hidden, "h");
}

INSTANTIATE_TEST_SUITE_P(Hidden, CellUpdates, ::testing::Values(1, 3, 8, 16, 17, 40, 64, 100),
                         [](const auto& param_info) {
                             return "h" + std::to_string(param_info.param);
                         });

// matmul against the double-precision product, at row counts that use every vector width and
// the scalar rows, with gaps between frames (strides) that must stay untouched.
TEST(NativeKernels, MatmulMatchesTheProductAndLeavesGapsAlone) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (std::size_t rows : {1u, 3u, 4u, 8u, 13u, 16u, 32u, 40u, 49u})
        for (std::size_t cols : {1u, 5u, 49u})
            for (std::size_t frames : {1u, 3u, 8u, 64u})
                for (bool accumulate : {false, true}) {
                    std::vector<float> w(rows * cols), bias(rows);
                    for (float& v : w)
                        v = value(rng);
                    for (float& v : bias)
                        v = value(rng);
                    const std::size_t x_stride = cols + 2, y_stride = rows + 3;
                    std::vector<float> x(frames * x_stride), y(frames * y_stride, sentinel);
                    for (float& v : x)
                        v = value(rng);
                    for (std::size_t f = 0; f < frames; ++f)
                        for (std::size_t r = 0; r < rows; ++r)
                            y[f * y_stride + r] = value(rng);
                    const std::vector<float> before = y;
                    native::matmul(w.data(), rows, cols, x.data(), x_stride, y.data(), y_stride,
                                   frames, accumulate, bias.data());
                    for (std::size_t f = 0; f < frames; ++f) {
                        for (std::size_t r = 0; r < rows; ++r) {
                            double exact = accumulate ? before[f * y_stride + r] : 0.0;
                            for (std::size_t c = 0; c < cols; ++c)
                                exact += static_cast<double>(w[c * rows + r]) * x[f * x_stride + c];
                            exact += bias[r];
                            ASSERT_NEAR(y[f * y_stride + r], exact, 1e-5)
                                << rows << "x" << cols << ", " << frames << " frames, frame " << f
                                << " row " << r;
                        }
                        for (std::size_t r = rows; r < y_stride; ++r)
                            ASSERT_EQ(y[f * y_stride + r], sentinel) << "gap written";
                    }
                }
}

// A stream gives the same bits however it is cut into calls: frame f's sums do not depend on
// how many frames share the call.
TEST(NativeKernels, MatmulGivesTheSameBitsForAnySplitOfTheFrames) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    const std::size_t rows = 24, cols = 49, frames = 64;
    std::vector<float> w(rows * cols), x(frames * cols);
    for (float& v : w)
        v = value(rng);
    for (float& v : x)
        v = value(rng);
    std::vector<float> whole(frames * rows), pieces(frames * rows);
    native::matmul(w.data(), rows, cols, x.data(), cols, whole.data(), rows, frames, false);
    for (std::size_t at = 0, n = 1; at < frames; at += n, n = n % 7 + 1) {
        const std::size_t count = std::min(n, frames - at);
        native::matmul(w.data(), rows, cols, x.data() + at * cols, cols, pieces.data() + at * rows,
                       rows, count, false);
    }
    for (std::size_t i = 0; i < whole.size(); ++i)
        ASSERT_EQ(whole[i], pieces[i]) << "value " << i;
}

// matmul_blocks reads each frame's columns from several places (a convolution's taps in its
// history ring, then the input mixin): bit for bit matmul over the same columns gathered into
// one matrix, at every row count, frame count and block shape, with gaps left alone.
TEST(NativeKernels, MatmulBlocksIsMatmulOverTheGatheredColumns) {
    std::mt19937 rng(13);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    const std::vector<std::vector<std::size_t>> shapes = {
        {16, 16, 16, 1},
        {8, 8, 8, 1},
        {1},
        {5, 3},
        {2, 7, 1, 4, 9, 3, 3, 1, 6, 2, 2, 1, 5, 1, 1, 4}};
    for (const std::vector<std::size_t>& shape : shapes)
        for (std::size_t rows : {1u, 3u, 8u, 13u, 16u, 32u, 40u})
            for (std::size_t frames : {1u, 3u, 5u, 17u, 64u})
                for (bool accumulate : {false, true}) {
                    ASSERT_LE(shape.size(), native::kMaxColumnBlocks);
                    std::size_t cols = 0;
                    for (std::size_t c : shape)
                        cols += c;
                    std::vector<float> w(rows * cols), bias(rows);
                    for (float& v : w)
                        v = value(rng);
                    for (float& v : bias)
                        v = value(rng);
                    // Each block in its own buffer with its own stride; the gathered copy.
                    std::vector<std::vector<float>> sources;
                    std::vector<native::ColumnBlock> blocks;
                    std::vector<float> gathered(frames * cols);
                    std::size_t at = 0;
                    for (std::size_t c : shape) {
                        const std::size_t stride = c + (sources.size() % 3);
                        std::vector<float>& source = sources.emplace_back(frames * stride);
                        for (float& v : source)
                            v = value(rng);
                        for (std::size_t f = 0; f < frames; ++f)
                            std::copy_n(source.data() + f * stride, c,
                                        gathered.data() + f * cols + at);
                        at += c;
                    }
                    for (std::size_t b = 0; b < shape.size(); ++b)
                        blocks.push_back({sources[b].data(), shape[b], shape[b] + (b % 3)});
                    const std::size_t y_stride = rows + 2;
                    std::vector<float> y(frames * y_stride, sentinel);
                    for (std::size_t f = 0; f < frames; ++f)
                        for (std::size_t r = 0; r < rows; ++r)
                            y[f * y_stride + r] = value(rng);
                    std::vector<float> expected = y;
                    native::matmul(w.data(), rows, cols, gathered.data(), cols, expected.data(),
                                   y_stride, frames, accumulate, bias.data());
                    native::matmul_blocks(w.data(), rows, blocks.data(), blocks.size(), y.data(),
                                          y_stride, frames, accumulate, bias.data());
                    for (std::size_t i = 0; i < y.size(); ++i)
                        ASSERT_EQ(std::memcmp(&y[i], &expected[i], sizeof(float)), 0)
                            << shape.size() << " blocks, " << rows << " rows, " << frames
                            << " frames: value " << i << " is " << y[i] << ", not " << expected[i];
                }
}

// A product over more blocks than a caller gathers at once continues in a second call with
// `accumulate` (nam_wavenet's convolve_pushed for kernels past kMaxColumnBlocks taps): the same
// bits as one pass.
TEST(NativeKernels, MatmulBlocksContinuedThroughAccumulateIsOnePass) {
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    const std::size_t rows = 16, frames = 37, count = 20, cols = 3;
    std::vector<float> w(rows * cols * count), x(frames * cols * count), bias(rows);
    for (std::vector<float>* v : {&w, &x, &bias})
        for (float& e : *v)
            e = value(rng);
    std::vector<native::ColumnBlock> blocks;
    for (std::size_t b = 0; b < count; ++b)
        blocks.push_back({x.data() + b * cols, cols, cols * count});
    std::vector<float> whole(frames * rows), split(frames * rows);
    native::matmul_blocks(w.data(), rows, blocks.data(), count, whole.data(), rows, frames, false,
                          bias.data());
    const std::size_t first = native::kMaxColumnBlocks;
    native::matmul_blocks(w.data(), rows, blocks.data(), first, split.data(), rows, frames, false);
    native::matmul_blocks(w.data() + first * cols * rows, rows, blocks.data() + first,
                          count - first, split.data(), rows, frames, true, bias.data());
    for (std::size_t i = 0; i < whole.size(); ++i)
        ASSERT_EQ(std::memcmp(&whole[i], &split[i], sizeof(float)), 0) << "value " << i;
}

TEST(NativeKernels, PaddedRowsRoundsUpToWholeVectors) {
    EXPECT_EQ(native::padded_rows(1), native::kernel_pad);
    EXPECT_EQ(native::padded_rows(160), 160u);
    EXPECT_EQ(native::padded_rows(120), 128u);
    EXPECT_EQ(native::padded_rows(0), 0u);
}

}  // namespace
}  // namespace legato::test
