#pragma once
// A StreamModel that runs layers one after the other, frame by frame (RTNeural's Model).

#include <memory>
#include <vector>

#include "layers.hpp"
#include "stream_model.hpp"

namespace legato::native {

class Sequential final : public StreamModel {
public:
    /// [setup thread] `layers` must chain (each in_size() the previous out_size()); throws
    /// legato::Error otherwise.
    Sequential(std::vector<std::unique_ptr<Layer>> layers, ModelInfo info);

    std::size_t input_size() const noexcept override { return layers_.front()->in_size(); }
    std::size_t output_size() const noexcept override { return layers_.back()->out_size(); }
    void process(const float* in, float* out,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING override;
    void reset() noexcept LEGATO_NONBLOCKING override;
    const ModelInfo& info() const noexcept override { return info_; }
    std::unique_ptr<StreamModel> clone() const override;
    std::size_t channels() const noexcept override { return channels_; }
    std::unique_ptr<StreamModel> with_channels(std::size_t channels) const override;

private:
    std::vector<std::unique_ptr<Layer>> layers_;
    ModelInfo info_;
    std::vector<float> a_, b_;        ///< ping-pong frames of every channel
    std::size_t ins_ = 0, outs_ = 0;  ///< values per frame in and out (process() reads these)
    std::size_t channels_ = 1;
};

}  // namespace legato::native
