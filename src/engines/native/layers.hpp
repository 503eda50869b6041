#pragma once
// The native engine's layers: one frame in, one frame out, state inside (recurrent cells,
// convolution histories). Weights are stored column-major (kernels.hpp) and sized at load;
// forward() and reset() are real-time safe.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "legato/nonblocking.hpp"

namespace legato::native {

class Layer {
public:
    virtual ~Layer() = default;
    /// [any thread] Values per input and output frame.
    virtual std::size_t in_size() const noexcept = 0;
    virtual std::size_t out_size() const noexcept = 0;
    /// [audio or worker thread] One frame of every channel (channels() frames, channel after
    /// channel, in_size() values each; as many out); `in` and `out` do not overlap. Real-time
    /// safe.
    virtual void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING = 0;
    /// [setup thread] Runs `channels` independent streams from now on, each with its own state
    /// (reset), the weights read once for all. Each channel's output is bit for bit what the
    /// layer gives for that channel alone. Throws std::bad_alloc only.
    virtual void set_channels(std::size_t channels) { channels_ = channels; }
    /// [any thread] Streams forward() runs at once (1 unless set_channels() said otherwise).
    std::size_t channels() const noexcept { return channels_; }
    /// [audio or worker thread] Forgets the state. Real-time safe.
    virtual void reset() noexcept LEGATO_NONBLOCKING {}
    /// [any thread] E.g. "LSTM(1->40)".
    virtual std::string describe() const = 0;
    /// [any thread] Frames of input history an output depends on: 1 for memoryless layers,
    /// 0 for recurrent ones (unbounded).
    virtual std::size_t receptive_field() const noexcept { return 1; }
    /// [setup thread] An independent copy (its own state).
    virtual std::unique_ptr<Layer> clone() const = 0;

protected:
    std::size_t channels_ = 1;
};

/// y = W x + b. `weights` column-major: weights[c * out + r] multiplies input c into output r.
class Dense final : public Layer {
public:
    /// [setup thread] `bias` empty = no bias.
    Dense(std::size_t in, std::size_t out, std::vector<float> weights, std::vector<float> bias);
    std::size_t in_size() const noexcept override { return in_; }
    std::size_t out_size() const noexcept override { return out_; }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    std::string describe() const override;
    std::unique_ptr<Layer> clone() const override { return std::make_unique<Dense>(*this); }

private:
    std::size_t in_, out_;
    Floats weights_, bias_;
};

/// An activation over the frame (softmax: over all of it).
class ActivationLayer final : public Layer {
public:
    ActivationLayer(std::size_t size, Activation activation, float alpha = 0.0f);
    std::size_t in_size() const noexcept override { return size_; }
    std::size_t out_size() const noexcept override { return size_; }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    std::string describe() const override;
    std::unique_ptr<Layer> clone() const override {
        return std::make_unique<ActivationLayer>(*this);
    }

private:
    std::size_t size_;
    Activation activation_;
    float alpha_;
};

/// Per-channel y = x for x >= 0, alpha[c] * x below (one alpha for all channels if given one).
class PReLU final : public Layer {
public:
    PReLU(std::size_t size, std::vector<float> alpha);
    std::size_t in_size() const noexcept override { return alpha_.size(); }
    std::size_t out_size() const noexcept override { return alpha_.size(); }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    std::string describe() const override;
    std::unique_ptr<Layer> clone() const override { return std::make_unique<PReLU>(*this); }

private:
    std::vector<float> alpha_;
};

/// Batch normalization with running statistics, folded at load into y = scale * x + shift.
class BatchNorm final : public Layer {
public:
    /// [setup thread] gamma/beta empty = not affine (1 and 0).
    BatchNorm(const std::vector<float>& gamma, const std::vector<float>& beta,
              const std::vector<float>& mean, const std::vector<float>& variance, float epsilon);
    std::size_t in_size() const noexcept override { return scale_.size(); }
    std::size_t out_size() const noexcept override { return scale_.size(); }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    std::string describe() const override;
    std::unique_ptr<Layer> clone() const override { return std::make_unique<BatchNorm>(*this); }

private:
    std::vector<float> scale_, shift_;
};

/// An LSTM cell stepped once per frame. Gates in Keras order (input, forget, cell, output);
/// `kernel` [in x 4H] and `recurrent` [H x 4H] column-major as Keras stores them row-major
/// (kernel[c * 4H + r]), `bias` 4H.
class LSTM final : public Layer {
public:
    LSTM(std::size_t in, std::size_t hidden, std::vector<float> kernel,
         std::vector<float> recurrent, std::vector<float> bias);
    std::size_t in_size() const noexcept override { return in_; }
    std::size_t out_size() const noexcept override { return hidden_; }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    void reset() noexcept LEGATO_NONBLOCKING override;
    std::string describe() const override;
    void set_channels(std::size_t channels) override;
    std::size_t receptive_field() const noexcept override { return 0; }
    std::unique_ptr<Layer> clone() const override { return std::make_unique<LSTM>(*this); }

private:
    std::size_t in_, hidden_;
    // [kernel; recurrent] as one padded_rows(4H) x (in + H) column-major matrix, so one pass
    // over [x; h] computes every gate.
    Floats weights_, bias_;
    // Per channel, at the strides below (whole cache lines, padded by kernel_pad for
    // lstm_update): the gate pre-activations, [x; h] and c.
    Floats gates_, xh_, c_;
    std::size_t gates_stride_ = 0, xh_stride_ = 0, c_stride_ = 0;
};

/// A GRU cell as Keras computes it with reset_after (gates update, reset, candidate):
/// `kernel` [in x 3H], `recurrent` [H x 3H] (column-major as LSTM), `input_bias` and
/// `recurrent_bias` 3H each (Keras' 2 x 3H bias).
class GRU final : public Layer {
public:
    GRU(std::size_t in, std::size_t hidden, std::vector<float> kernel, std::vector<float> recurrent,
        std::vector<float> input_bias, std::vector<float> recurrent_bias);
    std::size_t in_size() const noexcept override { return in_; }
    std::size_t out_size() const noexcept override { return hidden_; }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    void reset() noexcept LEGATO_NONBLOCKING override;
    std::string describe() const override;
    void set_channels(std::size_t channels) override;
    std::size_t receptive_field() const noexcept override { return 0; }
    std::unique_ptr<Layer> clone() const override { return std::make_unique<GRU>(*this); }

private:
    std::size_t in_, hidden_;
    // Stored with padded_rows(3H) rows (zeros below), so the products run in whole vectors.
    Floats kernel_, recurrent_, input_bias_, recurrent_bias_;
    // Per channel, at the strides below (padded by kernel_pad for gru_update).
    Floats x_gates_, h_gates_, h_;
    std::size_t gates_stride_ = 0, h_stride_ = 0;
};

/// A causal, dilated, grouped 1-D convolution over the frame sequence (Keras' causal Conv1D):
/// output[t] = bias + sum over taps k of W_k x[t - (K - 1 - k) * dilation]. `taps` holds one
/// [out x in] column-major matrix per tap (zeros outside the groups).
class Conv1D final : public Layer {
public:
    Conv1D(std::size_t in, std::size_t out, std::size_t kernel_size, std::size_t dilation,
           std::size_t groups, std::vector<float> taps, std::vector<float> bias);
    std::size_t in_size() const noexcept override { return in_; }
    std::size_t out_size() const noexcept override { return out_; }
    void forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING override;
    void reset() noexcept LEGATO_NONBLOCKING override;
    void set_channels(std::size_t channels) override;
    std::string describe() const override;
    std::size_t receptive_field() const noexcept override {
        return (kernel_size_ - 1) * dilation_ + 1;
    }
    std::unique_ptr<Layer> clone() const override { return std::make_unique<Conv1D>(*this); }

private:
    std::size_t in_, out_, kernel_size_, dilation_, groups_;
    Floats taps_, bias_;
    Floats history_;          ///< ring of receptive_field() input frames (every channel's)
    std::size_t newest_ = 0;  ///< frame index in the ring of the latest input
};

}  // namespace legato::native
