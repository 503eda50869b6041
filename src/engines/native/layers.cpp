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
    : in_(in), out_(out), weights_(std::move(weights)), bias_(std::move(bias)) {}

void Dense::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    matvec(weights_.data(), in, bias_.empty() ? nullptr : bias_.data(), out, out_, in_);
}

std::string Dense::describe() const {
    return arrow("Dense", in_, out_);
}

ActivationLayer::ActivationLayer(std::size_t size, Activation activation, float alpha)
    : size_(size), activation_(activation), alpha_(alpha) {}

void ActivationLayer::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    std::copy(in, in + size_, out);
    activate(activation_, out, size_, alpha_);
}

std::string ActivationLayer::describe() const {
    return activation_name(activation_);
}

PReLU::PReLU(std::size_t size, std::vector<float> alpha) : alpha_(std::move(alpha)) {
    if (alpha_.size() == 1 && size > 1)
        alpha_.assign(size, alpha_[0]);
}

void PReLU::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    for (std::size_t i = 0; i < alpha_.size(); ++i)
        out[i] = in[i] < 0.0f ? alpha_[i] * in[i] : in[i];
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
    for (std::size_t i = 0; i < scale_.size(); ++i)
        out[i] = in[i] * scale_[i] + shift_[i];
}

std::string BatchNorm::describe() const {
    return "BatchNorm(" + std::to_string(scale_.size()) + ")";
}

LSTM::LSTM(std::size_t in, std::size_t hidden, std::vector<float> kernel,
           std::vector<float> recurrent, std::vector<float> bias)
    : in_(in),
      hidden_(hidden),
      kernel_(std::move(kernel)),
      recurrent_(std::move(recurrent)),
      bias_(std::move(bias)),
      gates_(4 * hidden),
      h_(hidden),
      c_(hidden) {}

void LSTM::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t H = hidden_;
    float* g = gates_.data();
    matvec(kernel_.data(), in, bias_.data(), g, 4 * H, in_);
    matvec_add(recurrent_.data(), h_.data(), g, 4 * H, H);
    activate(Activation::sigmoid, g, 2 * H);      // input, forget
    activate(Activation::tanh, g + 2 * H, H);     // cell candidate
    activate(Activation::sigmoid, g + 3 * H, H);  // output
    for (std::size_t j = 0; j < H; ++j)
        c_[j] = g[H + j] * c_[j] + g[j] * g[2 * H + j];
    std::copy(c_.begin(), c_.end(), h_.begin());
    activate(Activation::tanh, h_.data(), H);
    for (std::size_t j = 0; j < H; ++j)
        h_[j] *= g[3 * H + j];
    std::copy(h_.begin(), h_.end(), out);
}

void LSTM::reset() noexcept LEGATO_NONBLOCKING {
    std::fill(h_.begin(), h_.end(), 0.0f);
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
      kernel_(std::move(kernel)),
      recurrent_(std::move(recurrent)),
      input_bias_(std::move(input_bias)),
      recurrent_bias_(std::move(recurrent_bias)),
      x_gates_(3 * hidden),
      h_gates_(3 * hidden),
      h_(hidden) {}

void GRU::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t H = hidden_;
    float* xg = x_gates_.data();
    float* hg = h_gates_.data();
    matvec(kernel_.data(), in, input_bias_.data(), xg, 3 * H, in_);
    matvec(recurrent_.data(), h_.data(), recurrent_bias_.data(), hg, 3 * H, H);
    for (std::size_t j = 0; j < 2 * H; ++j)  // update and reset gates
        xg[j] += hg[j];
    activate(Activation::sigmoid, xg, 2 * H);
    for (std::size_t j = 0; j < H;
         ++j)  // candidate: the reset gate applies after U h (reset_after)
        xg[2 * H + j] += xg[H + j] * hg[2 * H + j];
    activate(Activation::tanh, xg + 2 * H, H);
    for (std::size_t j = 0; j < H; ++j)
        h_[j] = xg[j] * h_[j] + (1.0f - xg[j]) * xg[2 * H + j];
    std::copy(h_.begin(), h_.end(), out);
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
      taps_(std::move(taps)),
      bias_(std::move(bias)),
      history_(receptive_field() * in, 0.0f) {}

void Conv1D::forward(const float* in, float* out) noexcept LEGATO_NONBLOCKING {
    const std::size_t frames = (kernel_size_ - 1) * dilation_ + 1;  // the ring's frames
    newest_ = newest_ + 1 == frames ? 0 : newest_ + 1;
    std::copy(in, in + in_, history_.begin() + static_cast<std::ptrdiff_t>(newest_ * in_));
    if (bias_.empty())
        std::fill(out, out + out_, 0.0f);
    else
        std::copy(bias_.begin(), bias_.end(), out);
    for (std::size_t k = 0; k < kernel_size_; ++k) {
        const std::size_t delay = (kernel_size_ - 1 - k) * dilation_;
        const std::size_t frame = newest_ >= delay ? newest_ - delay : newest_ + frames - delay;
        matvec_add(taps_.data() + k * in_ * out_, history_.data() + frame * in_, out, out_, in_);
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
