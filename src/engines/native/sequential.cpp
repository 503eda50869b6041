#include "sequential.hpp"

#include <algorithm>

#include "legato/error.hpp"

namespace legato::native {

Sequential::Sequential(std::vector<std::unique_ptr<Layer>> layers, ModelInfo info)
    : layers_(std::move(layers)), info_(std::move(info)) {
    if (layers_.empty())
        throw Error("the model has no layers");
    std::size_t widest = layers_.front()->in_size();
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        if (i > 0 && layers_[i]->in_size() != layers_[i - 1]->out_size())
            throw Error("layer " + std::to_string(i) + " (" + layers_[i]->describe() + ") takes " +
                        std::to_string(layers_[i]->in_size()) + " values, layer " +
                        std::to_string(i - 1) + " (" + layers_[i - 1]->describe() + ") gives " +
                        std::to_string(layers_[i - 1]->out_size()));
        widest = std::max(widest, layers_[i]->out_size());
    }
    ins_ = layers_.front()->in_size();
    outs_ = layers_.back()->out_size();
    channels_ = layers_.front()->channels();
    a_.assign(widest * channels_, 0.0f);
    b_.assign(widest * channels_, 0.0f);
    // The receptive field: convolutions add up; any recurrent layer makes it unbounded.
    std::size_t field = 1;
    for (const auto& layer : layers_) {
        if (layer->receptive_field() == 0) {
            field = 0;
            break;
        }
        field += layer->receptive_field() - 1;
    }
    info_.receptive_field = field;
    if (info_.architecture.empty())
        for (const auto& layer : layers_)
            info_.architecture += (info_.architecture.empty() ? "" : " -> ") + layer->describe();
}

void Sequential::process(const float* in, float* out,
                         std::size_t frames) noexcept LEGATO_NONBLOCKING {
    const std::size_t ins = ins_ * channels_;
    const std::size_t outs = outs_ * channels_;
    const std::size_t last = layers_.size() - 1;
    for (std::size_t f = 0; f < frames; ++f) {
        const float* x = in + f * ins;
        float* y = out + f * outs;
        if (last == 0) {
            layers_[0]->forward(x, y);
            continue;
        }
        layers_[0]->forward(x, a_.data());
        float* from = a_.data();
        float* to = b_.data();
        for (std::size_t i = 1; i < last; ++i) {
            layers_[i]->forward(from, to);
            std::swap(from, to);
        }
        layers_[last]->forward(from, y);
    }
}

void Sequential::reset() noexcept LEGATO_NONBLOCKING {
    for (auto& layer : layers_)
        layer->reset();
}

std::unique_ptr<StreamModel> Sequential::clone() const {
    std::vector<std::unique_ptr<Layer>> copies;
    copies.reserve(layers_.size());
    for (const auto& layer : layers_)
        copies.push_back(layer->clone());
    auto copy = std::make_unique<Sequential>(std::move(copies), info_);
    return copy;
}

std::unique_ptr<StreamModel> Sequential::with_channels(std::size_t channels) const {
    std::vector<std::unique_ptr<Layer>> copies;
    copies.reserve(layers_.size());
    for (const auto& layer : layers_) {
        copies.push_back(layer->clone());
        copies.back()->set_channels(channels);
    }
    return std::make_unique<Sequential>(std::move(copies), info_);
}

}  // namespace legato::native
