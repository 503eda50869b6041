#include "engines/native/nam_lstm.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "engines/native/kernels.hpp"

namespace legato::native::nam {

namespace {

// The file stores matrices row by row (PyTorch's flattening); kernels want columns.
void take_row_major(WeightCursor& weights, std::size_t rows, std::size_t cols,
                    const std::string& part, Floats& column_major) {
    const std::span<const float> source = weights.take(rows * cols, part);
    column_major.assign(rows * cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
            column_major[c * rows + r] = source[r * cols + c];
}

void take_vector(WeightCursor& weights, std::size_t count, const std::string& part, Floats& into) {
    const std::span<const float> source = weights.take(count, part);
    into.assign(source.begin(), source.end());
}

}  // namespace

LstmModel::LstmModel(const LstmConfig& config, WeightCursor& weights, ModelInfo info)
    : NamModel(std::move(info)),
      in_channels_(config.in_channels),
      out_channels_(config.out_channels) {
    const std::size_t hidden = config.hidden_size;
    cells_.resize(config.num_layers);
    for (std::size_t l = 0; l < cells_.size(); ++l) {
        Cell& cell = cells_[l];
        const std::string layer = "LSTM layer " + std::to_string(l);
        cell.inputs = l == 0 ? config.input_size : hidden;
        cell.hidden = hidden;
        take_row_major(weights, 4 * hidden, cell.inputs + hidden, layer + " (gate weights)",
                       cell.weight);
        take_vector(weights, 4 * hidden, layer + " (gate bias)", cell.bias);
        take_vector(weights, hidden, layer + " (initial hidden state)", cell.h_start);
        take_vector(weights, hidden, layer + " (initial cell state)", cell.c_start);
        // Padded: lstm_update reads whole vectors past the used part.
        cell.xh.assign(cell.inputs + hidden + kernel_pad, 0.0f);
        cell.cell.assign(hidden + kernel_pad, 0.0f);
        cell.gates.assign(4 * hidden + kernel_pad, 0.0f);
    }
    take_row_major(weights, out_channels_, hidden, "head (weights)", head_weight_);
    take_vector(weights, out_channels_, "head (bias)", head_bias_);
    weights.expect_end();

    // Upstream LSTM::PrewarmSamples(): half a second at the trained rate, so that the trained
    // initial state settles into the state silence leads to; 1 frame when the rate is unknown.
    const double half_second = 0.5 * info_.sample_rate;
    prewarm_ = half_second >= 1.0 ? static_cast<std::size_t>(half_second) : 1;
    info_.metadata.emplace_back("prewarm_samples", std::to_string(prewarm_));

    size_prewarm_buffers();
    reset();
}

void LstmModel::clear_state() noexcept LEGATO_NONBLOCKING {
    for (Cell& cell : cells_) {
        std::fill(cell.xh.begin(), cell.xh.end(), 0.0f);
        std::copy(cell.h_start.begin(), cell.h_start.end(),
                  cell.xh.begin() + static_cast<std::ptrdiff_t>(cell.inputs));
        std::copy(cell.c_start.begin(), cell.c_start.end(), cell.cell.begin());
    }
}

void LstmModel::visit_state(StateVisitor& visitor) noexcept LEGATO_NONBLOCKING {
    for (Cell& cell : cells_) {
        visitor.floats(cell.xh.data(), cell.xh.size());
        visitor.floats(cell.cell.data(), cell.cell.size());
    }
}

void LstmModel::step(Cell& cell) noexcept LEGATO_NONBLOCKING {
    const std::size_t h = cell.hidden;
    // Bias after the product, as upstream (`_w * _xh + _b`), to stay within rounding of it.
    matvec(cell.weight.data(), cell.xh.data(), nullptr, cell.gates.data(), 4 * h, cell.inputs + h);
    float* gates = cell.gates.data();
    for (std::size_t r = 0; r < 4 * h; ++r)
        gates[r] += cell.bias[r];
    // Gate order i, f, g, o, as lstm_update takes them.
    lstm_update(gates, cell.cell.data(), cell.xh.data() + cell.inputs, h);
}

void LstmModel::process(const float* in, float* out,
                        std::size_t frames) noexcept LEGATO_NONBLOCKING {
    for (std::size_t f = 0; f < frames; ++f) {
        const float* frame_in = in + f * in_channels_;
        float* frame_out = out + f * out_channels_;
        if (cells_.empty()) {  // upstream passes the input through
            for (std::size_t o = 0; o < out_channels_; ++o)
                frame_out[o] = o < in_channels_ ? frame_in[o] : 0.0f;
            continue;
        }
        std::copy(frame_in, frame_in + in_channels_, cells_[0].xh.begin());
        step(cells_[0]);
        for (std::size_t l = 1; l < cells_.size(); ++l) {
            const Cell& below = cells_[l - 1];
            std::copy_n(below.xh.begin() + static_cast<std::ptrdiff_t>(below.inputs), below.hidden,
                        cells_[l].xh.begin());
            step(cells_[l]);
        }
        const Cell& top = cells_.back();
        matvec(head_weight_.data(), top.xh.data() + top.inputs, nullptr, frame_out, out_channels_,
               top.hidden);
        for (std::size_t o = 0; o < out_channels_; ++o)
            frame_out[o] += head_bias_[o];
    }
}

std::unique_ptr<NamModel> LstmModel::clone_nam() const {
    return std::make_unique<LstmModel>(*this);
}

}  // namespace legato::native::nam
