#pragma once
// NAM's LSTM architecture: stacked LSTM cells (PyTorch gate order i, f, g, o; one bias per
// gate, the file's sum of bias_ih and bias_hh) whose initial hidden and cell states are
// trained parameters stored in the file, then a linear head from the last hidden state.
// Reference: NeuralAmpModelerCore NAM/lstm.cpp.

#include <cstddef>
#include <memory>
#include <vector>

#include "engines/native/kernels.hpp"
#include "engines/native/nam_file.hpp"

namespace legato::native::nam {

/// The "config" object of an LSTM .nam file.
struct LstmConfig {
    std::size_t in_channels = 1;   ///< audio inputs per frame (the first cell inputs)
    std::size_t out_channels = 1;  ///< head outputs per frame
    std::size_t input_size = 1;    ///< first cell's input width (>= in_channels; rest are 0)
    std::size_t hidden_size = 1;
    std::size_t num_layers = 1;
};

class LstmModel final : public NamModel {
public:
    /// [setup thread] Takes the weights in the file's order: per layer the gate matrix
    /// (4*hidden rows of input+hidden values, row by row), the gate bias, the initial hidden
    /// state, the initial cell state; then the head matrix (row by row) and head bias.
    /// `info.sample_rate` sets the pre-warm (half a second; 1 frame when unknown). Throws
    /// legato::Error (weight count) or std::bad_alloc.
    LstmModel(const LstmConfig& config, WeightCursor& weights, ModelInfo info);

    /// [any thread] Audio inputs per frame.
    std::size_t input_size() const noexcept override { return in_channels_; }
    /// [any thread] Outputs per frame.
    std::size_t output_size() const noexcept override { return out_channels_; }
    /// [audio or worker thread] Real-time safe.
    void process(const float* in, float* out,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING override;
    /// [any thread] See NamModel.
    std::size_t prewarm_samples() const noexcept LEGATO_NONBLOCKING override { return prewarm_; }
    /// [audio or worker thread] Restores the trained initial states. Real-time safe.
    void clear_state() noexcept LEGATO_NONBLOCKING override;
    /// [audio or worker thread] Every cell's [x; h] and c.
    void visit_state(StateVisitor& visitor) noexcept LEGATO_NONBLOCKING override;
    /// [setup thread] A copy with its own state. Throws std::bad_alloc only.
    std::unique_ptr<NamModel> clone_nam() const override;

private:
    struct Cell {
        std::size_t inputs = 0;  // width of x
        std::size_t hidden = 0;
        Floats weight;   // 4*hidden x (inputs + hidden), column-major
        Floats bias;     // 4*hidden
        Floats xh;       // [x; h]: the matvec operand, h is the hidden state
        Floats cell;     // c
        Floats h_start;  // trained initial h
        Floats c_start;  // trained initial c
        Floats gates;    // i, f, g, o pre-activations (scratch)
    };

    static void step(Cell& cell) noexcept LEGATO_NONBLOCKING;

    std::size_t in_channels_;
    std::size_t out_channels_;
    std::vector<Cell> cells_;
    Floats head_weight_;  // out x hidden, column-major
    Floats head_bias_;
    std::size_t prewarm_ = 1;
};

}  // namespace legato::native::nam
