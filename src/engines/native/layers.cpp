#include "layers.hpp"

#include <algorithm>
#include <cmath>

namespace legato::native {

namespace {

std::string arrow(const char* kind, std::size_t in, std::size_t out) {
    return std::string(kind) + "(" + std::to_string(in) + "->" + std::to_string(out) + ")";
}

const char* activation_name(Activation a) {
    switch (a) {
        case Activation::linear:
            return "linear";
        case Activation::tanh:
            return "tanh";
        case Activation::sigmoid:
            return "sigmoid";
        case Activation::relu:
            return "relu";
        case Activation::leaky_relu:
            return "leaky_relu";
        case Activation::elu:
            return "elu";
        case Activation::softmax:
            return "softmax";
        case Activation::hard_tanh:
            return "hard_tanh";
        case Activation::fast_tanh:
            return "fast_tanh";
    }
    return "?";
}

}  // namespace

Dense::Dense(std::size_t in, std::size_t out, std::vector<float> weights, std::vector<float> bias)
    : in_(in),
      out_(out),
      weights_(weights.begin(), weights.end()),
      bias_(bias.begin(), bias.end()) {}

void Dense::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    matvec_channels(weights_.data(), in, in_, bias_.empty() ? nullptr : bias_.data(), out, out_,
                    out_, in_, channels_);
}

std::string Dense::describe() const {
    return arrow("Dense", in_, out_);
}

ActivationLayer::ActivationLayer(std::size_t size, Activation activation, float alpha)
    : size_(size), activation_(activation), alpha_(alpha) {}

void ActivationLayer::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t n = size_ * channels_;
    std::copy(in, in + n, out);
    if (activation_ != Activation::softmax) {  // element by element: all channels in one pass
        activate(activation_, out, n, alpha_);
        return;
    }
    for (std::size_t k = 0; k < channels_; ++k)
        activate(activation_, out + k * size_, size_, alpha_);
}

std::string ActivationLayer::describe() const {
    return activation_name(activation_);
}

PReLU::PReLU(std::size_t size, std::vector<float> alpha) : alpha_(std::move(alpha)) {
    // A copy, not alpha_[0] itself: assign() may free the storage before it reads the value
    // (libc++, e.g. the WebAssembly build, does; the shared alpha was then garbage).
    if (alpha_.size() == 1 && size > 1) {
        const float shared = alpha_[0];
        alpha_.assign(size, shared);
    }
}

void PReLU::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t n = alpha_.size();
    for (std::size_t k = 0; k < channels_; ++k)
        for (std::size_t i = 0; i < n; ++i) {
            const float x = in[k * n + i];
            out[k * n + i] = x < 0.0f ? alpha_[i] * x : x;
        }
}

std::string PReLU::describe() const {
    return "PReLU(" + std::to_string(alpha_.size()) + ")";
}

BatchNorm::BatchNorm(const std::vector<float>& gamma, const std::vector<float>& beta,
                     const std::vector<float>& mean, const std::vector<float>& variance,
                     float epsilon)
    : scale_(mean.size()), shift_(mean.size()) {
    for (std::size_t i = 0; i < mean.size(); ++i) {
        const float g = gamma.empty() ? 1.0f : gamma[i];
        const float b = beta.empty() ? 0.0f : beta[i];
        scale_[i] = g / std::sqrt(variance[i] + epsilon);
        shift_[i] = b - mean[i] * scale_[i];
    }
}

void BatchNorm::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t n = scale_.size();
    for (std::size_t k = 0; k < channels_; ++k)
        for (std::size_t i = 0; i < n; ++i)
            out[k * n + i] = in[k * n + i] * scale_[i] + shift_[i];
}

std::string BatchNorm::describe() const {
    return "BatchNorm(" + std::to_string(scale_.size()) + ")";
}

namespace {

// Column-major rows x cols -> padded x cols, zero rows below (appended after `into`'s size).
void append_padded(Floats& into, const std::vector<float>& from, std::size_t rows, std::size_t cols,
                   std::size_t padded) {
    for (std::size_t c = 0; c < cols; ++c) {
        into.insert(into.end(), from.begin() + static_cast<std::ptrdiff_t>(c * rows),
                    from.begin() + static_cast<std::ptrdiff_t>((c + 1) * rows));
        into.insert(into.end(), padded - rows, 0.0f);
    }
}

Floats padded(const std::vector<float>& from, std::size_t rows, std::size_t cols) {
    Floats out;
    out.reserve(padded_rows(rows) * cols);
    append_padded(out, from, rows, cols, padded_rows(rows));
    return out;
}

}  // namespace

LSTM::LSTM(std::size_t in, std::size_t hidden, std::vector<float> kernel,
           std::vector<float> recurrent, std::vector<float> bias)
    : in_(in), hidden_(hidden) {
    const std::size_t rows = padded_rows(4 * hidden);
    weights_.reserve(rows * (in + hidden));
    append_padded(weights_, kernel, 4 * hidden, in, rows);
    append_padded(weights_, recurrent, 4 * hidden, hidden, rows);
    bias_ = padded(bias, 4 * hidden, 1);
    set_channels(1);
}

void LSTM::set_channels(std::size_t channels) {
    channels_ = channels;
    gates_stride_ = padded_rows(4 * hidden_) + kernel_pad;
    xh_stride_ = padded_rows(in_ + hidden_ + kernel_pad);
    c_stride_ = padded_rows(hidden_ + kernel_pad);
    gates_.assign(gates_stride_ * channels, 0.0f);
    xh_.assign(xh_stride_ * channels, 0.0f);
    c_.assign(c_stride_ * channels, 0.0f);
}

void LSTM::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t H = hidden_;
    for (std::size_t k = 0; k < channels_; ++k)
        std::copy(in + k * in_, in + (k + 1) * in_, xh_.data() + k * xh_stride_);
    matvec_channels(weights_.data(), xh_.data(), xh_stride_, bias_.data(), gates_.data(),
                    gates_stride_, padded_rows(4 * H), in_ + H, channels_);
    lstm_update_channels(gates_.data(), gates_stride_, c_.data(), c_stride_, xh_.data() + in_,
                         xh_stride_, H, channels_);
    for (std::size_t k = 0; k < channels_; ++k) {
        const float* h = xh_.data() + k * xh_stride_ + in_;
        std::copy(h, h + H, out + k * H);
    }
}

void LSTM::reset() noexcept LEGATO_NONBLOCKING {
    std::fill(xh_.begin(), xh_.end(), 0.0f);
    std::fill(c_.begin(), c_.end(), 0.0f);
}

std::string LSTM::describe() const {
    return arrow("LSTM", in_, hidden_);
}

GRU::GRU(std::size_t in, std::size_t hidden, std::vector<float> kernel,
         std::vector<float> recurrent, std::vector<float> input_bias,
         std::vector<float> recurrent_bias)
    : in_(in),
      hidden_(hidden),
      kernel_(padded(kernel, 3 * hidden, in)),
      recurrent_(padded(recurrent, 3 * hidden, hidden)),
      input_bias_(padded(input_bias, 3 * hidden, 1)),
      recurrent_bias_(padded(recurrent_bias, 3 * hidden, 1)) {
    set_channels(1);
}

void GRU::set_channels(std::size_t channels) {
    channels_ = channels;
    gates_stride_ = padded_rows(3 * hidden_) + kernel_pad;
    h_stride_ = padded_rows(hidden_ + kernel_pad);
    x_gates_.assign(gates_stride_ * channels, 0.0f);
    h_gates_.assign(gates_stride_ * channels, 0.0f);
    h_.assign(h_stride_ * channels, 0.0f);
}

void GRU::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t H = hidden_;
    const std::size_t rows = padded_rows(3 * H);
    matvec_channels(kernel_.data(), in, in_, input_bias_.data(), x_gates_.data(), gates_stride_,
                    rows, in_, channels_);
    matvec_channels(recurrent_.data(), h_.data(), h_stride_, recurrent_bias_.data(),
                    h_gates_.data(), gates_stride_, rows, H, channels_);
    gru_update_channels(x_gates_.data(), h_gates_.data(), gates_stride_, h_.data(), h_stride_, H,
                        channels_);
    for (std::size_t k = 0; k < channels_; ++k) {
        const float* h = h_.data() + k * h_stride_;
        std::copy(h, h + H, out + k * H);
    }
}

void GRU::reset() noexcept LEGATO_NONBLOCKING {
    std::fill(h_.begin(), h_.end(), 0.0f);
}

std::string GRU::describe() const {
    return arrow("GRU", in_, hidden_);
}

Conv1D::Conv1D(std::size_t in, std::size_t out, std::size_t kernel_size, std::size_t dilation,
               std::size_t groups, std::vector<float> taps, std::vector<float> bias)
    : in_(in),
      out_(out),
      kernel_size_(kernel_size),
      dilation_(dilation),
      groups_(groups),
      taps_(taps.begin(), taps.end()),
      bias_(bias.begin(), bias.end()),
      history_(receptive_field() * in, 0.0f) {}

void Conv1D::set_channels(std::size_t channels) {
    channels_ = channels;
    history_.assign(receptive_field() * in_ * channels, 0.0f);
    newest_ = 0;
}

void Conv1D::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t frames = (kernel_size_ - 1) * dilation_ + 1;  // the ring's frames
    const std::size_t slot = in_ * channels_;                       // one ring frame
    newest_ = newest_ + 1 == frames ? 0 : newest_ + 1;
    std::copy(in, in + slot, history_.begin() + static_cast<std::ptrdiff_t>(newest_ * slot));
    for (std::size_t c = 0; c < channels_; ++c) {
        float* y = out + c * out_;
        if (bias_.empty())
            std::fill(y, y + out_, 0.0f);
        else
            std::copy(bias_.begin(), bias_.end(), y);
    }
    for (std::size_t k = 0; k < kernel_size_; ++k) {
        const std::size_t delay = (kernel_size_ - 1 - k) * dilation_;
        const std::size_t frame = newest_ >= delay ? newest_ - delay : newest_ + frames - delay;
        matvec_channels(taps_.data() + k * in_ * out_, history_.data() + frame * slot, in_, nullptr,
                        out, out_, out_, in_, channels_, true);
    }
}

void Conv1D::reset() noexcept LEGATO_NONBLOCKING {
    std::fill(history_.begin(), history_.end(), 0.0f);
    newest_ = 0;
}

std::string Conv1D::describe() const {
    std::string text = arrow("Conv1D", in_, out_) + "[k" + std::to_string(kernel_size_);
    if (dilation_ > 1)
        text += " d" + std::to_string(dilation_);
    if (groups_ > 1)
        text += " g" + std::to_string(groups_);
    return text + "]";
}

}  // namespace legato::native
